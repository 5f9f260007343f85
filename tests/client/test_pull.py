"""The client against the real server (live_server): a pipeline with an export-scoped token
creates a version, pulls it verified, and is stopped by every kind of tampering."""

import base64
import hashlib
from collections import Counter

import pytest
from labelkeep_client import (
    ApiError,
    ChecksumMismatch,
    Client,
    ManifestMismatch,
    SignatureInvalid,
    UnsupportedFormat,
    VersionNotReady,
    verify_file,
    verify_manifest,
)
from labelkeep_client.api import _check_names

from audit.models import AuditEvent
from datasets.models import DatasetVersion
from tests.client.server import create_version, get_range, serve
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


@pytest.fixture
def installation_key():
    """The installation's public key, as an administrator hands it to a pipeline to pin."""
    return signing.signing_key().public_b64


def client_for(served, key=None, **kwargs):
    keys = [key] if key else []
    return Client(served.url, served.token, public_keys=keys, **kwargs)


def labels_by_task(rows):
    found: dict[str, list[list[str]]] = {}
    for row in rows:
        found.setdefault(row["task_id"], []).append(row["result"]["labels"])
    return {task: sorted(labels) for task, labels in found.items()}


def test_pulled_rows_are_the_annotations(served, installation_key):
    version = create_version(served.token, served.project, format="jsonl")
    with client_for(served, installation_key).pull(
        str(served.project.pk), version["number"]
    ) as rows:
        pulled = list(rows)
        assert rows.manifest["file"]["rows"] == len(pulled) == 12
    assert labels_by_task(pulled) == served.answers
    assert len({row["annotator"] for row in pulled}) == 2
    assert all("@" not in row["annotator"] for row in pulled)


def test_csv_rows_are_the_annotations(served, installation_key):
    version = create_version(served.token, served.project, format="csv", name="as-csv")
    rows = list(client_for(served, installation_key).pull(str(served.project.pk), "as-csv"))
    assert Counter(row["task_id"] for row in rows) == Counter(dict.fromkeys(served.answers, 2))
    assert version["row_count"] == 12


def test_a_pull_to_a_file_writes_the_verified_file_and_returns_the_manifest(
    served, installation_key, out
):
    version = create_version(served.token, served.project, format="jsonl")
    dest = out / "sentiment.jsonl"
    manifest = client_for(served, installation_key).pull(
        str(served.project.pk), version["id"], dest
    )
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == manifest["file"]["sha256"]
    assert manifest["file"]["sha256"] == version["sha256"]
    assert manifest["version"] == {"id": version["id"], "number": 1, "name": "v1"}
    assert manifest["project"]["id"] == str(served.project.pk)
    assert manifest["label_schema"] == served.project.label_schema
    assert [path.name for path in dest.parent.iterdir()] == ["sentiment.jsonl"]
    verify_file(dest, manifest)


def test_without_a_pinned_key_the_servers_published_keys_verify(served, installation_key):
    create_version(served.token, served.project, format="jsonl")
    client = client_for(served)
    assert client.pinned_keys == {}
    current = signing.signing_key()
    assert client.trusted_keys() == {current.key_id: base64.b64decode(current.public_b64)}
    assert len(list(client.pull(str(served.project.pk), 1))) == 12


def test_a_manifest_signed_by_another_key_than_the_pinned_one_fails(served, out):
    create_version(served.token, served.project, format="jsonl")
    dest = out / "sentiment.jsonl"
    with pytest.raises(SignatureInvalid, match="not among the trusted keys"):
        client_for(served, make_key().public_b64).pull(str(served.project.pk), 1, dest)
    assert list(out.iterdir()) == []


def test_a_tampered_manifest_document_fails_verification(served, installation_key):
    version = create_version(served.token, served.project, format="jsonl")
    client = client_for(served, installation_key)
    document = client.manifest_document(str(served.project.pk), version["id"])
    assert verify_manifest(document, [installation_key])["file"]["rows"] == 12
    fewer = document["manifest"].replace('"rows":12', '"rows":11')
    assert fewer != document["manifest"]
    with pytest.raises(SignatureInvalid):
        verify_manifest(dict(document, manifest=fewer), [installation_key])


