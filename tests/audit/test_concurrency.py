"""Appending under concurrency, on PostgreSQL: real transactions on their own connections.

Each chain must stay exact whatever the interleaving: positions without gaps or repeats, each
event linked to the one before it, sequence numbers growing along the chain (they are drawn
under the chain's lock), the head row at the newest event, and only committed events.
"""

import random
import threading
import time
from collections.abc import Callable
from itertools import pairwise

import pytest
from django.db import connection, transaction

from audit.models import AuditChainHead, AuditEvent
from audit.services import Actor, record
from audit.verify import verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers: there is no concurrent append to test")


class Rollback(Exception):
    """Raised inside a writer's transaction to roll it back on purpose."""


def _run(writers: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(writer: Callable[[], None]) -> None:
        try:
            writer()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(writer,)) for writer in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer never finished"
    return errors


def _assert_chains_exact() -> None:
    by_chain: dict[int, list[AuditEvent]] = {}
    for event in AuditEvent.objects.order_by("chain", "chain_pos"):
        by_chain.setdefault(event.chain, []).append(event)
    for chain, events in by_chain.items():
        assert [e.chain_pos for e in events] == list(range(1, len(events) + 1)), chain
        assert events[0].prev_hash == ""
        for before, after in pairwise(events):
            assert after.prev_hash == before.hash, (chain, after.chain_pos)
            assert after.seq > before.seq, (chain, after.chain_pos)
        head = AuditChainHead.objects.get(chain=chain)
        assert (head.length, head.seq, head.hash) == (
            len(events),
            events[-1].seq,
            events[-1].hash,
        )
    report = verify()
    assert report.ok, report.problems


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return int(cursor.fetchone()[0])


def test_a_writer_that_waited_for_its_chain_comes_after_everything_the_holder_recorded(settings):
    # One chain: the second writer must wait. The holder holds the chain (its first event was
    # written when it recorded the second) and records again while the other waits; on
    # PostgreSQL its last event goes with its commit. The waiter's sequence number must
    # still be drawn after all of them, once it holds the chain.
    settings.AUDIT_CHAINS = 1
    record(actor=Actor.system("setup"), action="test.start")  # the chain's head row exists
    holding, waiting = threading.Event(), threading.Event()

    def holder() -> None:
        with transaction.atomic():
            record(actor=Actor.system("holder"), action="test.first")
            record(actor=Actor.system("holder"), action="test.second")
            holding.set()
            assert waiting.wait(30)
            deadline = time.monotonic() + 30
            while _lock_waiters() == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            record(actor=Actor.system("holder"), action="test.third")

    def waiter() -> None:
        assert holding.wait(30)
        waiting.set()
        record(actor=Actor.system("waiter"), action="test.fourth")

    assert _run([holder, waiter]) == []
    _start, *events = AuditEvent.objects.order_by("chain_pos")
    actions = ["test.first", "test.second", "test.third", "test.fourth"]
    assert [e.action for e in events] == actions
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert events[3].prev_hash == events[2].hash
    _assert_chains_exact()


@pytest.mark.parametrize("chains", [1, 3, 16])
def test_many_writers_with_rollbacks_keep_every_chain_exact(settings, chains):
    settings.AUDIT_CHAINS = chains
    committed = []
    lock = threading.Lock()

    def writer(n: int) -> Callable[[], None]:
        rng = random.Random(n)  # an interleaving, not a secret

        def write() -> None:
            for i in range(12):
                events = rng.randint(1, 3)
                try:
                    with transaction.atomic():
                        for k in range(events):
                            actor = Actor.system(f"writer{n}")
                            record(actor=actor, action="test.done", details={"i": i, "k": k})
                            time.sleep(rng.random() / 500)  # holds the chain a moment
                        if rng.random() < 0.25:
                            raise Rollback
                except Rollback:
                    continue
                with lock:
                    committed.append(events)

        return write

    assert _run([writer(n) for n in range(8)]) == []
    assert AuditEvent.objects.count() == sum(committed)
    _assert_chains_exact()
