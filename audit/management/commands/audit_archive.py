"""``manage.py audit_archive``: archive old audit events (encrypted) and prune them."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.retention import ArchiveInvalid, archive_old_events
from audit.services import Actor


class Command(BaseCommand):
    help = (
        "Archive the audit events signed by the newest checkpoint older than the retention "
        "period to the blob store, verify the archive, then prune them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=None,
            help="Retention period (default: LABELKEEP_AUDIT_RETENTION_DAYS; 0 archives nothing).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than_days"]
        days = settings.AUDIT_RETENTION_DAYS if days is None else days
        if days < 0:
            raise CommandError("--older-than-days must be 0 or more.")
        if days == 0:
            self.stdout.write("retention is off (0 days): nothing archived")
            return
        try:
            result = archive_old_events(older_than_days=days, actor=Actor.system("audit_archive"))
        except ArchiveInvalid as exc:
            raise CommandError(f"Nothing pruned: {exc}", returncode=1) from exc
        if not result.events:
            self.stdout.write(f"nothing to archive older than {days} days")
            return
        self.stdout.write(
            f"archived {result.events} events of {result.chains} chains to {result.name} "
            f"(checkpoint #{result.checkpoint}) and pruned them"
        )
