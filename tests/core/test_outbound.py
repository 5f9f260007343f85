"""The SSRF guard (core/outbound.py): the URL, the resolver's answers, and the request itself,
against real HTTPS receivers on loopback with certificates from a test CA."""

import ipaddress
import time

import pytest

from core import outbound
from tests.core.receivers import Authority, Dns, Receiver, SilentListener, answer_with, drip

HOOKS = "hooks.lab.test"


@pytest.fixture
def authority(tmp_path):
    return Authority.create(tmp_path)


@pytest.fixture
def lab(settings, authority, monkeypatch):
    """The administrator allowlisted hooks.lab.test, opened 127.0.0.1 for it (our receiver
    runs there) and trusts the lab's CA; the DNS answers 127.0.0.1 for it."""
    settings.WEBHOOK_ALLOWED_HOSTS = [HOOKS]
    settings.WEBHOOK_PRIVATE_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_CA_FILE = str(authority.ca_file)
    dns = Dns({HOOKS: [["127.0.0.1"]]})
    monkeypatch.setattr(outbound, "getaddrinfo", dns)
    return dns


@pytest.fixture
def receiver(authority, tmp_path):
    running = Receiver(authority.server_context(tmp_path, [HOOKS])).start()
    yield running
    running.stop()


def _code(url: str) -> str:
    with pytest.raises(outbound.OutboundError) as refused:
        outbound.check_url(url)
    return refused.value.code


# --- The URL, before any DNS ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://hooks.lab.test/notify", "url_not_https"),
        ("ftp://hooks.lab.test/notify", "url_not_https"),
        ("//hooks.lab.test/notify", "url_not_https"),
        ("hooks.lab.test/notify", "url_not_https"),
        ("https://hooks.lab.test@127.0.0.1/", "url_not_allowed"),
        ("https://user:pass@hooks.lab.test/", "url_not_allowed"),
        ("https://127.0.0.1#@hooks.lab.test/", "host_not_in_allowlist"),
        ("https://hooks.lab.test\\@127.0.0.1/", "url_not_allowed"),
        ("https://hooks.lab.test /x", "url_not_allowed"),
        ("https://hooks.lab.test:0/", "url_not_allowed"),
        ("https://hooks.lab.test:99999/", "url_not_allowed"),
        ("https:///notify", "url_not_allowed"),
        ("https://127.0.0.1/", "host_not_in_allowlist"),
        ("https://localhost/", "host_not_in_allowlist"),
        ("https://169.254.169.254/latest/meta-data/", "host_not_in_allowlist"),
        ("https://metadata.google.internal/", "host_not_in_allowlist"),
        ("https://hooks.lab.test.evil.example/", "host_not_in_allowlist"),
        ("https://evilhooks.lab.test/", "host_not_in_allowlist"),
        ("https://lab.test/", "host_not_in_allowlist"),
        ("https://" + "a" * 2000 + ".lab.test/", "url_not_allowed"),
    ],
)
def test_urls_outside_the_rules_are_refused_before_any_lookup(settings, monkeypatch, url, code):
    settings.WEBHOOK_ALLOWED_HOSTS = [HOOKS]
    dns = Dns({})
    monkeypatch.setattr(outbound, "getaddrinfo", dns)
    assert _code(url) == code
    assert dns.calls == []


