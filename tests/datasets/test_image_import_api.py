"""Images for box projects: zips with or without a manifest, images uploaded one by one and
named by a JSONL file, every hostile file refused, and images served only to those allowed."""

import io
import json
import zipfile
import zlib

import pytest
from PIL import Image

import vault
from audit.models import AuditEvent
from datasets.models import ImportState, ProjectFile
from labeling.models import Task
from projects.models import TaskType
from tests.conftest import add_member, client_for, make_project
from tests.datasets.helpers import jsonl, post_raw, problems_of, run_upload, zip_of
from tests.factories import make_user
from tests.projects.test_label_schemas import VALID_SCHEMAS
from vault import config

pytestmark = pytest.mark.django_db


def png(width: int = 8, height: int = 6, color: tuple[int, int, int] = (200, 10, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def jpeg(color: tuple[int, int, int] = (10, 200, 10)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), color).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def boxes(admin):
    return make_project(
        admin, name="Street scenes", task_type=TaskType.BOXES, label_schema=VALID_SCHEMAS["boxes"]
    )


@pytest.fixture
def boxes_manager(boxes):
    from projects.models import Role

    return add_member(boxes, make_user(email="boxes-manager@lab.test"), Role.MANAGER)


def _images_of(project) -> list[str]:
    tasks = Task.objects.filter(project=project).order_by("seq")
    return [
        vault.unseal(project.pk, "task.payload", str(t.pk), t.payload)["data"]["image"]
        for t in tasks
    ]


def test_a_zip_of_images_becomes_one_task_per_image(
    boxes, boxes_manager, django_capture_on_commit_callbacks
):
    archive = zip_of(
        {
            "scenes/a.png": png(color=(1, 2, 3)),
            "scenes/b.jpg": jpeg(),
            "__MACOSX/._a.png": b"junk",
            "notes.txt": b"ignored",
        }
    )
    client = client_for(boxes_manager)
    imp = run_upload(client, boxes, "scenes.zip", archive, django_capture_on_commit_callbacks)
    assert imp.state == ImportState.SUCCEEDED, imp.problems
    assert (imp.tasks_created, imp.files_stored) == (2, 2)
    files = {str(f.pk): f for f in ProjectFile.objects.filter(project=boxes)}
    assert sorted(files) == sorted(_images_of(boxes))
    assert all(f.published for f in files.values())
    assert sorted(f.content_type for f in files.values()) == ["image/jpeg", "image/png"]
    first = _images_of(boxes)[0]
    response = client.get(f"/api/v1/projects/{boxes.pk}/files/{first}/content")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.getvalue() == png(color=(1, 2, 3))
    assert "sandbox" in response["Content-Security-Policy"]
    assert AuditEvent.objects.filter(action="file.read", object_id=first).count() == 1


def test_a_manifest_gives_each_image_its_fields(
    boxes, boxes_manager, django_capture_on_commit_callbacks
):
    manifest = jsonl(
        [
            {"image": "b.png", "external_id": "cam-2", "priority": 5},
            {"image": "a.png", "external_id": "cam-1", "gold": {"boxes": []}},
        ]
    )
    archive = zip_of({"manifest.jsonl": manifest, "a.png": png(color=(9, 9, 9)), "b.png": png()})
    imp = run_upload(
        client_for(boxes_manager), boxes, "set.zip", archive, django_capture_on_commit_callbacks
    )
    assert imp.state == ImportState.SUCCEEDED, imp.problems
    tasks = list(Task.objects.filter(project=boxes).order_by("seq"))
    assert [t.priority for t in tasks] == [5, 0]
    assert [t.is_gold for t in tasks] == [False, True]


def test_the_same_image_twice_is_a_duplicate(
    boxes, boxes_manager, django_capture_on_commit_callbacks
):
    archive = zip_of({"a.png": png(), "copy-of-a.png": png()})
    imp = run_upload(
        client_for(boxes_manager), boxes, "set.zip", archive, django_capture_on_commit_callbacks
    )
    assert (imp.tasks_created, imp.duplicates_skipped, imp.files_stored) == (1, 1, 1)
    assert ProjectFile.objects.filter(project=boxes).count() == 1


def _symlink_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.png", png())
        link = zipfile.ZipInfo("link.png")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    return out.getvalue()


def _bomb_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.png", png())
        archive.writestr("huge.png", b"\0" * (64 * 1024 * 1024))
    return out.getvalue()


def _png_declaring(width: int, height: int) -> bytes:
    """A 4x4 PNG whose header (with a valid checksum) declares another size."""
    data = bytearray(png(4, 4))
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")  # IHDR width, height
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # IHDR's CRC
    return bytes(data)


HOSTILE: list[tuple[str, dict[str, bytes], str]] = [
    ("escape", {"../evil.png": png()}, "unsafe_path"),
    ("absolute", {"/abs/evil.png": png()}, "unsafe_path"),
    ("wrong extension", {"a.jpg": png()}, "wrong_extension"),
    ("text as image", {"a.png": b"just some text, not an image"}, "wrong_extension"),
    ("truncated", {"a.png": png(64, 64)[:-40]}, "corrupt_image"),
    ("lies about its size", {"a.png": _png_declaring(8, 8)}, "corrupt_image"),
    ("decompression bomb", {"a.png": _png_declaring(60000, 60000)}, "image_too_large"),
]


@pytest.mark.parametrize(("name", "entries", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_archives_fail_precisely_and_leave_nothing(
    boxes, boxes_manager, name, entries, code, django_capture_on_commit_callbacks
):
    imp = run_upload(
        client_for(boxes_manager),
        boxes,
        "x.zip",
        zip_of(entries),
        django_capture_on_commit_callbacks,
    )
    assert imp.state == ImportState.FAILED
    assert imp.problems[0]["code"] == code, imp.problems
    assert imp.problems[0]["where"].startswith("entry")
    assert Task.objects.filter(project=boxes).count() == 0
    assert ProjectFile.objects.filter(project=boxes).count() == 0
    assert config.blob_store().names(project_id=boxes.pk) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_symlink_zip(), "symlink_entry"),
        (_bomb_zip(), "compression_bomb"),
        (b"PK not a zip", "corrupt_zip"),
    ],
    ids=["symlink", "bomb", "corrupt"],
)
def test_symlinks_bombs_and_broken_zips_are_refused(
    boxes, boxes_manager, body, code, django_capture_on_commit_callbacks
):
    imp = run_upload(
        client_for(boxes_manager), boxes, "x.zip", body, django_capture_on_commit_callbacks
    )
    assert imp.state == ImportState.FAILED
    assert imp.problems[0]["code"] == code, imp.problems
    assert Task.objects.filter(project=boxes).count() == 0
    assert config.blob_store().names(project_id=boxes.pk) == []


