import itertools
import secrets
from typing import Any

from accounts.models import User

_sequence = itertools.count(1)


def strong_password() -> str:
    return secrets.token_urlsafe(16)


# Each test user's plaintext password, so tests can sign in through the real forms.
_passwords: dict[str, str] = {}


def make_user(email: str | None = None, **fields: Any) -> User:
    """A user with a random password, readable afterwards with ``password_of(user)``."""
    password = fields.pop("password", None) or strong_password()
    user = User.objects.create_user(
        email or f"person{next(_sequence)}@lab.test", password, **fields
    )
    _passwords[user.email] = password
    return user


def password_of(user: User) -> str:
    return _passwords[user.email]


CLASSIFICATION_SCHEMA: dict[str, Any] = {
    "labels": [
        {"name": "Positive", "hotkey": "1"},
        {"name": "Negative", "hotkey": "2"},
        {"name": "Neutral", "hotkey": "3"},
    ]
}
