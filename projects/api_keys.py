"""Key operations and job progress over the API: lab administrators only.

- ``GET  /api/v1/projects/{project_id}/key``: the project key's versions (ids, times; no keys);
- ``POST /api/v1/projects/{project_id}/key/rotate``: a new version for new writes;
- ``POST /api/v1/projects/{project_id}/key/reencrypt``: a job re-sealing old values (202);
- ``GET  /api/v1/jobs/{job_id}``: a background job's state, progress, counts and error;
- ``POST /api/v1/vault/master-key/rotate``: re-wrap every project key under a new master key.

Anyone but a lab administrator (or a full-scope token of one) is refused with 403 before any
project is looked up, so the answer says nothing about which projects exist; a job the caller
may not see is a 404, like a missing one. Deleting a project is ``DELETE`` on the project
itself, in ``projects.api``.
"""

from datetime import datetime
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import token_of
from audit.services import Actor
from core.api import StrictSerializer
from core.errors import NotFound
from projects import jobs, keys, selectors
from projects.api import PROJECT_ID, LabAdmin, SignedIn, errors, project_for, uuid_param
from projects.models import Project
from projects.permissions import Need
from vault.keys import KeyInfo
from vault.models import ReencryptionJob

JOB_ID = uuid_param("job_id", "The job.")


class NoFieldsIn(StrictSerializer):
    """No body, or an empty object: any field is refused."""


class MasterKeyRotateIn(StrictSerializer):
    keep_old = serializers.BooleanField(
        default=False,
        help_text="Keep the old master keys in the keyring (local provider) instead of retiring "
        "them. Retiring is what makes key-store backups from before unreadable.",
    )


class KeyVersionOut(serializers.Serializer[Any]):
    version = serializers.IntegerField()
    key_id = serializers.CharField()
    provider = serializers.CharField(help_text="`local` (keyring file) or `aws-kms`.")
    master_key_id = serializers.CharField(help_text="The master key that wraps this version.")
    created_at = serializers.DateTimeField()


class ProjectKeyOut(serializers.Serializer[Any]):
    project_id = serializers.UUIDField()
    current_version = serializers.IntegerField(help_text="The version new writes use.")
    versions = KeyVersionOut(many=True, help_text="Oldest first; all of them still decrypt.")


class JobRefOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=jobs.JOB_STATES)
    progress = serializers.FloatField(help_text="0 to 1.")
    url = serializers.SerializerMethodField(help_text="Where to follow the job.")

    @extend_schema_field(serializers.URLField())
    def get_url(self, job: Any) -> str:
        request: Request = self.context["request"]
        return request.build_absolute_uri(reverse("api:job_detail", args=[str(job.id)]))


class JobStartedOut(serializers.Serializer[Any]):
    job = JobRefOut()


