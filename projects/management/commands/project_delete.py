"""``manage.py project_delete --project ID --actor admin@lab.example [--password-stdin]``

Crypto-shreds a project: its keys are destroyed at once, its rows and files purged in the
background. The administrator re-enters their password (step-up), read from the terminal
without echo, or from standard input for automation. Prints the receipt as JSON.
"""

import json
import sys
from argparse import ArgumentParser
from getpass import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from projects.deletion import project_delete
from projects.management.commands._actor import admin_actor, project_of


class Command(BaseCommand):
    help = "Delete a project for good: destroy its keys (crypto-shredding), then purge it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="The project's id.")
        parser.add_argument("--actor", required=True, help="Email of the lab administrator.")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the administrator's password from standard input instead of a prompt.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = admin_actor(options["actor"])
        project = project_of(options["project"])
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass(f"Password of {actor.user.email} (to delete '{project.name}'): ")
        try:
            receipt = project_delete(actor=actor, project=project, password=password)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        receipt.refresh_from_db()
        self.stdout.write(json.dumps(receipt.as_dict(), indent=2))
