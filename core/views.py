from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database and the cache answer. Reveals nothing else."""
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row = cursor.fetchone()
    except Exception:  # noqa: BLE001 -- any failure means "not healthy", reported as such
        return False
    return tuple(row or ()) == (1,)


def _cache_ok() -> bool:
    try:
        cache.set("healthz", "1", timeout=5)
        return bool(cache.get("healthz") == "1")
    except Exception:  # noqa: BLE001 -- any failure means "not healthy", reported as such
        return False
