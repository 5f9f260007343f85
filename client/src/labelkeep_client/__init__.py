"""labelkeep-client: pull verified, signed dataset versions from a Labelkeep server.

``Client(url, token, public_keys=[key]).pull(project_id, "3")`` yields the rows of version 3
once its signature and checksum verified; with a destination it writes the file instead.
"""

from labelkeep_client.api import Client, pull
from labelkeep_client.errors import (
    ApiError,
    ChecksumMismatch,
    ConfigurationError,
    LabelkeepError,
    ManifestMismatch,
    SignatureInvalid,
    UnsafeArchive,
    UnsupportedFormat,
    VerificationError,
    VersionNotReady,
)
from labelkeep_client.rows import Rows
from labelkeep_client.verify import verify_file, verify_manifest
from labelkeep_client.version import __version__

__all__ = [
    "ApiError",
    "ChecksumMismatch",
    "Client",
    "ConfigurationError",
    "LabelkeepError",
    "ManifestMismatch",
    "Rows",
    "SignatureInvalid",
    "UnsafeArchive",
    "UnsupportedFormat",
    "VerificationError",
    "VersionNotReady",
    "__version__",
    "pull",
    "verify_file",
    "verify_manifest",
]
