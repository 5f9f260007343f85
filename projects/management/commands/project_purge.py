"""``manage.py project_purge RECEIPT_ID``: run (again) the purge of a deleted project.

The purge normally runs as a background job after ``project_delete``; this re-runs one that
failed or whose worker died. It is idempotent.
"""

import json
import uuid
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from projects.deletion import project_purge
from vault.models import ShredReceipt


class Command(BaseCommand):
    help = "Purge the rows and files of a crypto-shredded project (idempotent)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("receipt", help="The shred receipt's id.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            receipt_id = uuid.UUID(options["receipt"])
        except ValueError:
            raise CommandError(f"{options['receipt']!r} is not a receipt id.") from None
        if not ShredReceipt.objects.filter(pk=receipt_id).exists():
            raise CommandError(f"No shred receipt has the id {receipt_id}.")
        receipt = project_purge(receipt_id=receipt_id)
        self.stdout.write(json.dumps(receipt.as_dict(), indent=2))
