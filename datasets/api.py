"""Imports and the data browser over the API (managers and lab admins).

- ``POST /api/v1/projects/{project_id}/imports/?file_name=tasks.jsonl``: the file is the raw
  request body (streamed, encrypted as it arrives); answered ``202`` with the import and its job.
- ``GET  .../imports/``, ``GET .../imports/{import_id}``: state, progress, counts, problems.
- ``POST .../imports/{import_id}/cancel``; ``DELETE .../imports/{import_id}/tasks``.
- ``GET  .../tasks/`` (no content), ``GET .../tasks/{task_id}`` (content; an audited read).
- ``POST .../files/?name=scan.png`` (an image, raw body), ``GET .../files/{file_id}/content``.
"""

import json
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import token_of
from audit.services import Actor
from core.api import CursorPagination, StrictSerializer
from core.errors import ValidationFailed
from datasets import browser, files, imports
from datasets.jobs import import_status
from datasets.models import Import, OnDuplicate
from labeling.selectors import task_visible
from projects.api import PROJECT_ID, SignedIn, errors, page_of, project_for, uuid_param
from projects.api_keys import JobRefOut
from projects.permissions import Need, can_review

IMPORT_ID = uuid_param("import_id", "The import (also its job's id).")
TASK_ID = uuid_param("task_id", "The task.")
FILE_ID = uuid_param("file_id", "The file.")


