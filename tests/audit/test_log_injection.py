"""Names and user agents carrying CR, LF, ANSI escapes or Unicode line separators stay one
record: in the database, in every sink and in every export."""

import csv
import io
import json

import pytest

from audit import exports, shipping
from audit.models import AuditEvent
from audit.services import Actor, record
from audit.sinks import sink_for
from tests.audit.receivers import HttpCollector, SyslogTcpReceiver, free_port
from tests.factories import make_user

HOSTILE = [
    "admin\r\n<14>1 2026-01-01T00:00:00Z forged labelkeep - login.succeeded - {}",
    "\x1b[2J\x1b[31mred alert\x1b[0m",
    'quote" and back\\slash',
    "line\u2028separator\u2029paragraph\x85next-line",
    "bidi \u202eoverride",
]
UNSAFE = ["\r", "\n", "\x1b", "\u2028", "\u2029", "\x85", "\u202e"]


@pytest.fixture
def hostile_events(db):
    user = make_user(email="mallory\r\n@lab.test")
    events = [
        record(
            actor=Actor(user=user if n % 2 else None, via=f"cli{n}", user_agent=text),
            action="test.done",
            details={"note": text},
        )
        for n, text in enumerate(HOSTILE)
    ]
    events.append(record(actor=Actor.system(HOSTILE[0]), action="test.done"))
    return events


def test_control_characters_never_reach_the_database(hostile_events):
    for event in AuditEvent.objects.all():
        stored = [event.actor_label, event.user_agent, event.auth_method, event.details.get("note")]
        for value in filter(None, stored):
            assert not any(ch in value for ch in UNSAFE), repr(value)
    labels = {e.actor_label for e in AuditEvent.objects.all()}
    assert "mallory\ufffd\ufffd@lab.test" in labels


def test_each_event_is_one_line_in_the_jsonl_file(hostile_events, tmp_path):
    path = tmp_path / "audit.jsonl"
    shipping.ship(sink_for(path.as_uri()))
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert len(lines) - 1 == len(hostile_events)
    assert all(max(line, default=0) < 128 for line in lines)
    assert {json.loads(line)["event_id"] for line in lines[:-1]} == {
        str(event_id) for event_id in hostile_events
    }


def test_each_event_is_one_frame_in_syslog(hostile_events):
    receiver = SyslogTcpReceiver(free_port())
    receiver.start()
    try:
        shipping.ship(sink_for(f"syslog+tcp://127.0.0.1:{receiver.port}"))
        records = receiver.records(expect=len(hostile_events))
    finally:
        receiver.stop()
    assert len(records) == len(hostile_events)
    for message in receiver.messages:
        assert not any(ch in message for ch in UNSAFE)


def test_each_event_is_one_line_in_the_https_body(hostile_events):
    collector = HttpCollector(free_port())
    collector.start()
    try:
        shipping.ship(sink_for(f"http://127.0.0.1:{collector.port}/"))
    finally:
        collector.stop()
    assert len(collector.lines()) == len(hostile_events)


def test_each_event_is_one_row_of_the_csv_and_one_line_of_the_jsonl_export(hostile_events):
    events = exports.iter_events(AuditEvent.objects.all())
    text = "".join(exports.csv_lines(events))
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + len(hostile_events)
    assert len(text.splitlines()) == len(rows)
    lines = "".join(exports.jsonl_lines(exports.iter_events(AuditEvent.objects.all())))
    assert len(lines.splitlines()) == len(hostile_events)
