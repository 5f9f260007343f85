"""System checks for configurations under which the audit log would not keep its promises."""

from typing import Any

from django.conf import settings
from django.core import checks


def register() -> None:
    checks.register(atomic_requests_off, checks.Tags.database)


def atomic_requests_off(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Denied requests are recorded after the view's transaction; a request-wide transaction
    would roll the record back with the request."""
    return [
        checks.Error(
            f"DATABASES[{alias!r}]['ATOMIC_REQUESTS'] is on: denied requests would not be audited.",
            hint="Leave ATOMIC_REQUESTS off; services open their own transactions.",
            id="audit.E001",
        )
        for alias, database in settings.DATABASES.items()
        if database.get("ATOMIC_REQUESTS")
    ]
