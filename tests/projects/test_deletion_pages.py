"""The lab admins' encryption and deletion sections of a project's settings page, the actions
behind them and the receipt page, through the Django test client with CSRF checks on."""

import re
import uuid

import pytest

from audit.models import AuditEvent, Outcome
from projects.deletion import project_purge
from projects.models import Project
from tests.factories import password_of
from tests.projects.pages import browser, page, post
from vault import config
from vault.models import JobState, ReencryptionJob, ShredReceipt

PERSONAS = ("admin", "manager", "reviewer", "annotator", "viewer", "outsider")


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def key_versions(project: Project) -> list[int]:
    return [info.version for info in config.project_keys().versions(project.pk)]


def test_admins_see_the_encryption_and_delete_sections(lab):
    html = browser(lab.admin).get(page(lab.project, "settings")).content.decode()
    assert 'id="encryption"' in html
    assert f"pk-{lab.project.pk}-v1" in html
    assert f'action="/projects/{lab.project.pk}/key/rotate"' in html
    assert 'id="delete"' in html
    assert re.search(r'<form [^>]*action="/projects/[^"]+/delete"[^>]*data-confirm="[^"]+"', html)
    assert 'type="password"' in html
    assert 'autocomplete="current-password"' in html


def test_managers_see_neither_section(lab):
    html = browser(lab.manager).get(page(lab.project, "settings")).content.decode()
    assert 'id="encryption"' not in html
    assert 'id="delete"' not in html
    assert f"pk-{lab.project.pk}" not in html


def test_the_sections_carry_no_inline_script_style_or_event_handler(lab):
    ReencryptionJob.objects.create(project_id=lab.project.pk, target_version=1, total=4, done=1)
    html = browser(lab.admin).get(page(lab.project, "settings")).content.decode()
    assert "<progress" in html  # the job is shown, so every section is on the page
    assert "style=" not in html
    assert "<style" not in html
    assert all(" src=" in tag for tag in re.findall(r"<script[^>]*>", html))
    assert not re.search(r"\son[a-z]+=", html)


def test_an_admin_rotates_the_key_from_the_settings_page(lab):
    client = browser(lab.admin)
    response = post(client, page(lab.project, "key/rotate"))
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{lab.project.pk}/settings#encryption"
    assert key_versions(lab.project) == [1, 2]
    followed = client.get(response["Location"])
    assert any("version 2" in message for message in shown_messages(followed))
    assert AuditEvent.objects.filter(project_id=lab.project.pk, action="key.rotated").exists()


def test_an_admin_starts_reencryption_and_the_page_shows_its_progress(lab):
    client = browser(lab.admin)
    post(client, page(lab.project, "key/rotate"))
    response = post(client, page(lab.project, "key/reencrypt"))
    assert response.status_code == 302
    job = ReencryptionJob.objects.get(project_id=lab.project.pk)
    ReencryptionJob.objects.filter(pk=job.pk).update(state=JobState.RUNNING, total=8, done=2)
    html = client.get(page(lab.project, "settings")).content.decode()
    assert "Re-encryption to version 2" in html
    assert "Running" in html
    assert "2 of 8 values examined" in html
    assert '<progress max="1" value="0.250"' in html


def test_a_second_reencryption_is_refused_with_a_message(lab):
    client = browser(lab.admin)
    post(client, page(lab.project, "key/reencrypt"))
    response = post(client, page(lab.project, "key/reencrypt"))
    followed = client.get(response["Location"])
    assert any("already under way" in message for message in shown_messages(followed))
    assert ReencryptionJob.objects.filter(project_id=lab.project.pk).count() == 1


@pytest.mark.parametrize("persona", ["manager", "reviewer", "viewer", "outsider"])
@pytest.mark.parametrize("action", ["key/rotate", "key/reencrypt", "delete"])
def test_only_lab_admins_may_act_whatever_their_role(lab, persona, action):
    user = getattr(lab, persona)
    response = post(browser(user), page(lab.project, action), {"password": password_of(user)})
    assert response.status_code == 403
    assert key_versions(lab.project) == [1]
    assert not ReencryptionJob.objects.exists()
    assert not ShredReceipt.objects.exists()


def test_actions_on_a_missing_project_are_not_found_for_admins(lab):
    missing = f"/projects/{uuid.uuid4()}/"
    for action in ("key/rotate", "key/reencrypt", "delete"):
        response = post(browser(lab.admin), missing + action, {"password": "x"})
        assert response.status_code == 404


def test_actions_are_posts_with_a_csrf_token(lab):
    client = browser(lab.admin)
    assert client.get(page(lab.project, "key/rotate")).status_code == 405
    assert client.post(page(lab.project, "key/rotate")).status_code == 403  # no CSRF token
    assert key_versions(lab.project) == [1]


