"""Management-command plumbing shared by apps."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class EmbeddedOnlyCommand(BaseCommand):
    """A command for the embedded demo (`make run`): refused when DATABASE_URL is set, unless
    ``--allow-production`` says so."""

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Also run when DATABASE_URL is set (never needed for `make run`).",
        )

    def execute(self, *args: Any, **options: Any) -> Any:
        if not settings.EMBEDDED and not options.get("allow_production"):
            raise CommandError(
                f"{self.__module__.rsplit('.', 1)[-1]} only runs in embedded mode "
                "(DATABASE_URL is set)."
            )
        return super().execute(*args, **options)
