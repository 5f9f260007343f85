"""The work over the API: the queue, annotations, review (quality is in ``api_quality``).

- ``POST /api/v1/projects/{project_id}/next``: lease the next task (200), or 204 when none.
- ``GET  .../tasks/{task_id}/work``: a task the queue gave you, as your workspace shows it.
- ``POST .../tasks/{task_id}/skip``, ``POST .../tasks/{task_id}/release``.
- ``PUT  .../tasks/{task_id}/draft``: autosave.
- ``POST .../tasks/{task_id}/annotations/``: submit; ``GET`` lists the task's annotations.
- ``GET|PATCH .../tasks/{task_id}/annotations/{annotation_id}``: read (audited), edit.
- ``POST .../tasks/{task_id}/annotations/{annotation_id}/comments``.
- ``POST .../reviews/next``; ``POST .../tasks/{task_id}/annotations/{annotation_id}/review``.
- ``GET  .../annotations/``: the project's annotations (yours, or all for reviewers).

Annotating needs ``annotate_project``; reading others' annotations and reviewing need
``review_project``. An annotator reaches only the tasks the queue gave them; anything else
answers 404, like a task that does not exist.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import token_of
from audit.services import Actor
from core.api import CursorPagination
from core.errors import PermissionDenied
from labeling import annotations, queue, review, selectors
from labeling import serializers as s
from projects.api import PROJECT_ID, SignedIn, errors, page_of, project_for, uuid_param
from projects.models import Project
from projects.permissions import Need, can_review

TASK_ID = uuid_param("task_id", "The task.")
ANNOTATION_ID = uuid_param("annotation_id", "The annotation.")
_NONE_LEFT = OpenApiResponse(description="No task is left for you (or none awaits review).")


def _sees_all(request: Request, project: Project) -> bool:
    return can_review(request.user, project, token=token_of(request))


def _work(request: Request, project_id: str) -> tuple[Project, Actor]:
    return project_for(request, project_id, Need.ANNOTATE), Actor.from_request(request)


class NextApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Lease the next task (annotators)",
        description="Highest priority, then oldest, among the tasks that still need an "
        "annotation and that you have not been given before. The lease lasts the project's "
        "`lease_seconds`; a lease that runs out returns the task to the queue. Gold tasks are "
        "mixed in at the project's rate and look like any other. Reading the task is audited.",
        parameters=[PROJECT_ID],
        request=s.NextIn,
        responses={200: s.WorkOut, 204: _NONE_LEFT, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str) -> Response:
        data = s.NextIn(data=request.data)
        data.is_valid(raise_exception=True)
        project, actor = _work(request, project_id)
        work = queue.next_task(actor=actor, project=project, resume=data.validated_data["resume"])
        if work is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(s.work_out(work))


class WorkApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Open a task the queue gave you, with your draft or answer (audited)",
        parameters=[PROJECT_ID, TASK_ID],
        responses={200: s.WorkOut, **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str, task_id: str) -> Response:
        project, actor = _work(request, project_id)
        return Response(s.work_out(queue.work_open(actor=actor, project=project, task_id=task_id)))


class SkipApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Skip a task you hold, with a reason; it will not come back to you",
        parameters=[PROJECT_ID, TASK_ID],
        request=s.SkipIn,
        responses={200: s.AnnotationOut, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str, task_id: str) -> Response:
        data = s.SkipIn(data=request.data)
        data.is_valid(raise_exception=True)
        project, actor = _work(request, project_id)
        annotation = queue.task_skip(
            actor=actor, project=project, task_id=task_id, **data.validated_data
        )
        return Response(s.annotation_out(annotation))


class ReleaseApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Give back a task you hold, unanswered",
        parameters=[PROJECT_ID, TASK_ID],
        request=None,
        responses={200: s.AnnotationOut, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str, task_id: str) -> Response:
        project, actor = _work(request, project_id)
        annotation = queue.task_release(actor=actor, project=project, task_id=task_id)
        return Response(s.annotation_out(annotation))


class DraftApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Save your work in progress on a task (autosave)",
        parameters=[PROJECT_ID, TASK_ID],
        request=s.DraftIn,
        responses={200: s.AnnotationOut, **errors(400, 401, 403, 404, 409)},
    )
    def put(self, request: Request, project_id: str, task_id: str) -> Response:
        data = s.DraftIn(data=request.data)
        data.is_valid(raise_exception=True)
        project, actor = _work(request, project_id)
        annotation = annotations.annotation_draft_save(
            actor=actor, project=project, task_id=task_id, **data.validated_data
        )
        return Response(s.annotation_out(annotation))


class AnnotationPagination(CursorPagination):
    ordering = "-created_at"


def _list_response(
    view: APIView, request: Request, project: Project, filters: dict[str, Any]
) -> Response:
    rows = selectors.annotation_list(
        project=project, user=request.user, sees_all=_sees_all(request, project), filters=filters
    )
    paginator = AnnotationPagination()
    page = page_of(paginator, rows, request, view)
    return paginator.get_paginated_response([s.annotation_out(a) for a in page])


class TaskAnnotationListApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="List a task's annotations, without content (yours; all for reviewers)",
        parameters=[PROJECT_ID, TASK_ID],
        responses={200: s.AnnotationOut(many=True), **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, project_id: str, task_id: str) -> Response:
        project = project_for(request, project_id, Need.ANNOTATE)
        task = selectors.task_visible(
            project=project,
            user=request.user,
            sees_all=_sees_all(request, project),
            task_id=task_id,
        )
        return _list_response(self, request, project, {"task": task.pk})

    @extend_schema(
        summary="Submit your answer to a task the queue gave you",
        description="The result is checked against the project's label schema and the task's "
        "data; a 400 names the offending field (`details.field`, e.g. `result.spans[2].end`). "
        "A lease that ran out is renewed if the task still has a free slot (else 409 "
        "`lease_expired`, your draft kept).",
        parameters=[PROJECT_ID, TASK_ID],
        request=s.ResultIn,
        responses={201: s.AnnotationOut, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str, task_id: str) -> Response:
        data = s.ResultIn(data=request.data)
        data.is_valid(raise_exception=True)
        project, actor = _work(request, project_id)
        annotation = annotations.annotation_submit(
            actor=actor, project=project, task_id=task_id, **data.validated_data
        )
        return Response(s.annotation_out(annotation), status=status.HTTP_201_CREATED)


def _annotation(request: Request, project: Project, task_id: str, annotation_id: str) -> Any:
    return selectors.annotation_get(
        project=project,
        user=request.user,
        sees_all=_sees_all(request, project),
        task_id=task_id,
        annotation_id=annotation_id,
    )


class AnnotationDetailApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Read an annotation: result, revisions, reviews, comments (audited)",
        parameters=[PROJECT_ID, TASK_ID, ANNOTATION_ID],
        responses={200: s.AnnotationDetailOut, **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str, task_id: str, annotation_id: str) -> Response:
        project, actor = _work(request, project_id)
        annotation = _annotation(request, project, task_id, annotation_id)
        view = selectors.annotation_open(actor=actor, project=project, annotation=annotation)
        return Response(s.AnnotationDetailOut(view).data)

    @extend_schema(
        summary="Edit your submitted annotation (a new revision)",
        description="Refused (409) once a reviewer has accepted it. A rejected annotation, "
        "edited, goes back to review if the task still has a free slot.",
        parameters=[PROJECT_ID, TASK_ID, ANNOTATION_ID],
        request=s.ResultIn,
        responses={200: s.AnnotationOut, **errors(400, 401, 403, 404, 409)},
    )
    def patch(
        self, request: Request, project_id: str, task_id: str, annotation_id: str
    ) -> Response:
        data = s.ResultIn(data=request.data)
        data.is_valid(raise_exception=True)
        project, actor = _work(request, project_id)
        mine = _annotation(request, project, task_id, annotation_id)
        if mine.annotator_id != request.user.pk:
            raise PermissionDenied("Only its author edits an annotation.", code="not_author")
        annotation = annotations.annotation_revise(
            actor=actor, project=project, task_id=task_id, **data.validated_data
        )
        return Response(s.annotation_out(annotation))


class CommentApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Comment on an annotation (its author, reviewers, managers)",
        parameters=[PROJECT_ID, TASK_ID, ANNOTATION_ID],
        request=s.CommentIn,
        responses={201: s.NoteOut, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str, task_id: str, annotation_id: str) -> Response:
        data = s.CommentIn(data=request.data)
        data.is_valid(raise_exception=True)
        project, actor = _work(request, project_id)
        annotation = _annotation(request, project, task_id, annotation_id)
        comment = annotations.comment_add(
            actor=actor, project=project, annotation=annotation, body=data.validated_data["body"]
        )
        out = {"id": comment.pk, "author": comment.author, "created_at": comment.created_at}
        return Response(
            s.NoteOut({**out, "text": data.validated_data["body"].strip()}).data,
            status=status.HTTP_201_CREATED,
        )


class ReviewNextApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Lease the next submission awaiting review (reviewers)",
        description="The oldest submission by someone else, or the one you already hold. "
        "Reading it is audited.",
        parameters=[PROJECT_ID],
        request=None,
        responses={200: s.ReviewWorkOut, 204: _NONE_LEFT, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.REVIEW)
        work = review.review_next(actor=Actor.from_request(request), project=project)
        if work is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(s.ReviewWorkOut(work).data)


class ReviewApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Accept, reject (with a comment) or correct a submission (reviewers)",
        parameters=[PROJECT_ID, TASK_ID, ANNOTATION_ID],
        request=s.ReviewIn,
        responses={201: s.ReviewDoneOut, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str, task_id: str, annotation_id: str) -> Response:
        data = s.ReviewIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_for(request, project_id, Need.REVIEW)
        _annotation(request, project, task_id, annotation_id)  # scoped by its task
        done = review.review_decide(
            actor=Actor.from_request(request),
            project=project,
            annotation_id=annotation_id,
            **data.validated_data,
        )
        return Response(s.ReviewDoneOut(done).data, status=status.HTTP_201_CREATED)


class AnnotationListApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="List the project's annotations, without content (yours; all for reviewers)",
        parameters=[
            PROJECT_ID,
            OpenApiParameter("status", OpenApiTypes.STR),
            OpenApiParameter("review_state", OpenApiTypes.STR),
            OpenApiParameter("annotator", OpenApiTypes.UUID),
            OpenApiParameter("task", OpenApiTypes.UUID),
        ],
        responses={200: s.AnnotationOut(many=True), **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        query = s.AnnotationListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        project = project_for(request, project_id, Need.ANNOTATE)
        return _list_response(self, request, project, query.validated_data)
