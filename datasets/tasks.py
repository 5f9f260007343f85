"""Background jobs of datasets. Thin: ids in, a service call, idempotent."""

import uuid
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready

from datasets import imports


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