def test_images_uploaded_one_by_one_are_named_by_a_jsonl_import(
    boxes, boxes_manager, django_capture_on_commit_callbacks
):
    client = client_for(boxes_manager)
    for name, data in (("scan-1.png", png(color=(1, 1, 1))), ("scan-2.jpg", jpeg())):
        response = post_raw(client, f"/api/v1/projects/{boxes.pk}/files/?name={name}", data)
        assert response.status_code == 201, response.content
        assert response.json()["name"] == name
    again = post_raw(client, f"/api/v1/projects/{boxes.pk}/files/?name=scan-1.png", png())
    assert again.status_code == 409
    imp = run_upload(
        client,
        boxes,
        "list.jsonl",
        jsonl([{"image": "scan-2.jpg"}, {"image": "scan-1.png"}, {"image": "missing.png"}]),
        django_capture_on_commit_callbacks,
    )
    assert imp.state == ImportState.FAILED
    assert problems_of(imp) == [("line 3", "missing_image", "image")]
    imp = run_upload(
        client,
        boxes,
        "list.jsonl",
        jsonl([{"image": "scan-2.jpg"}, {"image": "scan-1.png"}]),
        django_capture_on_commit_callbacks,
    )
    assert imp.state == ImportState.SUCCEEDED, imp.problems
    assert imp.tasks_created == 2


def test_an_uploaded_file_must_be_an_image_of_a_box_project(boxes, boxes_manager, project, manager):
    client = client_for(boxes_manager)
    response = post_raw(client, f"/api/v1/projects/{boxes.pk}/files/?name=a.png", b"not an image")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "wrong_extension"
    response = post_raw(
        client_for(manager), f"/api/v1/projects/{project.pk}/files/?name=a.png", png()
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_file"


def test_images_are_served_only_to_managers_of_their_project(
    boxes, boxes_manager, outsider, django_capture_on_commit_callbacks
):
    from projects.models import Role

    run_upload(
        client_for(boxes_manager),
        boxes,
        "a.zip",
        zip_of({"a.png": png()}),
        django_capture_on_commit_callbacks,
    )
    file_id = _images_of(boxes)[0]
    url = f"/api/v1/projects/{boxes.pk}/files/{file_id}/content"
    annotator = add_member(boxes, make_user(email="boxes-annotator@lab.test"), Role.ANNOTATOR)
    assert client_for(annotator).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(boxes_manager).get(url).status_code == 200


def test_stored_images_are_encrypted(
    boxes, boxes_manager, django_capture_on_commit_callbacks, tmp_path
):
    image = png(32, 32, (123, 45, 67))
    run_upload(
        client_for(boxes_manager),
        boxes,
        "a.zip",
        zip_of({"a.png": image}),
        django_capture_on_commit_callbacks,
    )
    stored = [p.read_bytes() for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert stored
    assert all(image not in blob and b"IHDR" not in blob for blob in stored)
    assert json.dumps(_images_of(boxes))


def test_an_uploaded_image_over_the_limit_is_413(boxes, boxes_manager, settings):
    settings.IMPORT_MAX_IMAGE_BYTES = 2048
    noisy = io.BytesIO()
    Image.effect_noise((256, 256), 64).convert("RGB").save(noisy, "PNG")
    url = f"/api/v1/projects/{boxes.pk}/files/?name=big.png"
    response = post_raw(client_for(boxes_manager), url, noisy.getvalue())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "image_too_large"
    assert ProjectFile.objects.filter(project=boxes).count() == 0


def test_an_image_from_a_zip_does_not_take_its_name_from_uploads(
    boxes, boxes_manager, django_capture_on_commit_callbacks
):
    client = client_for(boxes_manager)
    run_upload(client, boxes, "a.zip", zip_of({"a.png": png()}), django_capture_on_commit_callbacks)
    url = f"/api/v1/projects/{boxes.pk}/files/?name=a.png"
    assert post_raw(client, url, png(5, 5)).status_code == 201
    assert post_raw(client, url, png(6, 6)).status_code == 409
