"""Background jobs of the work. Thin: ids in, a service call, idempotent."""

import uuid
from typing import Any

from celery import Task, shared_task
from django.utils import timezone

from labeling import quality, queue
from labeling.models import Annotation, AnnotationStatus


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None)
def quality_run_task(self: "Task[Any, Any]", report_id: str) -> str:
    """Compute a quality report; a second delivery finds it claimed or finished."""
    return str(quality.quality_run(report_id=uuid.UUID(report_id)).state)


@shared_task
def quality_schedule() -> int:
    return quality.quality_schedule()


@shared_task
def leases_expire_all() -> int:
    """Return the slots of overdue leases in projects where no one is asking for work (each
    claim expires its own project's leases first)."""
    now = timezone.now()
    projects = (
        Annotation.objects.filter(status=AnnotationStatus.LEASED, lease_expires_at__lt=now)
        .values_list("project_id", flat=True)
        .distinct()
    )
    expired = 0
    for project_id in list(projects):
        while batch := queue.leases_expire(project_id=project_id, now=now):
            expired += batch
    return expired
