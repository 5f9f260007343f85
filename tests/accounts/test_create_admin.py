import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from audit.models import AuditEvent
from tests.factories import make_user, strong_password


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("create_admin", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_admin_prints_a_generated_password_once_and_it_works():
    output = _run("--email", "Ops@Lab.example")
    password = output.split("store it safely): ")[1].strip()
    assert len(password) >= 20
    user = User.objects.get(email="ops@lab.example")
    assert user.is_staff
    assert user.is_active
    assert user.check_password(password)
    event = AuditEvent.objects.get(action="user.created")
    assert event.auth_method == "create_admin"
    assert event.details == {"is_admin": True}
    assert password not in str(event.details)


@pytest.mark.django_db
def test_create_admin_reads_the_password_from_a_file(tmp_path):
    password = strong_password()
    secret = tmp_path / "password"
    secret.write_text(password + "\n")
    output = _run("--email", "ops@lab.example", "--password-file", str(secret))
    assert password not in output
    assert User.objects.get(email="ops@lab.example").check_password(password)


@pytest.mark.django_db
def test_create_admin_refuses_a_weak_password_file(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("password")
    with pytest.raises(CommandError, match="too short"):
        _run("--email", "ops@lab.example", "--password-file", str(secret))
    assert not User.objects.exists()


@pytest.mark.django_db
def test_create_admin_refuses_a_missing_password_file(tmp_path):
    with pytest.raises(CommandError, match="cannot be read"):
        _run("--email", "ops@lab.example", "--password-file", str(tmp_path / "absent"))


@pytest.mark.django_db
def test_create_admin_refuses_a_taken_email_or_a_bad_one():
    make_user(email="ops@lab.example")
    with pytest.raises(CommandError, match="already exists"):
        _run("--email", "OPS@lab.example")
    with pytest.raises(CommandError, match="valid email"):
        _run("--email", "not-an-email")
    assert User.objects.count() == 1
