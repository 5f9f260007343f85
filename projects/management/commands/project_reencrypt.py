"""``manage.py project_reencrypt --project ID --actor admin@lab.example``, or ``--run JOB_ID``

Queues a job that re-seals a project's stored values under its newest key version, or runs
(resumes) a job in this process, printing its progress when done.
"""

import uuid
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from projects import keys
from projects.management.commands._actor import admin_actor, project_of
from vault.models import ReencryptionJob


class Command(BaseCommand):
    help = "Re-encrypt a project's old data under its newest key version (resumable)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--project", help="Queue a new job for this project.")
        target.add_argument("--run", help="Run or resume this job here.")
        parser.add_argument("--actor", help="Email of the lab administrator (with --project).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["run"]:
                self._run(options["run"])
            else:
                self._start(options["project"], options["actor"])
        except ApplicationError as exc:
            raise CommandError(exc.message) from None

    def _start(self, project_value: str, email: str | None) -> None:
        if not email:
            raise CommandError("--actor is required with --project.")
        job = keys.project_reencrypt_start(
            actor=admin_actor(email), project=project_of(project_value)
        )
        self.stdout.write(f"Re-encryption job {job.pk} queued ({job.total} values).")

    def _run(self, value: str) -> None:
        try:
            job_id = uuid.UUID(value)
        except ValueError:
            raise CommandError(f"--run: {value!r} is not a job id.") from None
        if not ReencryptionJob.objects.filter(pk=job_id).exists():
            raise CommandError(f"--run: no re-encryption job has the id {job_id}.")
        job = keys.project_reencrypt_run(job_id=job_id)
        self.stdout.write(
            f"Job {job.pk}: {job.state}, {job.done}/{job.total} examined, {job.resealed} re-sealed."
        )
