"""``manage.py project_key_rotate --project ID --actor admin@lab.example [--reencrypt]``

Adds a version to the project's key: new writes use it at once, older data still opens.
``--reencrypt`` also queues the job that re-seals old data under the new version.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from projects import keys
from projects.management.commands._actor import admin_actor, project_of


class Command(BaseCommand):
    help = "Rotate a project's key (adds a version; optionally re-encrypts old data)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="The project's id.")
        parser.add_argument("--actor", required=True, help="Email of the lab administrator.")
        parser.add_argument(
            "--reencrypt", action="store_true", help="Queue the re-encryption of old data."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = admin_actor(options["actor"])
        project = project_of(options["project"])
        try:
            info = keys.project_key_rotate(actor=actor, project=project)
            self.stdout.write(f"Project key is now version {info.version} ({info.key_id}).")
            if options["reencrypt"]:
                job = keys.project_reencrypt_start(actor=actor, project=project)
                self.stdout.write(f"Re-encryption job {job.pk} queued ({job.total} values).")
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