def test_the_settings_page_survives_an_unreachable_key_store(lab, tmp_path):
    # A file where the key store's directory should be: every read of it fails.
    (tmp_path / "keystore").rename(tmp_path / "keystore.moved")
    (tmp_path / "keystore").write_text("not a directory")
    response = browser(lab.admin).get(page(lab.project, "settings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "The key store" in html
    assert "cannot be used" in html
    assert 'id="delete"' in html


# Deleting


def test_deleting_with_the_password_shows_the_receipt(lab):
    client = browser(lab.admin)
    response = post(client, page(lab.project, "delete"), {"password": password_of(lab.admin)})
    receipt = ShredReceipt.objects.get(project_id=lab.project.pk)
    assert response.status_code == 302
    assert response["Location"] == f"/projects/deleted/{receipt.pk}"
    shown = client.get(response["Location"])
    assert shown.status_code == 200
    html = shown.content.decode()
    assert str(receipt.pk) in html
    assert str(lab.project.pk) in html
    assert f"pk-{lab.project.pk}-v1" in html
    assert "admin@lab.test" in html
    assert "Pending" in html  # the purge is queued once the request commits
    assert "projects.ProjectRole" in html
    again = client.get(response["Location"]).content.decode()  # without the flash message
    assert lab.project.name not in again  # the receipt keeps ids and counts, not the name


def test_a_wrong_password_is_refused_with_a_message_and_deletes_nothing(lab):
    client = browser(lab.admin)
    response = post(client, page(lab.project, "delete"), {"password": "not my password"})
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{lab.project.pk}/settings#delete"
    followed = client.get(response["Location"])
    assert shown_messages(followed) == ["The password is not correct."]
    denied = AuditEvent.objects.get(project_id=lab.project.pk, action="project.deleted")
    assert denied.outcome == Outcome.DENIED
    assert not ShredReceipt.objects.exists()
    assert key_versions(lab.project) == [1]


def test_an_empty_password_is_asked_for_again(lab):
    client = browser(lab.admin)
    response = post(client, page(lab.project, "delete"), {"password": ""})
    followed = client.get(response["Location"])
    assert shown_messages(followed) == ["Enter your password to delete the project."]
    assert not AuditEvent.objects.filter(action="project.deleted").exists()


def test_repeated_wrong_passwords_lock_the_deletion_out(lab, settings):
    settings.LABELKEEP_LOGIN_MAX_FAILURES = 2
    client = browser(lab.admin)
    for guess in ("one", "two"):
        post(client, page(lab.project, "delete"), {"password": guess})
    response = post(client, page(lab.project, "delete"), {"password": password_of(lab.admin)})
    followed = client.get(response["Location"])
    assert any("Too many wrong passwords" in message for message in shown_messages(followed))
    assert not ShredReceipt.objects.exists()


def test_after_deletion_every_persona_gets_404_and_no_list_shows_it(lab):
    post(browser(lab.admin), page(lab.project, "delete"), {"password": password_of(lab.admin)})
    assert Project.objects.filter(pk=lab.project.pk).exists()  # not purged yet
    for persona in PERSONAS:
        client = browser(getattr(lab, persona))
        for name in ("", "settings", "members"):
            assert client.get(page(lab.project, name)).status_code == 404, (persona, name)
        for listing in ("/projects/", "/projects/?archived=true"):
            assert str(lab.project.pk) not in client.get(listing).content.decode(), persona
    response = post(browser(lab.admin), page(lab.project, "key/rotate"))
    assert response.status_code == 404


def test_the_receipt_page_is_for_lab_admins_only(lab):
    post(browser(lab.admin), page(lab.project, "delete"), {"password": password_of(lab.admin)})
    receipt = ShredReceipt.objects.get(project_id=lab.project.pk)
    url = f"/projects/deleted/{receipt.pk}"
    for persona in ("manager", "outsider"):
        assert browser(getattr(lab, persona)).get(url).status_code == 403
    assert browser(lab.admin).get(f"/projects/deleted/{uuid.uuid4()}").status_code == 404
    assert browser().get(url).status_code == 302  # to sign in


def test_the_receipt_shows_what_the_purge_removed_once_it_has_run(lab):
    post(browser(lab.admin), page(lab.project, "delete"), {"password": password_of(lab.admin)})
    receipt = project_purge(receipt_id=ShredReceipt.objects.get(project_id=lab.project.pk).pk)
    html = browser(lab.admin).get(f"/projects/deleted/{receipt.pk}").content.decode()
    assert "Purged" in html
    assert '<td>projects.Project</td><td class="num">—</td><td class="num">1</td>' in html
    assert '<td>files</td><td class="num">0</td><td class="num">0</td>' in html
