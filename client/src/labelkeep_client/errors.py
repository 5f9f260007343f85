"""What the client raises. Callers branch on the class; the CLI maps each family to an exit code."""

from typing import Any


class LabelkeepError(Exception):
    """Everything the client raises on purpose."""


class ConfigurationError(LabelkeepError, ValueError):
    """The caller's settings are unusable: no server URL or token, a malformed public key."""


class ApiError(LabelkeepError):
    """The server answered with an error (or could not be reached: ``status`` is then None)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message
        self.status = status
        self.details = details or {}


class VersionNotReady(LabelkeepError):
    """The version is still being built, or its build failed: there is no file to pull yet."""

    def __init__(self, version: dict[str, Any]) -> None:
        self.version = version
        self.state = str(version.get("state"))
        self.progress = version.get("progress")
        text = f"Version {version.get('number', '?')} is {self.state}, not succeeded"
        reason = version.get("error_message") or version.get("error")
        if reason:
            text += f": {reason}"
        super().__init__(text + ".")


class VerificationError(LabelkeepError):
    """The data could not be proved to be what the installation signed."""


class SignatureInvalid(VerificationError):
    """The manifest's signature does not verify against any trusted key."""


class ManifestMismatch(VerificationError):
    """A validly signed manifest that describes something else than was asked for (a replay)."""


class ChecksumMismatch(VerificationError):
    """The file's size or SHA-256 differs from the signed manifest's."""


class UnsafeArchive(VerificationError):
    """An archive member would land outside the destination folder, or is a link or a device."""


class UnsupportedFormat(LabelkeepError, ValueError):
    """The version's file is not row-shaped (JSONL or CSV): pull it to a destination instead."""
