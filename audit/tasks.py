from celery import shared_task
from django.conf import settings

from audit import checkpoints, retention, shipping
from audit.services import Actor


@shared_task(ignore_result=True)
def audit_checkpoint() -> None:
    """Sign the chain heads if a checkpoint is due (the function decides; running twice is
    harmless)."""
    checkpoints.checkpoint_create()


@shared_task(ignore_result=True)
def audit_ship() -> None:
    """Send new events and checkpoints to every configured SIEM sink."""
    shipping.ship_all()


@shared_task(ignore_result=True)
def audit_archive() -> None:
    """Archive and prune events past the retention period (off while it is 0 days). Safe to run
    twice: each run starts from the anchors the previous one left."""
    days = settings.AUDIT_RETENTION_DAYS
    if days > 0:
        retention.archive_old_events(older_than_days=days, actor=Actor.system("audit_archive"))
