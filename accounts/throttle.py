"""Sign-in throttling: failure counters per account and per IP, kept in the shared cache.

Every web process (and every machine) must see the same counters, so they live in the Django
cache: Redis in production, the file cache under ``var/`` in embedded mode. Counting must be
atomic, or guesses sent in parallel slip through uncounted: Redis increments atomically (INCR),
while the file cache reads and rewrites a file, so there increments are serialized by an
exclusive lock on a file beside the cache.

Failures are counted in fixed windows as long as the lockout. A counter lives for two windows,
so it cannot expire between its creation and its increment, and the previous window's count is
added to the current one so that guesses straddling a window boundary still add up. Reaching a
limit places a lock for the lockout period; while it stands every attempt is refused unchecked.
"""

import fcntl
import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.filebased import FileBasedCache
from django.utils import timezone

ACCOUNT = "account"
IP = "ip"


@dataclass(frozen=True)
class Lockout:
    scope: str
    until: float

    @property
    def seconds(self) -> int:
        return max(1, math.ceil(self.until - _now()))

    @property
    def minutes(self) -> int:
        return math.ceil(self.seconds / 60)


@dataclass(frozen=True)
class _Subject:
    scope: str
    key: str
    limit: int


def _now() -> float:
    return timezone.now().timestamp()


def _window() -> int:
    return int(settings.LABELKEEP_LOGIN_LOCKOUT_SECONDS)


def _subjects(*, email: str, ip: str | None) -> list[_Subject]:
    # The address is hashed so that cache keys (visible to anyone with Redis access) carry no
    # personal data; unknown addresses get counters exactly like known ones.
    digest = hashlib.sha256(email.encode()).hexdigest()
    subjects = [_Subject(ACCOUNT, f"login:account:{digest}", settings.LABELKEEP_LOGIN_MAX_FAILURES)]
    if ip:
        subjects.append(_Subject(IP, f"login:ip:{ip}", settings.LABELKEEP_LOGIN_IP_MAX_FAILURES))
    return subjects


def lockout_for(*, email: str, ip: str | None) -> Lockout | None:
    """The lockout in force for this address or this IP, if any (one cache round trip)."""
    subjects = _subjects(email=email, ip=ip)
    locks = cache.get_many([f"{s.key}:lock" for s in subjects])
    found = [Lockout(s.scope, locks[f"{s.key}:lock"]) for s in subjects if f"{s.key}:lock" in locks]
    live = [lock for lock in found if lock.until > _now()]
    return max(live, key=lambda lock: lock.until) if live else None


def failure_add(*, email: str, ip: str | None) -> Lockout | None:
    """Count a failed attempt; the lockout it triggers, if it reached a limit."""
    triggered = None
    window = _window()
    for subject in _subjects(email=email, ip=ip):
        if count_add(subject.key, window=window) >= subject.limit:
            triggered = Lockout(subject.scope, _now() + window)
            cache.set(f"{subject.key}:lock", triggered.until, timeout=window)
            cache.delete_many(_window_keys(subject.key, window))
    return triggered


def account_clear(*, email: str) -> None:
    """Forget an address's failures and lock (after a successful sign-in or password reset)."""
    key = _subjects(email=email, ip=None)[0].key
    cache.delete_many([*_window_keys(key, _window()), f"{key}:lock"])


def count_add(key: str, *, window: int) -> int:
    """Add one to the counter ``key``; its count over the last one to two ``window`` seconds."""
    current, previous = _window_keys(key, window)
    lock_dir = _file_cache_dir()
    if lock_dir is None:
        # Redis INCR is atomic and keeps the key's expiry; add() is SET NX.
        cache.add(current, 0, timeout=2 * window)
        count = cache.incr(current)
    else:
        # The file cache's incr() is a read and a rewrite that also resets the expiry to the
        # cache default, so the file cache counts under a lock with an explicit expiry.
        with _exclusive(lock_dir / "counters.lock"):
            count = int(cache.get(current, 0)) + 1
            cache.set(current, count, timeout=2 * window)
    return count + int(cache.get(previous, 0))


def _window_keys(key: str, window: int) -> list[str]:
    index = int(_now() // window)
    return [f"{key}:{index}", f"{key}:{index - 1}"]


def _file_cache_dir() -> Path | None:
    if not isinstance(caches["default"], FileBasedCache):
        return None
    return Path(str(settings.CACHES["default"]["LOCATION"]))


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    # flock locks belong to open file descriptions, so this serializes threads as well as
    # the web and worker processes that share the cache directory.
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
