"""``manage.py vault_status [--project ID]``

Checks that the key provider and the key store answer (a throwaway key is generated and
unwrapped; nothing is stored), names the configuration in use, and with ``--project`` lists the
project's key versions. Exits non-zero when the vault cannot work, so it fits a health probe.
"""

import uuid
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from vault import config

_CHECK_CONTEXT = {"labelkeep:purpose": "health-check"}


class Command(BaseCommand):
    help = "Check the key provider and key store, and list a project's key versions."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", help="List this project's key versions.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._check()
            if options["project"]:
                self._versions(options["project"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None

    def _check(self) -> None:
        provider = config.provider()
        plain, wrapped, master_id = provider.generate(_CHECK_CONTEXT)
        if provider.unwrap(wrapped, _CHECK_CONTEXT, master_id) != plain:
            raise CommandError("The key provider returned a different key than it wrapped.")
        projects = sum(1 for _ in config.project_keys().store.project_ids())
        self.stdout.write(f"key provider: {provider.name}, master key {master_id}: ok")
        self.stdout.write(f"key store: {settings.LABELKEEP_KEYSTORE_URL}, {projects} projects")
        self.stdout.write(f"blob store: {settings.LABELKEEP_BLOB_STORE}")

    def _versions(self, value: str) -> None:
        try:
            project_id = uuid.UUID(value)
        except ValueError:
            raise CommandError(f"--project: {value!r} is not a project id.") from None
        for info in config.project_keys().versions(project_id):
            self.stdout.write(
                f"{info.key_id}  version {info.version}  master {info.master_key_id}  "
                f"created {info.created_at}"
            )
