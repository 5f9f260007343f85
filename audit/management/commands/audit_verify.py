"""``manage.py audit_verify``: prove the audit log intact, or name the first broken event."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.verify import CHUNK, verify


class Command(BaseCommand):
    help = "Recompute the audit hash chains and check every signed checkpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk", type=int, default=CHUNK, help="Events read per query (memory bound)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify(chunk=max(1, options["chunk"]))
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"BROKEN: {problem}")
            raise CommandError("The audit log is not intact.", returncode=1)
        self.stdout.write(
            f"intact: {report.events} events in {report.chains} chains, "
            f"{report.checkpoints} signed checkpoints, "
            f"{report.unsigned} events recorded since the last checkpoint"
        )
