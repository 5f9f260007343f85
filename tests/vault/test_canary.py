"""The canary test: values carrying a random canary go in through the public API; the raw
database, the key store, the file store and the bucket must not hold the canary anywhere.

``import_canaries`` sends the canary through every import format (JSON, JSONL, CSV, TSV, each
gzipped too, and a zip of images with a manifest) in every field a task has;
``annotation_canaries`` through every piece of the work: drafts, results, revisions,
corrections, skip notes, review comments and comments; ``export_canaries`` builds a dataset
version of that work in every format the project's task type takes.
"""

import base64
import gzip
import io
import json
import secrets
import zipfile
from typing import Any

import pytest

import vault
from audit.services import Actor
from datasets import imports
from datasets.models import ImportState
from labeling.models import Task
from tests.conftest import make_project
from tests.datasets.factories import png_bytes
from tests.s3 import all_objects
from tests.vault.conftest import seal_notes
from tests.vault.snapshots import database_copy
from vault import config
from vault.blobs import EncryptedBlobStore, FilesystemBackend


def store_canaries(project, canary: str, tmp_path) -> None:
    seal_notes(
        project.pk,
        [canary, f"text around {canary} and after", {"text": canary, "meta": [canary]}],
    )
    document = f"id,text\n1,{canary}\n".encode() * 5000
    config.blob_store().put(project_id=project.pk, name="imports/canary.csv", source=document)
    filesystem = EncryptedBlobStore(
        backend=FilesystemBackend(tmp_path / "blobs"), keys=config.project_keys()
    )
    filesystem.put(project_id=project.pk, name="exports/canary.jsonl", source=document)
    import_canaries(project, canary)
    writing = annotation_canaries(project.created_by, canary)
    export_canaries(writing, canary)


def export_canaries(project, canary: str) -> None:
    """A version in every format the project can be exported in, stored by the build."""
    from datasets.exports import formats, versions

    actor = Actor.system(user=project.created_by)
    store = config.blob_store()
    for name, fmt in formats.FORMATS.items():
        if fmt.task_types is not None and project.task_type not in fmt.task_types:
            continue
        created = versions.version_create(
            actor=actor, project=project, format_name=name, filter_raw={"status": "submitted"}
        )
        version = versions.version_build(version_id=created.pk)  # built already, if eager
        version.refresh_from_db()
        assert version.state == "succeeded", (name, version.error_message)
        stored = b"".join(store.read(project_id=project.pk, name=version.blob))
        # The canary is in the version (so the scan below would find it if it leaked).
        assert canary.encode() in stored or name in {"parquet", "hf"}, name


def annotation_canaries(admin, canary: str) -> Any:
    """The canary in everything an annotator or reviewer writes (in a project of its own,
    which it returns)."""
    from labeling import annotations, queue, review
    from projects.models import Role
    from tests.conftest import add_member
    from tests.factories import make_user
    from tests.labeling.work import make_task

    project = make_project(
        admin,
        name="Canary writing",
        task_type="free_text",
        label_schema={"mode": "write", "min_length": 1},
        review_required=True,
        overlap=2,
    )
    writer = add_member(project, make_user(), Role.ANNOTATOR)
    skipper = add_member(project, make_user(), Role.ANNOTATOR)
    reviewer = add_member(project, make_user(), Role.REVIEWER)
    task = make_task(project, {"prompt": "Write something."})
    as_writer, as_skipper = Actor.system(user=writer), Actor.system(user=skipper)
    queue.next_task(actor=as_writer, project=project)
    annotations.annotation_draft_save(
        actor=as_writer, project=project, task_id=task.pk, draft={"text": f"draft {canary}"}
    )
    annotations.annotation_submit(
        actor=as_writer, project=project, task_id=task.pk, result={"text": f"first {canary}"}
    )
    annotation = annotations.annotation_revise(
        actor=as_writer, project=project, task_id=task.pk, result={"text": f"second {canary}"}
    )
    annotations.comment_add(
        actor=as_writer, project=project, annotation=annotation, body=f"note {canary}"
    )
    review.review_decide(
        actor=Actor.system(user=reviewer),
        project=project,
        annotation_id=annotation.pk,
        decision="correct",
        comment=f"fixed {canary}",
        result={"text": f"corrected {canary}"},
    )
    queue.next_task(actor=as_skipper, project=project)
    queue.task_skip(
        actor=as_skipper, project=project, task_id=task.pk, reason="other", note=f"why {canary}"
    )
    return project


