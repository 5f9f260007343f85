import io
import json
import re
import socket
import ssl
import subprocess

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from audit import shipping
from audit.checkpoints import checkpoint_create
from audit.models import AuditEvent, AuditShipCursor
from audit.sinks import FileSink, sink_for
from tests.audit.helpers import record_many
from tests.audit.receivers import HttpCollector, SyslogTcpReceiver, free_port


@pytest.fixture
def small_batches(settings):
    settings.AUDIT_CHAINS = 3
    settings.AUDIT_SHIP_BATCH = 4
    settings.AUDIT_SHIP_TIMEOUT_SECONDS = 2


def _event_ids(records):
    return [r["event_id"] for r in records if r["type"] == "audit_event"]


def _all_event_ids():
    return {str(i) for i in AuditEvent.objects.values_list("event_id", flat=True)}


def test_the_file_sink_appends_one_json_line_per_event_and_checkpoint(db, tmp_path, small_batches):
    events = record_many(10)
    checkpoint_create(force=True)
    path = tmp_path / "audit.jsonl"
    [result] = shipping.ship_all([sink_for(path.as_uri())])
    lines = path.read_text().splitlines()
    assert (result.sent, result.error, len(lines)) == (11, "", 11)
    records = [json.loads(line) for line in lines]
    assert sorted(_event_ids(records)) == sorted(str(e.event_id) for e in events)
    [checkpoint] = [r for r in records if r["type"] == "audit_checkpoint"]
    assert checkpoint["number"] == 1
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_syslog_receiver_that_was_down_gets_every_event_once(db, small_batches):
    receiver = SyslogTcpReceiver(free_port())
    sink = sink_for(f"syslog+tcp://127.0.0.1:{receiver.port}")
    record_many(9)
    [down] = shipping.ship_all([sink])
    assert (down.sent, "refused" in down.error.lower()) == (0, True)
    record_many(6)  # the outage goes on; events keep coming
    assert shipping.ship(sink).sent == 0
    receiver.start()
    try:
        assert shipping.ship(sink).sent == 15
        assert shipping.ship(sink).sent == 0
        record_many(2)
        assert shipping.ship(sink).sent == 2
        received = _event_ids(receiver.records(expect=17))
    finally:
        receiver.stop()
    assert len(received) == len(set(received)) == 17
    assert set(received) == _all_event_ids()


def test_an_https_collector_that_fails_for_a_while_gets_every_event_once(
    db, settings, small_batches
):
    settings.AUDIT_SHIP_HTTP_TOKEN = "collector-token"
    collector = HttpCollector(free_port())
    sink = sink_for(f"http://127.0.0.1:{collector.port}/ingest")
    record_many(7)
    assert "refused" in shipping.ship(sink).error.lower()  # not even listening
    collector.status = 503
    collector.start()
    try:
        assert "HTTP 503" in shipping.ship(sink).error  # up, but refusing
        checkpoint_create(force=True)
        collector.status = 200
        assert shipping.ship(sink).sent == 8
        assert shipping.ship(sink).sent == 0
    finally:
        collector.stop()
    received = _event_ids(collector.records())
    assert len(received) == len(set(received)) == 7
    assert set(received) == _all_event_ids()
    assert {h["Authorization"] for h in collector.headers} == {"Bearer collector-token"}
    assert {h["Content-Type"] for h in collector.headers} == {"application/x-ndjson"}


def test_a_batch_sent_again_after_a_crash_is_recognisable_by_event_id(
    db, tmp_path, small_batches, monkeypatch
):
    record_many(10)
    sink = FileSink("crash-test", tmp_path / "audit.jsonl")
    real_advance = shipping._advance
    calls = {"n": 0}

    def crash_on_third(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("killed between sending and saving the cursor")
        return real_advance(*args)

    monkeypatch.setattr(shipping, "_advance", crash_on_third)
    with pytest.raises(SystemExit):
        shipping.ship(sink)
    monkeypatch.setattr(shipping, "_advance", real_advance)
    shipping.ship(sink)
    received = _event_ids(json.loads(line) for line in sink.path.read_text().splitlines())
    assert set(received) == _all_event_ids()
    duplicates = len(received) - len(set(received))
    assert 0 < duplicates <= 4  # at most the one batch in flight


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for localhost, as a lab's private CA would issue."""
    cert, key = tmp_path / "siem.pem", tmp_path / "siem.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return cert, context


def test_syslog_over_tls_verifies_the_receiver_certificate(db, settings, certificate):
    cert, context = certificate
    receiver = SyslogTcpReceiver(free_port(), tls=context)
    receiver.start()
    sink = sink_for(f"syslog+tls://localhost:{receiver.port}")
    try:
        record_many(3)
        untrusted = shipping.ship(sink)
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.error
        settings.AUDIT_SHIP_CA_FILE = str(cert)
        assert shipping.ship(sink).sent == 3
        received = _event_ids(receiver.records(expect=3))
    finally:
        receiver.stop()
    assert sorted(received) == sorted(_all_event_ids())


def test_each_sink_keeps_its_own_place(db, tmp_path, small_batches):
    record_many(5)
    first, second = (sink_for((tmp_path / f"{n}.jsonl").as_uri()) for n in (1, 2))
    assert shipping.ship(first).sent == 5
    record_many(3)
    assert shipping.ship(second).sent == 8
    assert shipping.ship(first).sent == 3
    assert set(AuditShipCursor.objects.values_list("sink", flat=True)) == {first.name, second.name}


def test_udp_syslog_sends_one_rfc5424_datagram_per_event(db):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        [event] = record_many(1, action="member.added")
        port = receiver.getsockname()[1]
        assert shipping.ship(sink_for(f"syslog+udp://127.0.0.1:{port}")).sent == 1
        datagram = receiver.recv(65536).decode("ascii")
    header = r"<110>1 (\S+) \S+ labelkeep - member\.added - (\{.*\})"
    match = re.fullmatch(header, datagram)
    assert match is not None, datagram
    assert match.group(1) == json.loads(match.group(2))["occurred_at"]
    assert json.loads(match.group(2))["hash"] == event.hash


@pytest.mark.parametrize(
    "url",
    [
        "http://siem.example.org/ingest",
        "https://user:secret@siem.example.org/ingest",
        "ftp://siem.example.org/",
        "file:relative/path.jsonl",
        "syslog+tcp://",
    ],
)
def test_sink_urls_that_would_be_unsafe_or_meaningless_are_refused(url):
    with pytest.raises(ImproperlyConfigured):
        sink_for(url)


def test_the_command_ships_and_fails_while_a_sink_is_unreachable(db, settings, tmp_path):
    record_many(3)
    settings.AUDIT_SHIP_TO = [(tmp_path / "audit.jsonl").as_uri()]
    out = io.StringIO()
    call_command("audit_ship", stdout=out)
    assert "3 records sent, up to date" in out.getvalue()
    settings.AUDIT_SHIP_TO = [f"syslog+tcp://127.0.0.1:{free_port()}"]
    with pytest.raises(CommandError, match="resume"):
        call_command("audit_ship", stdout=io.StringIO())
