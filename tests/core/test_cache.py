"""The Redis cache (core/cache.py): one client per process, counters in one round trip.

Runs where the suite has Redis (REDIS_URL, as in CI); the embedded file cache has no counter
and the throttles fall back to add and incr (tests/core/test_throttles.py covers both)."""

import pytest
from django.conf import settings
from django.core.cache import caches

from core.cache import RedisCache

pytestmark = pytest.mark.skipif(
    settings.CACHES["default"]["BACKEND"] != "core.cache.RedisCache",
    reason="needs Redis (REDIS_URL)",
)


@pytest.fixture
def cache() -> RedisCache:
    # The suite's own cache (cleared around every test by tests/conftest.py).
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    return backend


def test_a_counter_counts_and_lives_for_its_timeout_from_the_first_count(cache):
    assert [cache.count("hits", 60) for _ in range(3)] == [1, 2, 3]
    client = cache._cache.get_client("hits", write=True)
    key = cache.make_and_validate_key("hits")
    assert 55 <= client.ttl(key) <= 60
    assert cache.get("hits") == 3  # an ordinary cache value too


def test_a_counter_starts_again_once_it_has_expired(cache):
    cache.count("short", 1)
    client = cache._cache.get_client("short", write=True)
    client.delete(cache.make_and_validate_key("short"))  # as its expiry does
    assert cache.count("short", 1) == 1


def test_one_client_serves_every_operation_of_a_process():
    backend = RedisCache(settings.CACHES["default"]["LOCATION"], {})
    first = backend._cache.get_client("a", write=True)
    assert backend._cache.get_client("b") is first
    backend.set("k", {"v": 1})
    assert backend.get("k") == {"v": 1}
    backend.delete("k")