def test_another_versions_valid_manifest_is_refused(served, installation_key):
    first = create_version(served.token, served.project, format="jsonl")
    second = create_version(served.token, served.project, format="jsonl")
    client = client_for(served, installation_key)
    project = str(served.project.pk)
    replayed = verify_manifest(client.manifest_document(project, first["id"]), [installation_key])
    _check_names(replayed, project=project, version_id=first["id"])
    with pytest.raises(ManifestMismatch):
        _check_names(replayed, project=project, version_id=second["id"])


def test_a_corrupted_partial_download_fails_and_leaves_nothing(served, installation_key, out):
    version = create_version(served.token, served.project, format="jsonl")
    half = version["size"] // 2
    dest = out / "sentiment.jsonl"
    part = out / "sentiment.jsonl.part"
    head = bytearray(get_range(served, version, 0, half - 1))
    head[5] ^= 0x20
    part.write_bytes(bytes(head))
    client = client_for(served, installation_key)
    with pytest.raises(ChecksumMismatch, match="SHA-256"):
        client.pull(str(served.project.pk), 1, dest)
    assert list(out.iterdir()) == []
    # The next pull starts clean and succeeds.
    client.pull(str(served.project.pk), 1, dest)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == version["sha256"]


def test_an_interrupted_download_resumes_where_it_stopped(served, installation_key, out):
    version = create_version(served.token, served.project, format="jsonl")
    half = version["size"] // 2
    dest = out / "sentiment.jsonl"
    (out / "sentiment.jsonl.part").write_bytes(get_range(served, version, 0, half - 1))
    seen = []
    manifest = client_for(served, installation_key).pull(
        str(served.project.pk), 1, dest, progress=lambda done, total: seen.append((done, total))
    )
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == manifest["file"]["sha256"]
    assert seen[0] == (half, version["size"])
    assert seen[-1] == (version["size"], version["size"])
    downloads = AuditEvent.objects.filter(action="version.downloaded", object_id=version["id"])
    assert [event.details["start"] for event in downloads.order_by("seq")] == [0, half]
    assert list(out.iterdir()) == [dest]


def test_a_version_still_building_is_not_ready(served, installation_key):
    DatasetVersion.objects.create(
        project=served.project, number=1, name="v1", format="jsonl", created_by=served.manager
    )
    with pytest.raises(VersionNotReady, match="queued") as raised:
        client_for(served, installation_key).pull(str(served.project.pk), 1)
    assert raised.value.state == "queued"


def test_a_format_that_is_not_rows_asks_for_a_destination(served, installation_key):
    create_version(served.token, served.project, format="parquet")
    with pytest.raises(UnsupportedFormat, match="dest"):
        client_for(served, installation_key).pull(str(served.project.pk), 1)


def test_what_the_server_refuses_is_an_api_error(served, installation_key, admin):
    create_version(served.token, served.project, format="jsonl")
    project = str(served.project.pk)
    other = str(make_project(admin, name="Other lab project").pk)
    stranger = Client(served.url, "lk_not_a_token", public_keys=[installation_key])
    refusals = {
        "missing version": lambda: client_for(served, installation_key).pull(project, 7),
        "another project": lambda: client_for(served, installation_key).pull(other, 1),
        "a wrong token": lambda: stranger.pull(project, 1),
    }
    seen = {}
    for name, pull in refusals.items():
        with pytest.raises(ApiError) as raised:
            pull()
        seen[name] = (raised.value.status, raised.value.code)
    assert seen == {
        "missing version": (404, "version_not_found"),
        "another project": (404, "project_not_found"),
        "a wrong token": (401, "authentication_failed"),
    }


def test_versions_are_listed_newest_first_across_pages(served):
    for name in ["first", "second", "third"]:
        create_version(served.token, served.project, format="jsonl", name=name)
    listed = list(client_for(served).versions(str(served.project.pk), page_size=2))
    assert [version["name"] for version in listed] == ["third", "second", "first"]


def test_a_hugging_face_version_is_extracted_into_its_folder(served, installation_key, out):
    import pyarrow.parquet as pq

    create_version(served.token, served.project, format="hf")
    dest = out / "sentiment-hf"
    manifest = client_for(served, installation_key).pull(str(served.project.pk), 1, dest)
    assert manifest["file"]["media_type"] == "application/x-tar"
    assert sorted(str(path.relative_to(dest)) for path in dest.rglob("*")) == [
        "README.md",
        "data",
        "data/train-00000.parquet",
    ]
    assert pq.read_table(dest / "data" / "train-00000.parquet").num_rows == 12
    assert [path.name for path in out.iterdir()] == ["sentiment-hf"]
