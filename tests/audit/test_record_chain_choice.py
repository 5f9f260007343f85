"""Which head row an append locks on PostgreSQL: its preferred chain's, else the first free
one's, and never more than one; with the commit, or at once for a transaction's earlier event."""

import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from audit.models import AuditChainHead, AuditEvent
from audit.services import Actor, record
from audit.verify import verify
from tests.audit.helpers import heads_known

pytestmark = pytest.mark.django_db(transaction=True)

CHAINS = 4


@pytest.fixture(autouse=True)
def _postgresql_with_heads(settings):
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED are PostgreSQL's; SQLite serializes writers")
    settings.AUDIT_CHAINS = CHAINS
    heads_known()


def _preferred(actor: Actor) -> int:
    return zlib.crc32(actor.spread_key.encode()) % CHAINS


def _in_other_connection(work: Callable[[], object]) -> object:
    """``work`` in a transaction of another connection (another thread), and its result."""
    result: list[object] = []

    def run() -> None:
        try:
            with transaction.atomic():
                result.append(work())
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    return result[0]


def _lockable_heads() -> list[int]:
    heads = AuditChainHead.objects.select_for_update(skip_locked=True).filter(chain__lt=CHAINS)
    return sorted(heads.values_list("chain", flat=True))


@contextmanager
def _held_elsewhere(chain: int) -> Iterator[None]:
    """Another connection holds ``chain``'s head row locked until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                AuditChainHead.objects.select_for_update().get(chain=chain)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(timeout=30)
    try:
        yield
    finally:
        release.set()
        thread.join(timeout=30)


def _chain_of(event_id: uuid.UUID) -> int:
    return AuditEvent.objects.get(event_id=event_id).chain


def test_an_event_locks_no_head_until_the_commit_and_then_takes_its_preferred_chain():
    actor = Actor.system("alice")
    with transaction.atomic():
        event = record(actor=actor, action="test.done")
        free = _in_other_connection(_lockable_heads)
    assert free == list(range(CHAINS))
    assert _chain_of(event) == _preferred(actor)
    report = verify()
    assert report.ok, report.problems


def test_an_earlier_event_written_at_once_locks_its_own_chain_and_no_other():
    actor = Actor.system("alice")
    with transaction.atomic():
        first = record(actor=actor, action="test.done")
        second = record(actor=Actor.system("zed"), action="test.more")  # writes the first
        free = _in_other_connection(_lockable_heads)
    assert _chain_of(first) == _chain_of(second) == _preferred(actor)
    assert free == [n for n in range(CHAINS) if n != _preferred(actor)]


def test_a_busy_preferred_chain_sends_the_event_to_the_first_free_one():
    actor = Actor.system("bob")
    preferred = _preferred(actor)
    with _held_elsewhere(preferred), transaction.atomic():
        event = record(actor=actor, action="test.done")
    first_free = min(n for n in range(CHAINS) if n != preferred)
    assert _chain_of(event) == first_free
    report = verify()
    assert report.ok, report.problems


def test_an_append_waits_for_its_preferred_chain_when_every_chain_is_busy():
    actor = Actor.system("charlie")
    preferred = _preferred(actor)
    others = [n for n in range(CHAINS) if n != preferred]
    done = threading.Event()
    events: list[uuid.UUID] = []

    def append() -> None:
        try:
            with transaction.atomic():
                events.append(record(actor=actor, action="test.done"))
        finally:
            connection.close()
            done.set()

    with _held_elsewhere(others[0]), _held_elsewhere(others[1]), _held_elsewhere(others[2]):
        with _held_elsewhere(preferred):
            writer = threading.Thread(target=append)
            writer.start()
            assert not done.wait(timeout=0.5), "the append did not wait for a busy chain"
        writer.join(timeout=30)
    assert [_chain_of(event) for event in events] == [preferred]
    report = verify()
    assert report.ok, report.problems