class RawBody(BaseParser):
    """Documents the raw body; the views read ``request.stream`` themselves, never parse it."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return stream


def _raw_body(request: Request) -> Any:
    content_type = request.content_type.split(";")[0].strip().lower()
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ValidationFailed(
            "Send the file itself as the request body (for example "
            "`curl --data-binary @tasks.jsonl -H 'Content-Type: application/octet-stream'`), "
            "not as a form.",
            code="raw_body_expected",
            details={"field": "body"},
        )
    return request._request


def _declared_size(request: Request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


# --- Serializers --------------------------------------------------------------------------------


class ImportQuery(StrictSerializer):
    file_name = serializers.CharField(
        max_length=255,
        help_text="The upload's file name; its extension says the format: .json, .jsonl "
        "(.ndjson), .csv, .tsv, each optionally .gz; .zip (images, box projects).",
    )
    on_duplicate = serializers.ChoiceField(
        choices=OnDuplicate.choices,
        default=OnDuplicate.SKIP,
        help_text="A row whose data the project (or the file) has already: skip it, or fail.",
    )
    mapping = serializers.CharField(
        required=False,
        help_text="CSV/TSV: a JSON object mapping column names to fields (`text`, "
        "`external_id`, `metadata.source`, ...), or to null to ignore a column.",
    )


class ProblemOut(serializers.Serializer[Any]):
    where = serializers.CharField(help_text='"line 12", "element 3 (line 9)", "entry a.png".')
    code = serializers.CharField()
    field = serializers.CharField(required=False)
    message = serializers.CharField()


class ImportOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    number = serializers.IntegerField(help_text="1, 2, 3... within the project.")
    state = serializers.CharField()
    file_name = serializers.CharField()
    format = serializers.CharField()
    gzip = serializers.BooleanField()
    on_duplicate = serializers.CharField()
    mapping = serializers.DictField(allow_empty=True)
    created_by = serializers.EmailField(source="created_by.email")
    upload_bytes = serializers.IntegerField()
    bytes_read = serializers.IntegerField()
    progress = serializers.FloatField(help_text="0 to 1.")
    rows_read = serializers.IntegerField()
    tasks_created = serializers.IntegerField()
    duplicates_skipped = serializers.IntegerField()
    files_stored = serializers.IntegerField()
    rows_per_second = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)
    problem_count = serializers.IntegerField(help_text="All problems found.")
    problems = ProblemOut(many=True, help_text="The first 100 problems.")
    error = serializers.CharField(help_text="The first problem's code, once failed.")
    error_message = serializers.CharField()
    cancel_requested = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    tasks_deleted_at = serializers.DateTimeField(source="deleted_tasks_at", allow_null=True)
    job = serializers.SerializerMethodField()

    @extend_schema_field(JobRefOut)
    def get_job(self, imp: Import) -> Any:
        return JobRefOut(import_status(imp), context=self.context).data


class ImportStartedOut(serializers.Serializer[Any]):
    import_ = ImportOut(source="imp")
    job = JobRefOut()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["import"] = fields.pop("import_")
        return fields


class TasksDeletedOut(serializers.Serializer[Any]):
    deleted = serializers.IntegerField()


class TaskQuery(StrictSerializer):
    state = serializers.ChoiceField(
        choices=[s.value for s in browser.LISTED_STATES], required=False
    )
    import_ = serializers.UUIDField(required=False)
    gold = serializers.BooleanField(required=False, allow_null=True, default=None)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["import"] = fields.pop("import_")
        return fields


class TaskOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    import_id = serializers.UUIDField(allow_null=True)
    row = serializers.IntegerField(help_text="The row of its import it came from.")
    state = serializers.ChoiceField(choices=[s.value for s in browser.LISTED_STATES])
    priority = serializers.IntegerField()
    annotation_count = serializers.IntegerField()
    is_gold = serializers.BooleanField()
    has_prediction = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class TaskContentOut(TaskOut):
    data_ = serializers.JSONField(help_text="The task's data fields, by type.")
    external_id = serializers.CharField(allow_null=True)
    metadata = serializers.JSONField(allow_null=True)
    prediction = serializers.JSONField(allow_null=True, help_text="The pre-annotation.")
    gold = serializers.JSONField(allow_null=True, help_text="The gold answer (managers).")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["data"] = fields.pop("data_")  # "data" is the Serializer's own attribute
        return fields


class FileOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    size = serializers.IntegerField()
    created_at = serializers.DateTimeField()


# --- Views --------------------------------------------------------------------------------------


def _import_out(request: Request, imp: Import) -> Any:
    return ImportOut(imp, context={"request": request}).data


class ImportPagination(CursorPagination):
    ordering = "-created_at"


class ImportListApi(APIView):
    # The gate checks the need (an export-scoped token has none of these) and scopes by project.
    permission_classes = [SignedIn]
    pagination_class = ImportPagination
    parser_classes = [RawBody]

    @extend_schema(
        summary="List the project's imports, newest first (managers)",
        parameters=[PROJECT_ID],
        responses={200: ImportOut(many=True), **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        paginator = self.pagination_class()
        page = page_of(paginator, browser.import_list(project), request, self)
        data = ImportOut(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        summary="Import a file of tasks (managers): the raw body is the file",
        description="Send the file as the request body with `Content-Length`, its name in "
        "`file_name`. The upload is stored encrypted, then a background job reads it; follow "
        "the import (or its job) until `succeeded` or `failed`. A failed import lists where "
        "and why, and created no task.",
        parameters=[
            PROJECT_ID,
            OpenApiParameter("file_name", OpenApiTypes.STR, required=True),
            OpenApiParameter("on_duplicate", OpenApiTypes.STR, enum=OnDuplicate.values),
            OpenApiParameter("mapping", OpenApiTypes.STR),
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={202: ImportStartedOut, **errors(400, 401, 403, 404, 409, 413, 503)},
    )
    def post(self, request: Request, project_id: str) -> Response:
        query = ImportQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        fields = query.validated_data
        project = project_for(request, project_id, Need.MANAGE)
        options = imports.import_options(
            project,
            file_name=fields["file_name"],
            on_duplicate=fields["on_duplicate"],
            mapping=_mapping(fields.get("mapping")),
        )
        imp = imports.import_create(
            actor=Actor.from_request(request),
            project=project,
            options=options,
            source=_raw_body(request),
            declared_size=_declared_size(request),
        )
        imp.refresh_from_db()
        body = {"imp": imp, "job": import_status(imp)}
        return Response(
            ImportStartedOut(body, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("api:import_detail", args=[project.pk, imp.pk])},
        )


def _mapping(text: str | None) -> dict[str, str | None] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValidationFailed(
            'mapping must be a JSON object such as {"review": "text", "id": "external_id"}.',
            code="bad_mapping",
            details={"field": "mapping"},
        )
    return value


class ImportDetailApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Read an import: state, progress, counts and problems (managers)",
        parameters=[PROJECT_ID, IMPORT_ID],
        responses={200: ImportOut, **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str, import_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        return Response(_import_out(request, browser.import_get(project, import_id)))


class ImportCancelApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Cancel a queued or running import (managers); nothing of it remains",
        parameters=[PROJECT_ID, IMPORT_ID],
        request=None,
        responses={202: ImportOut, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str, import_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        imp = browser.import_get(project, import_id)
        imp = imports.import_cancel(actor=Actor.from_request(request), imp=imp)
        return Response(_import_out(request, imp), status=status.HTTP_202_ACCEPTED)


class ImportTasksApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Delete every task an import created (managers)",
        parameters=[PROJECT_ID, IMPORT_ID],
        request=None,
        responses={200: TasksDeletedOut, **errors(401, 403, 404, 409)},
    )
    def delete(self, request: Request, project_id: str, import_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        imp = browser.import_get(project, import_id)
        deleted = imports.import_tasks_delete(actor=Actor.from_request(request), imp=imp)
        return Response(TasksDeletedOut({"deleted": deleted}).data)


class TaskPagination(CursorPagination):
    ordering = "seq"


def _task_row(task: Any, import_ids: dict[int, Any], has_prediction: bool) -> dict[str, Any]:
    return {
        "id": task.pk,
        "import_id": import_ids.get(task.import_number),
        "row": task.row,
        "state": task.state,
        "priority": task.priority,
        "annotation_count": task.annotation_count,
        "is_gold": task.is_gold,
        "has_prediction": has_prediction,
        "created_at": task.created_at,
    }


class TaskListApi(APIView):
    permission_classes = [SignedIn]
    pagination_class = TaskPagination

    @extend_schema(
        summary="List the project's tasks, without their content (managers)",
        parameters=[
            PROJECT_ID,
            OpenApiParameter(
                "state", OpenApiTypes.STR, enum=[s.value for s in browser.LISTED_STATES]
            ),
            OpenApiParameter("import", OpenApiTypes.UUID, description="Only this import's tasks."),
            OpenApiParameter(
                "gold", OpenApiTypes.BOOL, description="Only gold (or non-gold) tasks."
            ),
        ],
        responses={200: TaskOut(many=True), **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        query = TaskQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        fields = query.validated_data
        project = project_for(request, project_id, Need.MANAGE)
        tasks = browser.task_list(
            project,
            state=fields.get("state"),
            import_id=fields.get("import"),
            gold=fields.get("gold"),
        ).annotate(
            has_prediction=ExpressionWrapper(
                Q(prediction__isnull=False), output_field=BooleanField()
            )
        )
        paginator = self.pagination_class()
        page = page_of(paginator, tasks, request, self)
        import_ids = browser.import_ids_by_number(project, page)
        rows = [_task_row(task, import_ids, task.has_prediction) for task in page]
        return paginator.get_paginated_response(TaskOut(rows, many=True).data)


class TaskDetailApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Read one task with its content (managers); recorded as task.read",
        parameters=[PROJECT_ID, TASK_ID],
        responses={200: TaskContentOut, **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str, task_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        content = browser.task_open(
            actor=Actor.from_request(request), project=project, task_id=task_id
        )
        task = content.task
        row = _task_row(task, {task.import_number: content.import_id}, task.prediction is not None)
        row.update(
            data=content.data,
            external_id=content.external_id,
            metadata=content.metadata,
            prediction=content.prediction,
            gold=content.gold,
        )
        return Response(TaskContentOut(row).data)


class FileListApi(APIView):
    permission_classes = [SignedIn]
    parser_classes = [RawBody]

    @extend_schema(
        summary="Upload one image for a box project (managers): the raw body is the image",
        description="Tasks then name it in `image` (JSONL or CSV import).",
        parameters=[PROJECT_ID, OpenApiParameter("name", OpenApiTypes.STR, required=True)],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={201: FileOut, **errors(400, 401, 403, 404, 409, 413, 503)},
    )
    def post(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        stored = files.file_upload(
            actor=Actor.from_request(request),
            project=project,
            name=request.query_params.get("name", ""),
            source=_raw_body(request),
            declared_size=_declared_size(request),
        )
        return Response(FileOut(stored).data, status=status.HTTP_201_CREATED)


class FileContentApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="The image's bytes (managers); recorded as file.read",
        parameters=[PROJECT_ID, FILE_ID],
        responses={(200, "image/*"): OpenApiTypes.BINARY, **errors(401, 403, 404, 503)},
    )
    def get(self, request: Request, project_id: str, file_id: str) -> StreamingHttpResponse:
        project = project_for(request, project_id, Need.MANAGE)
        opened = files.file_open(
            actor=Actor.from_request(request), project=project, file_id=file_id
        )
        return _image_response(opened)


def _image_response(opened: files.OpenedFile) -> StreamingHttpResponse:
    response = StreamingHttpResponse(opened.chunks, content_type=opened.content_type)
    response["Content-Length"] = str(opened.size)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


class TaskImageApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="A box task's image, for those who may see the task; recorded as file.read",
        description="Annotators get the images of the tasks the queue gave them, reviewers "
        "those of any task (404 alike for any other task, and for a task without an image).",
        parameters=[PROJECT_ID, TASK_ID],
        responses={(200, "image/*"): OpenApiTypes.BINARY, **errors(401, 403, 404, 503)},
    )
    def get(self, request: Request, project_id: str, task_id: str) -> StreamingHttpResponse:
        project = project_for(request, project_id, Need.ANNOTATE)
        task = task_visible(
            project=project,
            user=request.user,
            sees_all=can_review(request.user, project, token=token_of(request)),
            task_id=task_id,
        )
        opened = files.task_image_open(
            actor=Actor.from_request(request), task=task, project=project
        )
        return _image_response(opened)
