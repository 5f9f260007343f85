"""Headers and the error shape that every response carries."""

import pytest
from django.http import HttpResponse

pytestmark = pytest.mark.django_db


def test_every_response_carries_the_security_headers(client):
    response = client.get("/api/v1/schema/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_hsts_is_sent_over_https_in_production(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = client.get("/api/v1/schema/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_each_response_gets_a_request_id_and_keeps_a_well_formed_incoming_one(client):
    generated = client.get("/api/v1/schema/")["X-Request-ID"]
    assert len(generated) == 32
    kept = client.get("/api/v1/schema/", HTTP_X_REQUEST_ID="trace-1234abcd")
    assert kept["X-Request-ID"] == "trace-1234abcd"


def test_a_malformed_incoming_request_id_is_replaced(client):
    response = client.get("/api/v1/schema/", HTTP_X_REQUEST_ID="bad id\r\nSet-Cookie: x=1")
    assert response["X-Request-ID"] != "bad id\r\nSet-Cookie: x=1"
    assert len(response["X-Request-ID"]) == 32


def test_unknown_api_path_answers_in_the_one_error_shape(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404


def test_api_responses_are_not_cached(client):
    assert client.get("/api/v1/schema/")["Cache-Control"] == "no-store"


def test_client_address_comes_from_the_proxy_header_only_behind_a_proxy(rf, settings):
    from core.middleware import ProxyClientAddressMiddleware

    seen = []

    def view(request):
        seen.append(request.META["REMOTE_ADDR"])
        return HttpResponse()

    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7", REMOTE_ADDR="10.0.0.2")
    settings.LABELKEEP_BEHIND_PROXY = False
    ProxyClientAddressMiddleware(view)(request)
    settings.LABELKEEP_BEHIND_PROXY = True
    ProxyClientAddressMiddleware(view)(rf.get("/", HTTP_X_FORWARDED_FOR="x, 198.51.100.7"))
    ProxyClientAddressMiddleware(view)(rf.get("/", HTTP_X_FORWARDED_FOR="not-an-ip"))
    assert seen == ["10.0.0.2", "198.51.100.7", "127.0.0.1"]


def test_health_endpoint_reports_database_and_cache_without_authentication(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "cache": True}}
    assert "no-cache" in response["Cache-Control"]
