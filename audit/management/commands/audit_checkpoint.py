"""``manage.py audit_checkpoint``: sign the chain heads now (also done every N events/M minutes)."""

from typing import Any

from django.core.management.base import BaseCommand

from audit.checkpoints import checkpoint_create
from vault import signing


class Command(BaseCommand):
    help = "Sign the current audit chain heads with the checkpoint key."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = checkpoint_create(force=True)
        key = signing.signing_key()
        if checkpoint is None:
            self.stdout.write("nothing new to sign")
        else:
            self.stdout.write(f"checkpoint #{checkpoint.number} signed")
        self.stdout.write(f"key {key.key_id}, public key (base64) {key.public_b64}")