def test_an_empty_allowlist_allows_no_host_at_all(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    assert _code("https://hooks.lab.test/") == "host_not_in_allowlist"


def test_wildcards_match_subdomains_only_and_names_ignore_case(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["*.hooks.example.org", "Exact.Example.org"]
    assert outbound.allowed_url("https://a.hooks.example.org/x?y=1").host == "a.hooks.example.org"
    assert outbound.allowed_url("https://A.B.HOOKS.example.org:8443/").port == 8443
    assert outbound.allowed_url("https://exact.example.org./").target == "/"
    for url in ("https://hooks.example.org/", "https://evilhooks.example.org/",
                "https://sub.exact.example.org/"):  # fmt: skip
        assert _code(url) == "host_not_in_allowlist"


# --- What the name resolves to --------------------------------------------------------------

# Every spelling of a forbidden address, each allowlisted by name so that only the resolver's
# answer (through the real system resolver: numeric forms and /etc/hosts) can refuse it.
FORBIDDEN_SPELLINGS = [
    "127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "017700000001",
    "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]", "localhost",
    "0.0.0.0", "0", "[::]",  # noqa: S104 -- addresses to refuse, not to bind
    "169.254.169.254", "[fd00:ec2::254]", "[::ffff:169.254.169.254]", "169.254.1.1",
    "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
    "[fc00::1]", "[fd12:3456::1]", "[fe80::1]", "[fec0::1]",
    "224.0.0.1", "[ff02::1]", "240.0.0.1", "255.255.255.255", "192.0.0.8", "198.18.0.1",
    "[2002:7f00:1::]", "[2002:a9fe:a9fe::1]", "[64:ff9b::7f00:1]", "[64:ff9b::a00:1]",
    "[64:ff9b:1::1]", "[2001:db8::1]", "[100::1]",
]  # fmt: skip


@pytest.mark.parametrize("spelling", FORBIDDEN_SPELLINGS)
def test_every_spelling_of_a_forbidden_address_is_refused_by_what_it_resolves_to(
    settings, spelling
):
    host = spelling.strip("[]").lower()
    settings.WEBHOOK_ALLOWED_HOSTS = [host]
    assert _code(f"https://{spelling}/hook") == "address_not_allowed"


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:808:808::1", "64:ff9b::808:808",
     "::ffff:8.8.8.8"],
)  # fmt: skip
def test_public_addresses_are_allowed_in_every_form(settings, address):
    settings.WEBHOOK_PRIVATE_NETWORKS = []
    assert outbound.address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("name", "answers"),
    [
        ("metadata.google.internal", ["169.254.169.254"]),
        ("instance-data.ec2.internal", ["fd00:ec2::254"]),
        ("metadata.azure.internal", ["169.254.169.254"]),
        ("rebound.example.org", ["93.184.215.14", "127.0.0.1"]),  # one bad answer is enough
        ("private.example.org", ["8.8.8.8", "10.1.2.3"]),
        ("mapped.example.org", ["::ffff:10.1.2.3"]),
    ],
)
def test_names_that_resolve_to_a_forbidden_address_are_refused(
    settings, monkeypatch, name, answers
):
    settings.WEBHOOK_ALLOWED_HOSTS = [name]
    monkeypatch.setattr(outbound, "getaddrinfo", Dns({name: [answers]}))
    assert _code(f"https://{name}/") == "address_not_allowed"


