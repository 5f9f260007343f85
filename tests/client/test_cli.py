"""``labelkeep`` run as a pipeline runs it, against the live server: settings from the
environment, a pinned key, the progress display, the summary and the exit codes."""

import hashlib
import json
import re

import pytest

from tests.client.cli import run
from tests.client.server import create_version, serve
from tests.client.signing import make_key
from tests.conftest import make_project
from vault import signing

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def served(live_server, admin):
    return serve(live_server.url, admin)


@pytest.fixture
def out(tmp_path):
    """A folder of the test's own (tmp_path also holds the vault's keys and blobs)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def environment(served, key=None):
    return {
        "LABELKEEP_URL": served.url,
        "LABELKEEP_TOKEN": served.token,
        "LABELKEEP_PUBLIC_KEY": key or signing.signing_key().public_b64,
    }


def test_quiet_pull_writes_the_verified_file_and_prints_nothing(served, out):
    version = create_version(served.token, served.project, format="jsonl")
    dest = out / "sentiment.jsonl"
    project = str(served.project.pk)
    done = run("pull", project, "1", "-o", str(dest), "--quiet", env=environment(served))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == version["sha256"]


def test_pull_shows_progress_and_a_summary_and_saves_the_manifest(served, out):
    version = create_version(served.token, served.project, format="jsonl", name="nightly")
    dest = out / "sentiment.jsonl"
    saved = out / "sentiment.manifest.json"
    done = run(
        "pull",
        str(served.project.pk),
        "nightly",
        "-o",
        str(dest),
        "--save-manifest",
        str(saved),
        env=environment(served),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    size = f"{version['size'] / 1024:.1f} KiB"
    assert re.fullmatch(rf"download 100%  {size} / {size}  [0-9.]+ [KMG]?i?B/s", lines[-3])
    assert lines[-2] == (
        f"Verified version 1 (nightly) of Sentiment: 12 rows, sha256 {version['sha256']}"
    )
    assert lines[-1] == f"  -> {dest}"
    assert json.loads(saved.read_text())["key_id"] == signing.signing_key().key_id
    # What was saved verifies the file again, offline.
    offline = run(
        "verify",
        str(dest),
        "--manifest",
        str(saved),
        "--public-key",
        signing.signing_key().public_b64,
    )
    assert offline.returncode == 0, offline.stderr


def test_pull_without_an_output_writes_the_files_name_in_the_current_folder(served, out):
    version = create_version(served.token, served.project, format="jsonl")
    done = run("pull", str(served.project.pk), "1", "-q", env=environment(served), cwd=out)
    assert done.returncode == 0, done.stderr
    assert [path.name for path in out.iterdir()] == [version["file_name"]]


def test_failures_exit_with_their_codes_and_write_nothing(served, admin, out):
    create_version(served.token, served.project, format="jsonl")
    dest = str(out / "sentiment.jsonl")
    project = str(served.project.pk)
    untrusted = environment(served, make_key().public_b64)
    refused = run("pull", project, "1", "-o", dest, env=untrusted)
    assert refused.returncode == 1
    assert "not among the trusted keys" in refused.stderr
    other = str(make_project(admin, name="Other lab project").pk)
    foreign = run("pull", other, "1", "-o", dest, env=environment(served))
    assert foreign.returncode == 3
    assert foreign.stderr == "labelkeep: Project not found. (project_not_found)\n"
    missing = run("pull", project, "9", "-o", dest, env=environment(served))
    assert missing.returncode == 3
    assert "(version_not_found)" in missing.stderr
    assert list(out.iterdir()) == []


def test_versions_lists_the_projects_versions(served):
    first = create_version(served.token, served.project, format="jsonl")
    second = create_version(served.token, served.project, format="csv", name="sheet")
    done = run("versions", str(served.project.pk), env=environment(served))
    assert done.returncode == 0, done.stderr
    header, *rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert header == ["number", "state", "format", "row_count", "size", "created_at", "id", "name"]
    assert [(row[0], row[1], row[2], row[6], row[7]) for row in rows] == [
        ("2", "succeeded", "csv", second["id"], "sheet"),
        ("1", "succeeded", "jsonl", first["id"], "v1"),
    ]
