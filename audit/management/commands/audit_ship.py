"""``manage.py audit_ship``: send new audit events and checkpoints to the configured SIEM sinks."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.shipping import configured_sinks, ship_all


class Command(BaseCommand):
    help = "Ship new audit events to every sink of LABELKEEP_AUDIT_SHIP_TO (resumes after outages)."

    def handle(self, *args: Any, **options: Any) -> None:
        sinks = configured_sinks()
        if not sinks:
            self.stdout.write("no sinks configured (LABELKEEP_AUDIT_SHIP_TO)")
            return
        results = ship_all(sinks)
        for result in results:
            status = f"paused: {result.error}" if result.error else "up to date"
            self.stdout.write(f"{result.sink}: {result.sent} records sent, {status}")
        if any(result.error for result in results):
            raise CommandError(
                "Some sinks could not be reached; they resume from where they stopped."
            )
