import pytest

from vault import signing


@pytest.fixture(autouse=True)
def audit_key(settings, tmp_path):
    """A fresh checkpoint key per test, in a file like production's."""
    path = tmp_path / "audit-signing.pem"
    path.write_bytes(signing.new_private_key_pem())
    path.chmod(0o600)
    settings.AUDIT_SIGNING_KEY_FILE = str(path)
    settings.AUDIT_TRUSTED_PUBLIC_KEYS = []
    return signing.signing_key()
