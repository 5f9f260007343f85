"""``manage.py vault_master_key_create --path /etc/labelkeep/master_keyring``

Creates a master keyring for the local key provider (one fresh 256-bit key, mode 0600). Point
LABELKEEP_MASTER_KEY_FILE at it and back it up apart from the database and the key store.
Refuses to overwrite an existing file. Embedded mode creates its own under var/ on first use.
"""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from vault.providers import create_keyring


class Command(BaseCommand):
    help = "Create a master keyring file for the local key provider."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--path", type=Path, required=True, help="Where to create it.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        try:
            key_id = create_keyring(path)
        except FileExistsError:
            raise CommandError(f"{path} exists; refusing to overwrite a master keyring.") from None
        except OSError as exc:
            raise CommandError(f"{path} cannot be created: {exc.strerror}.") from None
        self.stdout.write(f"Created master keyring {path} with master key {key_id}.")
