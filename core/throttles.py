"""Per-client request throttles that cost one cache round trip, not a growing list.

DRF's own throttles keep a timestamp per request in the cache and re-pickle the whole list on
every request: 3,000 entries for a busy annotator at the default rate, about a millisecond of
CPU on each of their requests. A counter per fixed window gives the same limit for one atomic
increment, one round trip to Redis (``core.cache.RedisCache.count``). (A client may pass up to
twice the rate across a window's edge; throttling is a guard against runaway clients, not a
security boundary.)
"""

from typing import Any

from rest_framework import throttling
from rest_framework.request import Request


class _FixedWindow(throttling.SimpleRateThrottle):
    # Set by SimpleRateThrottle.__init__ from the rate ("3000/min": 3000 per 60 s).
    num_requests: int
    duration: int
    _window_ends = 0.0
    _checked_at = 0.0

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self._checked_at, self._window_ends = now, (window + 1) * self.duration
        key = f"{self.key}:{window}"
        return self._count(key) <= self.num_requests

    def _count(self, key: str) -> int:
        # One round trip where the cache can count (core.cache.RedisCache), else two.
        if hasattr(self.cache, "count"):
            return int(self.cache.count(key, self.duration + 1))
        if self.cache.add(key, 1, self.duration + 1):
            return 1
        try:
            return int(self.cache.incr(key))
        except ValueError:  # the window's counter expired between the two calls
            return 1 if self.cache.add(key, 1, self.duration + 1) else self.num_requests + 1

    def wait(self) -> float:
        return max(self._window_ends - self._checked_at, 0.0)


class UserThrottle(_FixedWindow, throttling.UserRateThrottle):
    pass


class AnonThrottle(_FixedWindow, throttling.AnonRateThrottle):
    pass
