"""Background jobs of webhooks. Thin: ids in, a service call; a repeat finds the notice claimed."""

import uuid

from celery import shared_task

from datasets import webhooks


@shared_task(acks_late=True, reject_on_worker_lost=True)
def webhook_deliver_task(delivery_id: str) -> str:
    """One attempt at a notice; a second message for it finds it claimed, done or not yet due."""
    delivery = webhooks.deliver(uuid.UUID(delivery_id))
    return "skipped" if delivery is None else str(delivery.state)


@shared_task
def webhooks_due() -> int:
    """Queue the notices whose next attempt is due, and those whose worker died mid-attempt."""
    return webhooks.deliveries_due()
