"""Dataset versions over the API: for managers and for pipelines with export-scoped tokens.

- ``GET/POST /api/v1/projects/{project_id}/versions/``: list; create (``202`` with the job).
- ``GET .../versions/{version}``: one version (by id, number or name).
- ``GET .../versions/{version}/manifest``: the signed manifest, exactly as signed.
- ``GET .../versions/{version}/download``: the file, streamed and decrypted, with Range.
- ``GET /api/v1/signing-keys``: the public keys that manifests are signed with.
"""

from typing import Any

from django.http import StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import token_of
from audit.services import Actor
from core.api import CursorPagination, StrictSerializer
from core.errors import Conflict
from datasets.exports import formats, manifest, versions
from datasets.exports.rows import pseudonyms
from datasets.jobs import version_status
from datasets.models import DatasetVersion
from projects.api import PROJECT_ID, SignedIn, errors, page_of, project_for
from projects.api_keys import JobRefOut
from projects.permissions import Need

VERSION = OpenApiParameter(
    "version",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The version: its id, its number (1, 2, ...) or its name.",
)


class VersionIn(StrictSerializer):
    format = serializers.CharField(help_text="jsonl, csv, parquet, hf, coco, conll, ...")
    name = serializers.CharField(required=False, help_text="Default: v<number>.")
    filter = serializers.JSONField(required=False, help_text="Which annotations; see the docs.")
    options = serializers.JSONField(required=False, help_text="The format's options.")


class VersionOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    number = serializers.IntegerField()
    name = serializers.CharField()
    format = serializers.CharField()
    filter = serializers.JSONField()
    options = serializers.JSONField()
    state = serializers.CharField(help_text="queued, running, succeeded or failed.")
    progress = serializers.FloatField(help_text="0 to 1.")
    rows_expected = serializers.IntegerField()
    rows_written = serializers.IntegerField()
    row_count = serializers.IntegerField(allow_null=True)
    size = serializers.IntegerField(allow_null=True, help_text="Bytes of the file.")
    sha256 = serializers.CharField(help_text="Of the file; empty until succeeded.")
    key_id = serializers.CharField(help_text="The key that signed the manifest.")
    file_name = serializers.SerializerMethodField()
    media_type = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField(
        help_text="The creator's pseudonym in this project (as in the manifest)."
    )
    error = serializers.CharField()
    error_message = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    manifest_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    job = serializers.SerializerMethodField()

    def get_file_name(self, version: DatasetVersion) -> str:
        return versions.file_name(version)

    def get_media_type(self, version: DatasetVersion) -> str:
        return formats.format_get(version.format).media_type

    def get_created_by(self, version: DatasetVersion) -> str:
        return pseudonyms(version.project_id)(version.created_by_id)

    def _url(self, name: str, version: DatasetVersion) -> str:
        request: Request = self.context["request"]
        return request.build_absolute_uri(
            reverse(f"api:{name}", args=[str(version.project_id), str(version.pk)])
        )

    @extend_schema_field(serializers.URLField())
    def get_manifest_url(self, version: DatasetVersion) -> str:
        return self._url("version_manifest", version)

    @extend_schema_field(serializers.URLField())
    def get_download_url(self, version: DatasetVersion) -> str:
        return self._url("version_download", version)

    @extend_schema_field(JobRefOut)
    def get_job(self, version: DatasetVersion) -> Any:
        return JobRefOut(version_status(version), context=self.context).data


class VersionStartedOut(serializers.Serializer[Any]):
    version = VersionOut()
    job = JobRefOut()


class ManifestOut(serializers.Serializer[Any]):
    manifest = serializers.CharField(
        help_text="The manifest's canonical JSON text, exactly as signed: verify, then parse."
    )
    signature = serializers.CharField(
        help_text="Base64 Ed25519 signature of b'labelkeep/manifest/v1\\n' + the text (UTF-8)."
    )
    key_id = serializers.CharField()
    algorithm = serializers.CharField()


class SigningKeyOut(serializers.Serializer[Any]):
    key_id = serializers.CharField()
    algorithm = serializers.CharField()
    public_key = serializers.CharField(help_text="Base64 of the 32 raw bytes.")
    current = serializers.BooleanField()


class SigningKeysOut(serializers.Serializer[Any]):
    keys = SigningKeyOut(many=True)


