"""API throttles: a fixed window per client, answered with 429 and Retry-After."""

import pytest

from core.throttles import AnonThrottle, UserThrottle
from tests.conftest import client_for
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(monkeypatch):
    monkeypatch.setattr(UserThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "2/min"})
    monkeypatch.setattr(AnonThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "2/min"})


def test_a_user_past_the_rate_gets_429_with_retry_after_and_others_do_not(low_rates):
    busy, other = client_for(make_user()), client_for(make_user())
    statuses = [busy.get("/api/v1/me").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = busy.get("/api/v1/me")
    assert refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert other.get("/api/v1/me").status_code == 200


def test_anonymous_callers_are_counted_by_address(low_rates, api):
    url = "/api/v1/invitations/no-such-invitation/accept"
    statuses = [api.post(url, {}, format="json").status_code for _ in range(3)]
    assert statuses[:2] != [429, 429]
    assert statuses[2] == 429
