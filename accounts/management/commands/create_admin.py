"""``manage.py create_admin --email ops@lab.example [--password-file PATH]``

Creates a lab administrator for a production set-up. Without ``--password-file`` a random
password is generated and printed this once; it is stored only as a hash.
"""

import secrets
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts import services
from audit.services import Actor
from core.errors import ApplicationError

GENERATED_PASSWORD_BYTES = 18


class Command(BaseCommand):
    help = "Create a lab administrator (staff user) with a generated or given password."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--email", required=True, help="The administrator's email (login).")
        parser.add_argument("--full-name", default="", help="Display name.")
        parser.add_argument(
            "--password-file",
            type=Path,
            help="Read the password from this file instead of generating one "
            "(e.g. a Docker or Kubernetes secret).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        generated = options["password_file"] is None
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES) if generated else None
        password = password or _read_password(options["password_file"])
        try:
            user = services.user_create(
                actor=Actor.system("create_admin"),
                email=options["email"],
                password=password,
                full_name=options["full_name"],
                is_admin=True,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"Created lab administrator {user.email}.")
        if generated:
            self.stdout.write(f"Password (shown this once, store it safely): {password}")


def _read_password(path: Path) -> str:
    try:
        # Only the line ending goes: spaces may be part of a passphrase.
        return path.read_text().rstrip("\r\n")
    except OSError as exc:
        raise CommandError(f"--password-file {path} cannot be read: {exc.strerror}.") from None