def _out(request: Request, version: DatasetVersion) -> Any:
    return VersionOut(version, context={"request": request}).data


class VersionPagination(CursorPagination):
    ordering = "-number"


class VersionListApi(APIView):
    permission_classes = [SignedIn]
    pagination_class = VersionPagination

    @extend_schema(
        summary="List the project's dataset versions, newest first (managers, export tokens)",
        parameters=[PROJECT_ID],
        responses={200: VersionOut(many=True), **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.EXPORT)
        paginator = self.pagination_class()
        page = page_of(paginator, versions.version_list(project), request, self)
        data = VersionOut(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        summary="Create a dataset version (managers, export tokens): built by a job",
        description="Follow the version (or its job) until `succeeded`; then download its file "
        "and verify it against the signed manifest.",
        parameters=[PROJECT_ID],
        request=VersionIn,
        responses={202: VersionStartedOut, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str) -> Response:
        body = VersionIn(data=request.data)
        body.is_valid(raise_exception=True)
        fields = body.validated_data
        project = project_for(request, project_id, Need.EXPORT)
        token = token_of(request)
        version = versions.version_create(
            actor=Actor.from_request(request),
            project=project,
            format_name=fields["format"],
            name=fields.get("name"),
            filter_raw=fields.get("filter"),
            options_raw=fields.get("options"),
            token_id=token.pk if token is not None else None,
        )
        version.refresh_from_db()
        out = {"version": version, "job": version_status(version)}
        return Response(
            VersionStartedOut(out, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("api:version_detail", args=[project.pk, version.pk])},
        )


class VersionDetailApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Read a dataset version: state, progress, size, checksum",
        parameters=[PROJECT_ID, VERSION],
        responses={200: VersionOut, **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str, version: str) -> Response:
        project = project_for(request, project_id, Need.EXPORT)
        return Response(_out(request, versions.version_get(project, version)))


class VersionManifestApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="The version's signed manifest (once succeeded)",
        parameters=[PROJECT_ID, VERSION],
        responses={200: ManifestOut, **errors(401, 403, 404, 409)},
    )
    def get(self, request: Request, project_id: str, version: str) -> Response:
        project = project_for(request, project_id, Need.EXPORT)
        found = versions.version_get(project, version)
        if not found.manifest:
            raise Conflict(
                f"The version is {found.state}; only a succeeded version has a manifest.",
                code="version_not_ready",
            )
        return Response(
            ManifestOut(
                {
                    "manifest": found.manifest,
                    "signature": found.signature,
                    "key_id": found.key_id,
                    "algorithm": "ed25519",
                }
            ).data
        )


class VersionDownloadApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Download the version's file, decrypted as it streams; recorded",
        description="Supports `Range: bytes=N-` (and `N-M`) with `If-Range`, so a broken "
        'download resumes. `ETag` is `"sha256:<hex>"` of the whole file.',
        parameters=[
            PROJECT_ID,
            VERSION,
            OpenApiParameter("Range", OpenApiTypes.STR, OpenApiParameter.HEADER),
            OpenApiParameter("If-Range", OpenApiTypes.STR, OpenApiParameter.HEADER),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            **errors(401, 403, 404, 409, 416, 503),
        },
    )
    def get(self, request: Request, project_id: str, version: str) -> StreamingHttpResponse:
        project = project_for(request, project_id, Need.EXPORT)
        found = versions.version_get(project, version)
        download = versions.version_download(
            actor=Actor.from_request(request),
            version=found,
            range_header=request.headers.get("Range"),
            if_range=request.headers.get("If-Range"),
        )
        response = StreamingHttpResponse(
            download.chunks,
            status=206 if download.partial else 200,
            content_type=formats.format_get(found.format).media_type,
        )
        response["Content-Length"] = str(download.length)
        if download.partial:
            response["Content-Range"] = f"bytes {download.start}-{download.end}/{download.total}"
        response["Accept-Ranges"] = "bytes"
        response["ETag"] = versions.etag(found)
        response["Content-Disposition"] = f'attachment; filename="{versions.file_name(found)}"'
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class SigningKeysApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="The public keys that sign dataset manifests (pin them in pipelines)",
        responses={200: SigningKeysOut, **errors(401)},
    )
    def get(self, request: Request) -> Response:
        return Response(SigningKeysOut({"keys": manifest.public_keys()}).data)
