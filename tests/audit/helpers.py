"""Building audit logs for tests."""

from audit import chain
from audit.services import Actor, record


def as_separate_transactions() -> None:
    """Forget which chain the test's single outer transaction holds, as if the next event
    came from another transaction (so a test's events spread over several chains)."""
    chain._held.clear()


def record_many(count: int, *, spread: int = 8, action: str = "test.done", **fields):
    """``count`` events from ``spread`` different actors, each as if in its own transaction."""
    events = []
    for n in range(count):
        as_separate_transactions()
        details = fields.get("details", {"n": n})
        extra = {k: v for k, v in fields.items() if k != "details"}
        actor = Actor.system(f"worker{n % spread}")
        events.append(record(actor=actor, action=action, details=details, **extra))
    return events
