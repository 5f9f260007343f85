"""The client: find a version, verify its signed manifest, download and check its file.

Trust comes from the public keys the caller pins (``public_keys=``, or ``LABELKEEP_PUBLIC_KEY``):
with them, verification needs nothing from the server and proves the data is what the
installation signed even if the server or the network in between is not to be trusted. Only when
no key is pinned does the client fetch the server's published keys, which then protects against
damaged or swapped files in storage and in transit, but not against a compromised server.
"""

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, overload

from labelkeep_client import archive
from labelkeep_client.download import Progress, download
from labelkeep_client.errors import (
    ConfigurationError,
    ManifestMismatch,
    VersionNotReady,
)
from labelkeep_client.keys import KeySource, from_base64, key_id_of, trusted_keys
from labelkeep_client.rows import Rows, check_rows
from labelkeep_client.transport import Transport, quote
from labelkeep_client.verify import ALGORITHM, verify_manifest

DEFAULT_TIMEOUT = 60.0
READY = "succeeded"


class Client:
    """One Labelkeep server, one token, and the keys whose signatures the client accepts."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        public_keys: Iterable[KeySource] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """``base_url`` and ``token`` default to ``LABELKEEP_URL`` and ``LABELKEEP_TOKEN``;
        ``public_keys`` (base64, PEM text, PEM files) to ``LABELKEEP_PUBLIC_KEY`` (comma
        separated). With no key pinned, the server's published keys are fetched and trusted."""
        base_url = base_url or os.environ.get("LABELKEEP_URL")
        token = token or os.environ.get("LABELKEEP_TOKEN")
        if not base_url:
            raise ConfigurationError("No server URL: pass base_url or set LABELKEEP_URL.")
        if not token:
            raise ConfigurationError("No API token: pass token or set LABELKEEP_TOKEN.")
        if public_keys is None:
            public_keys = _keys_from_environment()
        self.pinned_keys = trusted_keys(public_keys)
        self._transport = Transport(base_url, token, timeout=timeout)
        self._fetched_keys: dict[str, bytes] | None = None

    # Reads of the API.

    def signing_keys(self) -> list[dict[str, Any]]:
        """The server's published signing keys, as it lists them."""
        keys: list[dict[str, Any]] = self._transport.get_json("/signing-keys")["keys"]
        return keys

    def trusted_keys(self) -> dict[str, bytes]:
        """Key id -> raw public key: the pinned keys, else the server's published ones."""
        if self.pinned_keys:
            return self.pinned_keys
        if self._fetched_keys is None:
            # Ids are computed here from the keys themselves, not taken from the listing.
            self._fetched_keys = {}
            for key in self.signing_keys():
                if key.get("algorithm") == ALGORITHM:
                    raw = from_base64(str(key["public_key"]))
                    self._fetched_keys[key_id_of(raw)] = raw
        return self._fetched_keys

    def versions(self, project: str, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every version of the project, newest first, following the pages."""
        link: str | None = f"/projects/{quote(project)}/versions/?page_size={int(page_size)}"
        while link:
            page = self._transport.get_json(link)
            yield from page["results"]
            link = page.get("next")

    def version(self, project: str, version: str | int) -> dict[str, Any]:
        """A version by its id, its number or its name (the server resolves all three)."""
        found: dict[str, Any] = self._transport.get_json(_version_path(project, str(version)))
        return found

    def manifest_document(self, project: str, version_id: str) -> dict[str, Any]:
        """The signed manifest document, unverified: keep it to verify the file again later."""
        document: dict[str, Any] = self._transport.get_json(
            f"{_version_path(project, version_id)}/manifest"
        )
        return document

    def manifest(self, project: str, version: str | int) -> dict[str, Any]:
        """The version's manifest, once its signature verified and it names this version."""
        return self._verified(project, self._ready(project, version))[1]

    # Pulling data.

    @overload
    def pull(
        self,
        project: str,
        version: str | int,
        dest: None = None,
        *,
        progress: Progress | None = None,
    ) -> Rows: ...

    @overload
    def pull(
        self,
        project: str,
        version: str | int,
        dest: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
    ) -> dict[str, Any]: ...

    def pull(
        self,
        project: str,
        version: str | int,
        dest: str | os.PathLike[str] | None = None,
        *,
        progress: Progress | None = None,
    ) -> Rows | dict[str, Any]:
        """With ``dest``: write the verified file there (an archive is extracted into the
        folder ``dest``) and return the manifest. Without: the verified file's rows (JSONL or
        CSV). Verification failures raise before any data is written to ``dest`` or returned."""
        if dest is None:
            return self.rows(project, version, progress=progress)
        return self.pull_to(project, version, Path(dest), progress=progress)[0]

    def rows(self, project: str, version: str | int, *, progress: Progress | None = None) -> Rows:
        """The rows of a verified JSONL or CSV version, from a temporary file."""
        found = self._ready(project, version)
        manifest = self._verified(project, found)[1]
        check_rows(manifest)
        workdir = Path(tempfile.mkdtemp(prefix="labelkeep-"))
        try:
            path = workdir / file_name(manifest)
            self._fetch(project, manifest, path, progress)
            return Rows(path, manifest, workdir=workdir)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise

    def pull_to(
        self,
        project: str,
        version: str | int,
        dest: Path,
        *,
        progress: Progress | None = None,
    ) -> tuple[dict[str, Any], Path, dict[str, Any]]:
        """The manifest, where its data now is, and the signed document (see ``pull``)."""
        document, manifest = self._verified(project, self._ready(project, version))
        if is_archive(manifest):
            archive.check_destination(dest)
            part = dest.with_name(dest.name + ".part")
            self._download(project, manifest, part, progress)
            try:
                archive.extract(part, dest)
            finally:
                part.unlink(missing_ok=True)
            return manifest, dest, document
        target = dest / file_name(manifest) if dest.is_dir() else dest
        self._fetch(project, manifest, target, progress)
        return manifest, target, document

    # Steps.

    def _ready(self, project: str, version: str | int) -> dict[str, Any]:
        found = self.version(project, version)
        if found.get("state") != READY:
            raise VersionNotReady(found)
        return found

    def _verified(
        self, project: str, version: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        document = self.manifest_document(project, str(version["id"]))
        manifest = verify_manifest(document, self.trusted_keys())
        _check_names(manifest, project=project, version_id=str(version["id"]))
        return document, manifest

    def _fetch(
        self,
        project: str,
        manifest: dict[str, Any],
        target: Path,
        progress: Progress | None,
    ) -> None:
        """Download into ``<target>.part``, verify, and only then rename it to ``target``."""
        part = target.with_name(target.name + ".part")
        self._download(project, manifest, part, progress)
        os.replace(part, target)

    def _download(
        self, project: str, manifest: dict[str, Any], part: Path, progress: Progress | None
    ) -> None:
        version_id = str(manifest["version"]["id"])
        path = f"{_version_path(project, version_id)}/download"
        part.parent.mkdir(parents=True, exist_ok=True)
        download(self._transport, path, part, manifest, progress)


def pull(
    project: str,
    version: str | int,
    dest: str | os.PathLike[str] | None = None,
    **client: Any,
) -> Rows | dict[str, Any]:
    """``Client(**client).pull(project, version, dest)``: settings from the environment."""
    return Client(**client).pull(project, version, dest)


def is_archive(manifest: dict[str, Any]) -> bool:
    file = manifest["file"]
    media = str(file.get("media_type", "")).lower()
    return str(file["name"]).lower().endswith(archive.ARCHIVE_SUFFIXES) or media in {
        "application/x-tar",
        "application/gzip",
    }


def file_name(manifest: dict[str, Any]) -> str:
    """The manifest's file name, reduced to a plain name that cannot leave a folder."""
    name = PurePosixPath(str(manifest["file"]["name"]).replace("\\", "/")).name
    if name in {"", ".", ".."} or name.startswith("."):
        raise ManifestMismatch(f"The manifest's file name {manifest['file']['name']!r} is unsafe.")
    return name


def default_destination(manifest: dict[str, Any]) -> Path:
    """Where the CLI writes without -o: the file's name (an archive's, less its suffix)."""
    name = file_name(manifest)
    if is_archive(manifest):
        for suffix in archive.ARCHIVE_SUFFIXES:
            name = name.removesuffix(suffix)
    return Path(name)


def _check_names(manifest: dict[str, Any], *, project: str, version_id: str) -> None:
    # A valid signature proves the installation made this manifest, not that it is the one
    # asked for: a server could answer with another version's (an older, smaller dataset).
    named_project = str((manifest.get("project") or {}).get("id", ""))
    named_version = str((manifest.get("version") or {}).get("id", ""))
    if named_project.lower() != project.lower() or named_version.lower() != version_id.lower():
        raise ManifestMismatch(
            f"The signed manifest describes version {named_version} of project "
            f"{named_project}, not version {version_id} of project {project}."
        )


def _keys_from_environment() -> list[KeySource]:
    text = os.environ.get("LABELKEEP_PUBLIC_KEY", "")
    return [part.strip() for part in text.split(",") if part.strip()]


def _version_path(project: str, version_id: str) -> str:
    return f"/projects/{quote(project)}/versions/{quote(version_id)}"