def test_a_name_that_does_not_resolve_fails_as_dns_failed(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_HOSTS = ["gone.example.org"]
    monkeypatch.setattr(outbound, "getaddrinfo", Dns({}))
    assert _code("https://gone.example.org/") == "dns_failed"


def test_opened_private_networks_are_reached_and_nothing_else(settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_HOSTS = ["*.lab.internal"]
    settings.WEBHOOK_PRIVATE_NETWORKS = ["10.20.0.0/16", "169.254.0.0/16", "0.0.0.0/0"]
    dns = Dns({"in.lab.internal": [["10.20.1.2"]], "out.lab.internal": [["fc00::5"]],
               "meta.lab.internal": [["169.254.169.254"]], "zero.lab.internal": [["0.0.0.0"]],  # noqa: S104
               "multi.lab.internal": [["224.0.0.5"]]})  # fmt: skip
    monkeypatch.setattr(outbound, "getaddrinfo", dns)
    checked = outbound.check_url("https://in.lab.internal:8443/hook")
    assert [sockaddr[0] for _family, sockaddr in checked.addresses] == ["10.20.1.2"]
    assert _code("https://out.lab.internal/") == "address_not_allowed"
    # Metadata services, "this host" and multicast stay refused whatever is opened.
    for name in ("meta", "zero", "multi"):
        assert _code(f"https://{name}.lab.internal/") == "address_not_allowed"


# --- The request ----------------------------------------------------------------------------


def test_a_notice_reaches_the_receiver_named_and_verified_as_the_host(lab, receiver):
    status = outbound.post_json(
        f"https://{HOOKS}:{receiver.port}/notify?source=lab", b'{"a":1}', {"X-Test": "yes"}
    )
    assert status == 200
    [received] = receiver.requests
    assert received.path == "/notify?source=lab"
    assert received.body == b'{"a":1}'
    assert received.headers["Host"] == f"{HOOKS}:{receiver.port}"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["X-Test"] == "yes"
    assert receiver.server_names == [HOOKS]  # SNI


def test_the_connection_goes_to_the_checked_address_though_dns_changes_its_answer(
    lab, authority, tmp_path, receiver
):
    # DNS rebinding: the first answer is the allowed receiver, every later one a forbidden
    # address where another server listens on the same port. The guard asks once and connects
    # where it checked; had it resolved again to connect, the other server would be reached.
    other = Receiver(
        authority.server_context(tmp_path, [HOOKS]), address="127.0.0.2", port=receiver.port
    ).start()
    lab.answers[HOOKS] = [["127.0.0.1"], ["127.0.0.2"]]
    try:
        assert outbound.post_json(f"https://{HOOKS}:{receiver.port}/", b"{}", {}) == 200
        assert lab.calls == [HOOKS]
        # The next request sees the new answer, and refuses it.
        with pytest.raises(outbound.AddressRefused):
            outbound.post_json(f"https://{HOOKS}:{receiver.port}/", b"{}", {})
    finally:
        other.stop()
    assert [r.local_address for r in receiver.requests] == ["127.0.0.1"]
    assert other.connections == 0


def test_a_redirect_is_refused_and_its_target_receives_nothing(lab, authority, tmp_path, receiver):
    inner = Receiver(authority.server_context(tmp_path, [HOOKS])).start()
    receiver.answer = answer_with(302, {"Location": f"https://127.0.0.1:{inner.port}/"})
    try:
        with pytest.raises(outbound.OutboundError) as refused:
            outbound.post_json(f"https://{HOOKS}:{receiver.port}/", b"{}", {})
    finally:
        inner.stop()
    assert refused.value.code == "redirect_refused"
    assert len(receiver.requests) == 1
    assert inner.connections == 0


@pytest.mark.parametrize("status", [301, 303, 307, 308])
def test_every_kind_of_redirect_is_refused(lab, receiver, status):
    receiver.answer = answer_with(status, {"Location": "https://127.0.0.1/"})
    with pytest.raises(outbound.OutboundError, match="redirect") as refused:
        outbound.post_json(f"https://{HOOKS}:{receiver.port}/", b"{}", {})
    assert refused.value.code == "redirect_refused"


def test_an_error_status_is_answered_not_raised(lab, receiver):
    receiver.answer = answer_with(503, body=b"busy")
    assert outbound.post_json(f"https://{HOOKS}:{receiver.port}/", b"{}", {}) == 503


def test_a_certificate_from_an_unknown_ca_fails_tls(lab, receiver, settings):
    settings.WEBHOOK_CA_FILE = ""  # the system's CAs only: the lab's CA is not among them
    with pytest.raises(outbound.OutboundError) as failed:
        outbound.post_json(f"https://{HOOKS}:{receiver.port}/", b"{}", {})
    assert failed.value.code == "tls_failed"
    assert receiver.requests == []


def test_a_certificate_for_another_name_fails_tls(lab, authority, tmp_path):
    impostor = Receiver(authority.server_context(tmp_path, ["other.lab.test"])).start()
    try:
        with pytest.raises(outbound.OutboundError) as failed:
            outbound.post_json(f"https://{HOOKS}:{impostor.port}/", b"{}", {})
    finally:
        impostor.stop()
    assert failed.value.code == "tls_failed"
    assert impostor.requests == []


def test_a_receiver_that_never_answers_times_out(lab):
    silent = SilentListener()
    try:
        started = time.monotonic()
        with pytest.raises(outbound.OutboundError) as failed:
            outbound.post_json(f"https://{HOOKS}:{silent.port}/", b"{}", {}, timeout=1)
        elapsed = time.monotonic() - started
    finally:
        silent.stop()
    assert failed.value.code == "timeout"
    assert 0.9 < elapsed < 3


def test_a_receiver_that_answers_a_byte_at_a_time_is_cut_off_at_the_deadline(lab, receiver):
    receiver.answer = drip(0.05)  # each byte well within any per-read timeout
    started = time.monotonic()
    with pytest.raises(outbound.OutboundError) as failed:
        outbound.post_json(f"https://{HOOKS}:{receiver.port}/", b"{}", {}, timeout=1)
    assert failed.value.code == "timeout"
    assert time.monotonic() - started < 3


def test_a_huge_answer_is_not_read_beyond_the_cap(lab, receiver):
    outcome = []

    def flood(_receiver, handler):
        size, chunk = 64 * 1024 * 1024, b"x" * 65536
        handler.send_response(200)
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        try:
            for _ in range(size // len(chunk)):
                handler.wfile.write(chunk)
            outcome.append("all sent")
        except OSError:
            outcome.append("cut off")

    receiver.answer = flood
    assert outbound.post_json(f"https://{HOOKS}:{receiver.port}/", b"{}", {}) == 200
    deadline = time.monotonic() + 5
    while not outcome and time.monotonic() < deadline:
        time.sleep(0.01)
    assert outcome == ["cut off"]


def test_nothing_listening_fails_as_connection_failed(lab, receiver):
    port = receiver.port
    receiver.stop()
    with pytest.raises(outbound.OutboundError) as failed:
        outbound.post_json(f"https://{HOOKS}:{port}/", b"{}", {})
    assert failed.value.code == "connection_failed"
