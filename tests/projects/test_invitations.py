import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from audit.services import Actor
from core.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from projects import invitations, permissions, services
from projects.models import Invitation, Role
from tests.conftest import client_for, make_project
from tests.factories import make_user, strong_password


def invite(lab, email="new@lab.test", role=Role.ANNOTATOR, project="project", by=None):
    target = getattr(lab, project) if project else None
    return invitations.invitation_create(
        actor=Actor.system(user=by or lab.manager),
        email=email,
        project=target,
        role=role if target else None,
    )


def accept_url(token: str) -> str:
    return f"/api/v1/invitations/{token}/accept"


def test_only_the_hash_of_the_token_is_stored(lab):
    invitation, token = invite(lab)
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert len(token) >= 43  # 256 bits, url-safe
    stored = Invitation.objects.filter(pk=invitation.pk).values_list()[0]
    assert token not in str(stored)


def test_the_invitation_email_carries_the_link_and_the_audit_event_does_not(
    lab, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _invitation, token = invite(lab, email="Ada@Lab.test")
    (message,) = mailoutbox
    assert message.to == ["ada@lab.test"]
    assert f"/invitations/{token}/" in message.body
    assert "Sentiment" in message.body
    event = AuditEvent.objects.get(action="invitation.created")
    assert token not in str(event.details)
    assert event.details == {"role": "annotator", "email": "ada@lab.test"}


def test_a_new_person_accepts_anonymously_and_joins_with_the_role(lab, api):
    _invitation, token = invite(lab, role=Role.REVIEWER)
    password = strong_password()
    response = api.post(
        accept_url(token), {"password": password, "full_name": "Ada"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["project"] == str(lab.project.pk)
    assert body["role"] == "reviewer"
    user = User.objects.get(email="new@lab.test")
    assert user.check_password(password)
    assert user.full_name == "Ada"
    assert permissions.role_of(user, lab.project) == Role.REVIEWER
    actions = set(AuditEvent.objects.filter(actor_id=user.pk).values_list("action", flat=True))
    assert actions == {"invitation.accepted", "member.added"}


def test_an_invitation_works_only_once(lab, api):
    _invitation, token = invite(lab)
    first = api.post(accept_url(token), {"password": strong_password()}, format="json")
    assert first.status_code == 201
    again = api.post(accept_url(token), {"password": strong_password()}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invitation_used"


def test_an_expired_invitation_is_refused_and_changes_nothing(lab, api):
    invitation, token = invite(lab)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = api.post(accept_url(token), {"password": strong_password()}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invitation_expired"
    assert not User.objects.filter(email="new@lab.test").exists()


def test_a_revoked_invitation_is_refused(lab, api):
    invitation, token = invite(lab)
    invitations.invitation_revoke(actor=Actor.system(user=lab.manager), invitation=invitation)
    response = api.post(accept_url(token), {"password": strong_password()}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invitation_revoked"
    assert not User.objects.filter(email="new@lab.test").exists()


def test_an_unknown_token_is_not_found(db, api):
    response = api.post(accept_url("not-a-real-token"), {"password": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "invitation_not_found"


def test_a_weak_password_names_the_field_and_keeps_the_invitation_usable(lab, api):
    _invitation, token = invite(lab)
    weak = api.post(accept_url(token), {"password": "password"}, format="json")
    assert weak.status_code == 400
    assert weak.json()["error"]["details"]["field"] == "password"
    missing = api.post(accept_url(token), {}, format="json")
    assert missing.json()["error"]["details"]["field"] == "password"
    good = api.post(accept_url(token), {"password": strong_password()}, format="json")
    assert good.status_code == 201


def test_an_existing_account_must_sign_in_as_the_invited_email(lab, api):
    person = make_user(email="known@lab.test")
    _invitation, token = invite(lab, email="known@lab.test")
    anonymous = api.post(accept_url(token), {"password": strong_password()}, format="json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "sign_in_required"
    wrong = client_for(lab.viewer).post(accept_url(token), {}, format="json")
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "wrong_account"
    right = client_for(person).post(accept_url(token), {}, format="json")
    assert right.status_code == 201
    assert permissions.role_of(person, lab.project) == Role.ANNOTATOR


def test_nobody_invites_above_their_own_role(lab):
    services.member_change_role(
        actor=Actor.system(user=lab.admin),
        project=lab.project,
        user=lab.reviewer,
        role=Role.REVIEWER,
    )
    with pytest.raises(PermissionDenied) as refused:
        invite(lab, role=Role.MANAGER, by=lab.reviewer)
    assert refused.value.code == "role_above_own"
    assert not Invitation.objects.exists()


def test_an_invitation_dies_when_its_inviter_loses_the_right_to_grant(lab, api):
    _invitation, token = invite(lab, role=Role.MANAGER)
    services.member_change_role(
        actor=Actor.system(user=lab.admin), project=lab.project, user=lab.manager, role=Role.VIEWER
    )
    response = api.post(accept_url(token), {"password": strong_password()}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invitation_revoked"


def test_inviting_a_member_or_someone_already_invited_is_a_conflict(lab):
    with pytest.raises(Conflict) as member:
        invite(lab, email="viewer@lab.test")
    assert member.value.code == "already_member"
    invite(lab, email="twice@lab.test")
    with pytest.raises(Conflict) as twice:
        invite(lab, email="twice@lab.test")
    assert twice.value.code == "already_invited"
    assert twice.value.details == {"field": "email"}


def test_lab_invitations_are_for_admins_and_for_people_without_an_account(lab):
    with pytest.raises(PermissionDenied):
        invite(lab, project=None, by=lab.manager)
    with pytest.raises(Conflict) as exists:
        invite(lab, email="viewer@lab.test", project=None, by=lab.admin)
    assert exists.value.code == "account_exists"
    _invitation, token = invite(lab, email="solo@lab.test", project=None, by=lab.admin)
    user, accepted = invitations.invitation_accept(
        actor=Actor.system(), token=token, password=strong_password()
    )
    assert accepted.project is None
    assert list(permissions.visible_projects(user)) == []


def test_revoking_twice_is_a_conflict(lab):
    invitation, _token = invite(lab)
    invitations.invitation_revoke(actor=Actor.system(user=lab.manager), invitation=invitation)
    with pytest.raises(Conflict):
        invitations.invitation_revoke(actor=Actor.system(user=lab.manager), invitation=invitation)


def test_a_stale_copy_cannot_claim_an_invitation_already_accepted(lab):
    invitation, token = invite(lab)
    stale = Invitation.objects.get(pk=invitation.pk)
    invitations.invitation_accept(actor=Actor.system(), token=token, password=strong_password())
    # The guarded update matches no row even for a caller that read the invitation as open.
    with pytest.raises(Conflict) as used:
        invitations._claim(stale, timezone.now())
    assert used.value.code == "invitation_used"


def test_missing_token_and_closed_invitation_raise_distinct_errors(lab):
    with pytest.raises(NotFound):
        invitations.invitation_accept(actor=Actor.system(), token="nope", password="x")
    make_user(email="taken@lab.test")
    _invitation, token = invite(lab, email="taken@lab.test")
    with pytest.raises(NotAuthenticated):
        invitations.invitation_accept(actor=Actor.system(), token=token, password=strong_password())
    with pytest.raises(ValidationFailed):
        invitations.invitation_accept(
            actor=Actor.system(user=User.objects.get(email="taken@lab.test")),
            token=token,
            password="not wanted",
        )


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite in memory serializes by failing concurrent writers, not by waiting",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_accepts_cannot_both_succeed(admin):
    project = make_project(admin, name="Race")
    _invitation, token = invitations.invitation_create(
        actor=Actor.system(user=admin), email="race@lab.test", project=project, role=Role.VIEWER
    )
    start, outcomes = threading.Barrier(2), []

    def accept() -> None:
        start.wait()
        try:
            invitations.invitation_accept(
                actor=Actor.system(), token=token, password=strong_password()
            )
            outcomes.append("accepted")
        except (Conflict, NotAuthenticated) as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The loser is told the link is used, or (if it started after the winner committed the
    # new account) that the account exists; never a second account or a crash.
    assert len(outcomes) == 2
    assert outcomes.count("accepted") == 1
    assert set(outcomes) - {"accepted"} <= {"invitation_used", "sign_in_required"}
    assert User.objects.filter(email="race@lab.test").count() == 1
    assert AuditEvent.objects.filter(action="invitation.accepted").count() == 1


def test_a_refused_accept_never_writes_the_live_token_to_the_log(lab, api, caplog):
    _invitation, token = invite(lab)
    with caplog.at_level("INFO"):
        refused = api.post(accept_url(token), {"password": "password"}, format="json")
        page = Client().post(f"/invitations/{token}/", {"password": "x", "password_again": "y"})
    assert (refused.status_code, page.status_code) == (400, 400)
    assert token not in caplog.text
    assert "invitation link (path withheld)" in caplog.text