def _import(project, file_name: str, body: bytes) -> None:
    options = imports.import_options(project, file_name=file_name)
    actor = Actor.system(user=project.created_by)
    imp = imports.import_create(
        actor=actor, project=project, options=options, source=io.BytesIO(body)
    )
    imp.refresh_from_db()  # the job ran on commit (eagerly, as in every test)
    assert imp.state == ImportState.SUCCEEDED, imp.problems


def import_canaries(project, canary: str) -> None:
    """The canary through every import format, in every field a task has."""
    record: dict[str, Any] = {
        "text": f"said {canary} twice: {canary}",
        "external_id": f"ext-{canary}",
        "metadata": {"note": canary},
        "prediction": {"result": {"label": canary}, "model": canary},
        "gold": {"label": canary},
    }
    rows = [
        dict(record, text=f"{record['text']} {n}", external_id=f"{n}-{canary}") for n in range(8)
    ]
    as_jsonl = lambda part: b"".join(json.dumps(r).encode() + b"\n" for r in part)  # noqa: E731
    _import(project, "canary.jsonl", as_jsonl(rows[0:1]))
    _import(project, "canary.jsonl.gz", gzip.compress(as_jsonl(rows[1:2])))
    _import(project, "canary.json", json.dumps(rows[2:3]).encode())
    _import(project, "canary.json.gz", gzip.compress(json.dumps(rows[3:4]).encode()))
    tables = ((4, "canary.csv", ","), (5, "canary.tsv", "\t"), (6, "canary.csv.gz", ","),
              (7, "canary.tsv.gz", "\t"))  # fmt: skip
    for n, name, sep in tables:
        header = sep.join(["text", "external_id", "metadata", "gold"])
        cells = [rows[n]["text"], rows[n]["external_id"], json.dumps(rows[n]["metadata"]),
                 json.dumps(rows[n]["gold"])]  # fmt: skip
        line = sep.join('"' + c.replace('"', '""') + '"' for c in cells)
        body = f"{header}\n{line}\n".encode()
        _import(project, name, gzip.compress(body) if name.endswith(".gz") else body)
    boxes = make_project(
        project.created_by,
        name="Canary boxes",
        task_type="boxes",
        label_schema={"labels": [{"name": "thing"}]},
    )
    manifest = as_jsonl([{"image": "a.png", "external_id": canary, "metadata": {"n": canary}}])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("manifest.jsonl", manifest)
        out.writestr("a.png", png_bytes())
    _import(boxes, "canary.zip", archive.getvalue())
    assert Task.objects.filter(project__in=[project, boxes]).count() == 9


def occurrences(needles: list[bytes], haystacks: dict[str, bytes]) -> list[str]:
    return [name for name, data in haystacks.items() for needle in needles if needle in data]


@pytest.mark.django_db(transaction=True)
def test_no_canary_and_no_key_is_stored_in_the_clear(
    admin, notes, s3_bucket, moto_endpoint, tmp_path
):
    canary = f"CANARY-{secrets.token_hex(16)}"
    project = make_project(admin, name="Canary project")
    store_canaries(project, canary, tmp_path)

    _version, project_key = config.project_keys().key(project.pk)
    keyring = (tmp_path / "master_keyring").read_text().splitlines()
    master_keys = [
        base64.b64decode(line.split(":")[1]) for line in keyring if line.startswith("mk-")
    ]
    stored = {
        "database": database_copy(tmp_path / "dump"),
        **{str(p): p.read_bytes() for p in (tmp_path / "keystore").rglob("*") if p.is_file()},
        **{str(p): p.read_bytes() for p in (tmp_path / "blobs").rglob("*") if p.is_file()},
        **all_objects(moto_endpoint, s3_bucket),
    }
    assert len(stored) >= 4
    canaries = [canary.encode(), canary.encode("utf-16-le"), base64.b64encode(canary.encode())]
    assert occurrences(canaries, stored) == []
    assert occurrences([project_key, *master_keys], stored) == []
    # The scan itself works: metadata kept in the clear (the project's name) is found.
    assert occurrences([b"Canary project"], stored) == ["database"]
    assert canary in json.dumps(
        [vault.unseal(project.pk, "note.body", n.pk, n.body) for n in notes.objects.all()]
    )
