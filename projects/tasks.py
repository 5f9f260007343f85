"""Background jobs of projects. Thin: ids in, a service call, idempotent."""

import uuid
from typing import Any

from celery import Task, shared_task

from projects import deletion, keys
from vault.models import JobState, PurgeState
from vault.reseal import STALE_AFTER

# A job found held by another worker is looked at again once that worker's heartbeat would
# have gone stale: it has finished by then, or died and the job can be taken over.
_LOOK_AGAIN = STALE_AFTER.total_seconds()


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def project_purge(self: "Task[Any, Any]", receipt_id: str) -> str:
    """Purge a shredded project's rows and files (safe to run twice: the receipt is claimed)."""
    receipt = deletion.project_purge(receipt_id=uuid.UUID(receipt_id))
    if receipt.purge_state == PurgeState.PURGING:
        raise self.retry(countdown=_LOOK_AGAIN)
    return str(receipt.purge_state)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def project_reencrypt(self: "Task[Any, Any]", job_id: str) -> str:
    """Run or resume a re-encryption job (batches commit with the job's cursor)."""
    job = keys.project_reencrypt_run(job_id=uuid.UUID(job_id))
    if job.state == JobState.RUNNING:
        raise self.retry(countdown=_LOOK_AGAIN)
    return str(job.state)
