"""Safe extraction of a folder-format archive: only files and folders, only inside the
destination, and nothing left at the destination when an archive is refused."""

import io
import tarfile

import pytest
from labelkeep_client import UnsafeArchive
from labelkeep_client.archive import extract, member_path


class Kind(bytes):
    """A member type (tarfile.SYMTYPE, ...), told apart from a file's content."""


def make_tar(path, members):
    """``members``: (name, bytes) for files, (name, Kind(type)) for other kinds."""
    with tarfile.open(path, "w") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if isinstance(content, Kind):
                info.type = bytes(content)
                info.linkname = (
                    "/etc/passwd" if content in {tarfile.SYMTYPE, tarfile.LNKTYPE} else ""
                )
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return path


def listing(root):
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def test_a_dataset_folder_is_extracted(tmp_path):
    archive = make_tar(
        tmp_path / "v1.tar",
        [
            ("./README.md", b"# Dataset card\n"),
            ("data", Kind(tarfile.DIRTYPE)),
            ("data/train-00000-of-00001.parquet", b"PAR1...PAR1"),
        ],
    )
    dest = tmp_path / "out" / "v1"
    extract(archive, dest)
    assert listing(dest) == ["README.md", "data", "data/train-00000-of-00001.parquet"]
    assert (dest / "data" / "train-00000-of-00001.parquet").read_bytes() == b"PAR1...PAR1"
    assert (dest / "README.md").stat().st_mode & 0o7777 == 0o644
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["v1"]  # no staging folder left


def test_an_existing_empty_folder_receives_the_archive(tmp_path):
    archive = make_tar(tmp_path / "v1.tar", [("a.txt", b"a")])
    dest = tmp_path / "v1"
    dest.mkdir()
    extract(archive, dest)
    assert listing(dest) == ["a.txt"]


def test_a_folder_that_is_not_empty_is_refused(tmp_path):
    archive = make_tar(tmp_path / "v1.tar", [("a.txt", b"a")])
    dest = tmp_path / "v1"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        extract(archive, dest)
    assert listing(dest) == ["mine.txt"]


@pytest.mark.parametrize(
    "members",
    [
        [("../escaped.txt", b"x")],
        [("data/../../escaped.txt", b"x")],
        [("/var/escaped.txt", b"x")],
        [("data\\..\\escaped.txt", b"x")],
        [("link", Kind(tarfile.SYMTYPE))],
        [("hard", Kind(tarfile.LNKTYPE))],
        [("fifo", Kind(tarfile.FIFOTYPE))],
        [("device", Kind(tarfile.CHRTYPE))],
        [(".", b"a file where the folder is")],
        [("a.txt", b"first"), ("a.txt", b"second")],
        [("a", b"a file"), ("a/b.txt", b"under a file")],
    ],
    ids=[
        "parent",
        "nested-parent",
        "absolute",
        "backslash",
        "symlink",
        "hardlink",
        "fifo",
        "device",
        "root-as-file",
        "duplicate",
        "file-as-folder",
    ],
)
def test_unsafe_archives_are_refused_and_leave_nothing(tmp_path, members):
    work = tmp_path / "work"
    work.mkdir()
    archive = make_tar(tmp_path / "evil.tar", [("README.md", b"first, harmless"), *members])
    with pytest.raises(UnsafeArchive):
        extract(archive, work / "dest")
    assert listing(work) == []
    assert not (tmp_path / "escaped.txt").exists()


def test_a_member_path_keeps_its_folders_and_drops_dots():
    assert str(member_path("./data/./train.parquet")) == "data/train.parquet"
    assert member_path("./").parts == ()
