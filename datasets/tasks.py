"""Background jobs of datasets. Thin: ids in, a service call, idempotent."""

import uuid
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready

from datasets import imports
from datasets.exports import versions
from datasets.webhook_tasks import webhook_deliver_task, webhooks_due  # noqa: F401 (registered)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def import_run_task(self: "Task[Any, Any]", import_id: str) -> str:
    """Run an import; a second delivery of the message finds it claimed or finished."""
    return str(imports.import_run(import_id=uuid.UUID(import_id)).state)


@shared_task
def imports_resume() -> int:
    """Queue again the imports whose worker died or whose message was lost."""
    return imports.imports_resume()


@worker_ready.connect
def _resume_after_start(**_kwargs: Any) -> None:
    # A worker that starts may replace one that died mid-import: once that worker's heartbeat
    # has gone stale, take its imports over rather than wait for the broker to redeliver.
    imports_resume.apply_async(countdown=imports.stale_seconds() + 1)
    versions_resume.apply_async(countdown=versions.stale_seconds() + 1)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def version_build_task(self: "Task[Any, Any]", version_id: str) -> str:
    """Build a dataset version; a second delivery finds it claimed or finished."""
    return str(versions.version_build(version_id=uuid.UUID(version_id)).state)


@shared_task
def versions_resume() -> int:
    """Queue again the versions whose worker died or whose message was lost."""
    return versions.versions_resume()
