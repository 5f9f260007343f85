"""The settings module in the modes it runs in, checked in a fresh process each time."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DATABASE_URL": "postgres://labelkeep@db.internal:5432/labelkeep",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "ALLOWED_HOSTS": "labelkeep.example.org",
    "SITE_URL": "https://labelkeep.example.org",
    "LABELKEEP_HTTPS": "true",
}
# A production process sees only its own configuration: start from a bare environment, so
# that nothing the test run (or an earlier test) put into os.environ leaks in.
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def manage(*args: str, extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: os.environ[k] for k in _KEPT if k in os.environ}
    environ = {**base, "LABELKEEP_VAR_DIR": str(tmp_path / "var"), **extra}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_check_deploy_reports_nothing_with_production_settings(tmp_path):
    extra = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(64)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", extra=extra, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "secret",
    ["too-short", "a" * 80, "django-insecure-" + secrets.token_urlsafe(50)],
    ids=["short", "one-character", "django-insecure"],
)
def test_app_refuses_to_start_with_a_weak_secret_key(tmp_path, secret):
    result = manage("check", extra={**PRODUCTION, "SECRET_KEY": secret}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is weak" in result.stderr


@pytest.mark.slow
def test_app_refuses_to_start_in_production_without_a_secret_key(tmp_path):
    result = manage("check", extra=PRODUCTION, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) is required" in result.stderr


@pytest.mark.slow
def test_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text(secrets.token_urlsafe(64))
    extra = {**PRODUCTION, "SECRET_KEY_FILE": str(key_file)}
    result = manage("check", "--deploy", "--fail-level", "WARNING", extra=extra, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_embedded_mode_generates_a_private_secret_key_once(tmp_path):
    first = manage("check", extra={}, tmp_path=tmp_path)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "var" / "secret_key"
    key = key_file.read_text()
    assert len(key) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "var").stat().st_mode & 0o777 == 0o700
    manage("check", extra={}, tmp_path=tmp_path)
    assert key_file.read_text() == key


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("ON", True), ("0", False), ("no", False)]
)
def test_env_bool_reads_common_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("LK_TEST_FLAG", value)
    assert env.env_bool("LK_TEST_FLAG") is expected


def test_env_bool_fails_loudly_on_nonsense(monkeypatch):
    monkeypatch.setenv("LK_TEST_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="LK_TEST_FLAG='maybe' is not a boolean"):
        env.env_bool("LK_TEST_FLAG")


def test_env_int_fails_loudly_on_nonsense_and_below_minimum(monkeypatch):
    monkeypatch.setenv("LK_TEST_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env.env_int("LK_TEST_INT", 1)
    monkeypatch.setenv("LK_TEST_INT", "3")
    with pytest.raises(ImproperlyConfigured, match="below the minimum of 5"):
        env.env_int("LK_TEST_INT", 10, minimum=5)


def test_a_variable_and_its_file_together_are_refused(monkeypatch, tmp_path):
    (tmp_path / "v").write_text("x")
    monkeypatch.setenv("LK_TEST_STR", "y")
    monkeypatch.setenv("LK_TEST_STR_FILE", str(tmp_path / "v"))
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env.env_str("LK_TEST_STR")


def test_env_choice_names_the_allowed_values(monkeypatch):
    monkeypatch.setenv("LK_TEST_CHOICE", "TRACE")
    with pytest.raises(ImproperlyConfigured, match="DEBUG, INFO"):
        env.env_choice("LK_TEST_CHOICE", "INFO", {"DEBUG", "INFO"})


def test_passwords_are_hashed_with_argon2_in_every_mode():
    from config import settings as configured

    assert configured.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
