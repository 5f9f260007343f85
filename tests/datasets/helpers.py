"""Uploading files of tasks through the API, and reading back what an import made."""

import gzip as gzip_module
import io
import json
import zipfile
from typing import Any
from urllib.parse import urlencode

import vault
from datasets.models import Import
from labeling.models import Task, TaskState


def jsonl(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def gz(data: bytes) -> bytes:
    return gzip_module.compress(data)


def zip_of(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def post_raw(client: Any, url: str, body: bytes) -> Any:
    """POST bytes as the raw request body, as uploads are sent."""
    return client.generic("POST", url, body, "application/octet-stream")


def upload(client: Any, project: Any, file_name: str, body: bytes, **params: Any) -> Any:
    """POST the file as the raw body; returns the response."""
    query = urlencode({"file_name": file_name, **params})
    return post_raw(client, f"/api/v1/projects/{project.pk}/imports/?{query}", body)


def run_upload(client, project, file_name: str, body: bytes, capture, **params: Any) -> Import:
    """Upload and run the import's job (eagerly, on commit); returns the finished import."""
    with capture(execute=True):
        response = upload(client, project, file_name, body, **params)
    assert response.status_code == 202, response.content
    return Import.objects.get(pk=response.json()["import"]["id"])


def published(project) -> Any:
    return Task.objects.filter(project=project, state=TaskState.OPEN)


def payloads(project) -> list[Any]:
    tasks = Task.objects.filter(project=project).order_by("seq")
    return [vault.unseal(project.pk, "task.payload", str(t.pk), t.payload)["data"] for t in tasks]


def problems_of(imp: Import) -> list[tuple[str, str, str | None]]:
    return [(p["where"], p["code"], p.get("field")) for p in imp.problems]
