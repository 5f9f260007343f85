"""The Django secret key: validated when given, generated once into var/ when not."""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_MIN_LENGTH = 50
_MIN_UNIQUE = 5


def check_strength(key: str, *, source: str) -> str:
    # Same thresholds as Django's security.W009, enforced as an error rather than a warning.
    if len(key) < _MIN_LENGTH or len(set(key)) < _MIN_UNIQUE or key.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            f"{source} is weak: use at least {_MIN_LENGTH} random characters "
            f"(for example: python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        )
    return key


def load_or_create(path: Path) -> str:
    """Read the key at ``path``, creating it (mode 0600) on first use."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return check_strength(path.read_text().strip(), source=str(path))
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(64))
    return path.read_text().strip()
