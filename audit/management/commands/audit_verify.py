"""``manage.py audit_verify``: prove the audit log intact, or name the first broken event.

With ``--archive NAME``, verify one archive written by ``audit_archive`` instead.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.retention import verify_archive
from audit.verify import CHUNK, verify


class Command(BaseCommand):
    help = "Recompute the audit hash chains and check every signed checkpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk", type=int, default=CHUNK, help="Events read per query (memory bound)."
        )
        parser.add_argument(
            "--archive", default="", help="Verify this audit archive (its blob name) instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["archive"]:
            self._archive(options["archive"])
            return
        report = verify(chunk=max(1, options["chunk"]))
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"BROKEN: {problem}")
            raise CommandError("The audit log is not intact.", returncode=1)
        for anchor in report.anchors:
            self.stdout.write(
                f"trusted anchor: chain {anchor.chain} starts after position {anchor.pos} "
                f"(seq {anchor.seq}), archived in {anchor.archive} under checkpoint "
                f"#{anchor.checkpoint}"
            )
        self.stdout.write(
            f"intact: {report.events} events in {report.chains} chains, "
            f"{report.checkpoints} signed checkpoints, "
            f"{report.unsigned} events recorded since the last checkpoint"
        )

    def _archive(self, name: str) -> None:
        report = verify_archive(name=name)
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"BROKEN: {name}: {problem}")
            raise CommandError("The audit archive is not intact.", returncode=1)
        self.stdout.write(
            f"intact: {name}: {report.events} events of {len(report.segments)} chains, "
            f"signed by checkpoint #{report.checkpoint}"
        )
        for segment in report.segments:
            self.stdout.write(
                f"chain {segment.chain}: positions {segment.start.pos + 1}-{segment.end.pos}, "
                f"following hash {segment.start.hash or '(genesis)'}"
            )