class JobOut(JobRefOut):
    kind = serializers.CharField(help_text="What the job does, e.g. `reencryption`.")
    project_id = serializers.UUIDField(allow_null=True)
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Per kind; re-encryption: `total` values, `done` examined, `resealed`.",
    )
    details = serializers.DictField(help_text="Per kind; re-encryption: `target_version`.")
    error = serializers.CharField(allow_null=True, help_text="An error code once it failed.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class RewrapOut(serializers.Serializer[Any]):
    master_key_id = serializers.CharField(help_text="The master key that now wraps every key.")
    projects = serializers.IntegerField(help_text="Projects whose keys were examined.")
    versions = serializers.IntegerField(help_text="Key versions examined.")
    rewrapped = serializers.IntegerField(help_text="Key versions re-wrapped.")


def _key_out(project: Project, versions: list[KeyInfo]) -> dict[str, Any]:
    rows = [
        {
            "version": info.version,
            "key_id": info.key_id,
            "provider": info.provider,
            "master_key_id": info.master_key_id,
            "created_at": datetime.fromisoformat(info.created_at),
        }
        for info in versions
    ]
    body = {"project_id": project.pk, "current_version": versions[-1].version, "versions": rows}
    return ProjectKeyOut(body).data


def _no_fields(request: Request) -> None:
    NoFieldsIn(data=request.data).is_valid(raise_exception=True)


class ProjectKeyApi(APIView):
    permission_classes = [LabAdmin]

    @extend_schema(
        summary="The versions of a project's key (lab admins); never key material",
        parameters=[PROJECT_ID],
        responses={200: ProjectKeyOut, **errors(401, 403, 404, 503)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        return Response(_key_out(project, selectors.project_key_list(project=project)))


class ProjectKeyRotateApi(APIView):
    permission_classes = [LabAdmin]

    @extend_schema(
        summary="Rotate a project's key (lab admins)",
        description="Adds a key version that new writes use; data under older versions still "
        "opens. Re-encrypting old data under the new version is a separate job (`reencrypt`).",
        parameters=[PROJECT_ID],
        request=NoFieldsIn,
        responses={200: ProjectKeyOut, **errors(400, 401, 403, 404, 409, 503)},
    )
    def post(self, request: Request, project_id: str) -> Response:
        _no_fields(request)
        project = project_for(request, project_id, Need.MANAGE)
        keys.project_key_rotate(actor=Actor.from_request(request), project=project)
        return Response(_key_out(project, selectors.project_key_list(project=project)))


class ProjectReencryptApi(APIView):
    permission_classes = [LabAdmin]

    @extend_schema(
        summary="Re-encrypt a project's stored values under its newest key (lab admins)",
        description="Starts a background job (202); follow it at `job.url`. Refused (409, "
        "`reencryption_under_way`, `details.job`) while another one of the project runs.",
        parameters=[PROJECT_ID],
        request=NoFieldsIn,
        responses={202: JobStartedOut, **errors(400, 401, 403, 404, 409, 503)},
    )
    def post(self, request: Request, project_id: str) -> Response:
        _no_fields(request)
        project = project_for(request, project_id, Need.MANAGE)
        job = keys.project_reencrypt_start(actor=Actor.from_request(request), project=project)
        return Response(_job_started(request, job), status=status.HTTP_202_ACCEPTED)


def _job_started(request: Request, job: ReencryptionJob) -> dict[str, Any]:
    job.refresh_from_db()  # with Celery in eager mode the job has run already
    body = {"job": jobs.reencryption_status(job)}
    return JobStartedOut(body, context={"request": request}).data


class JobDetailApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="A background job's state, progress, counts and error",
        description="Re-encryption jobs are visible to lab admins only; any job the caller may "
        "not see is a 404, like a missing one.",
        parameters=[JOB_ID],
        responses={200: JobOut, **errors(401, 404)},
    )
    def get(self, request: Request, job_id: str) -> Response:
        found = jobs.job_status_get(user=request.user, token=token_of(request), job_id=job_id)
        if found is None:
            raise NotFound("Job not found.", code="job_not_found")
        return Response(JobOut(found, context={"request": request}).data)


class MasterKeyRotateApi(APIView):
    permission_classes = [LabAdmin]

    @extend_schema(
        summary="Rotate the master key (lab admins): re-wrap every project key",
        description="No data is rewritten and nothing stops. With the local keyring a new "
        "master key is added and the old ones retired; with KMS, point `LABELKEEP_KMS_KEY_ID` "
        "at the new KMS key and restart first (docs/encryption.md).",
        request=MasterKeyRotateIn,
        responses={200: RewrapOut, **errors(400, 401, 403, 503)},
    )
    def post(self, request: Request) -> Response:
        data = MasterKeyRotateIn(data=request.data)
        data.is_valid(raise_exception=True)
        report = keys.master_key_rotate(
            actor=Actor.from_request(request), retire_old=not data.validated_data["keep_old"]
        )
        return Response(RewrapOut(report).data)
