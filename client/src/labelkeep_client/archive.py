"""Safe extraction of a verified tar (the Hugging Face folder format) into a destination folder.

Only regular files and folders are extracted, each strictly inside the destination: absolute
names, ``..`` components, links, devices and fifos are refused (UnsafeArchive), and nothing of
the archive's owners or permission bits is applied. The archive is unpacked into a hidden
sibling folder first and renamed into place at the end, so that a refused or broken archive
leaves nothing at the destination.
"""

import os
import secrets
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from labelkeep_client.errors import UnsafeArchive

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def check_destination(dest: Path) -> None:
    """A folder may receive an archive when it does not exist yet or is empty."""
    if dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):
        raise FileExistsError(f"{dest} exists and is not an empty folder.")


def extract(archive: Path, dest: Path) -> None:
    check_destination(dest)
    staging = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.extracting")
    staging.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                _extract_member(tar, member, staging)
        if dest.exists():
            dest.rmdir()
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def member_path(name: str) -> PurePosixPath:
    """The member's path relative to the destination; UnsafeArchive if it would leave it."""
    path = PurePosixPath(name)
    if path.is_absolute() or "\\" in name or "\x00" in name:
        raise UnsafeArchive(f"Archive member {name!r} has an absolute or unusual path.")
    parts = [part for part in path.parts if part != "."]
    if ".." in parts:
        raise UnsafeArchive(f"Archive member {name!r} climbs out of the destination.")
    return PurePosixPath(*parts) if parts else PurePosixPath()


def _extract_member(tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path) -> None:
    relative = member_path(member.name)
    if not relative.parts and not member.isdir():
        raise UnsafeArchive(f"Archive member {member.name!r} names the destination itself.")
    target = root.joinpath(*relative.parts)
    try:
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
        elif member.isreg():
            _write_file(tar, member, target)
        else:
            raise UnsafeArchive(f"Archive member {member.name!r} is a link or a special file.")
    except (FileExistsError, NotADirectoryError) as exc:
        raise UnsafeArchive(f"Archive member {member.name!r} collides with another.") from exc


def _write_file(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:
        raise UnsafeArchive(f"Archive member {member.name!r} has no content.")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with source, os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
