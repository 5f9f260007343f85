"""``manage.py master_key_rotate --actor admin@lab.example [--keep-old]``

Re-wraps every project key under a new master key; no data is rewritten and nothing stops.
Local provider: a new master key is added to the keyring, and the old ones are retired once
every project key is re-wrapped (``--keep-old`` keeps them). KMS: set LABELKEEP_KMS_KEY_ID to
the new KMS key and restart the services first; then run this, then schedule the deletion of
the old KMS key.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from projects import keys
from projects.management.commands._actor import admin_actor


class Command(BaseCommand):
    help = "Rotate the master key: re-wrap every project key (no data rewritten)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--actor", required=True, help="Email of the lab administrator.")
        parser.add_argument(
            "--keep-old",
            action="store_true",
            help="Keep the previous master keys in the local keyring.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = admin_actor(options["actor"])
        try:
            report = keys.master_key_rotate(actor=actor, retire_old=not options["keep_old"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"Master key is now {report.master_key_id}: {report.rewrapped} of "
            f"{report.versions} key versions re-wrapped across {report.projects} projects."
        )
        self.stdout.write(
            "Back up the master keyring (or note the KMS key) now; destroy copies of the old one "
            "so that old key-store backups can no longer be opened."
        )
