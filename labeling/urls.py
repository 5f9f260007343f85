"""API routes of the work, mounted by config under /api/v1/ (namespace ``api``)."""

from django.urls import path

from labeling import api, api_quality

_P = "projects/<str:project_id>"
_T = f"{_P}/tasks/<str:task_id>"
_A = f"{_T}/annotations/<str:annotation_id>"

api_urlpatterns = [
    path(f"{_P}/next", api.NextApi.as_view(), name="next"),
    path(f"{_T}/work", api.WorkApi.as_view(), name="task_work"),
    path(f"{_T}/skip", api.SkipApi.as_view(), name="task_skip"),
    path(f"{_T}/release", api.ReleaseApi.as_view(), name="task_release"),
    path(f"{_T}/draft", api.DraftApi.as_view(), name="task_draft"),
    path(f"{_T}/annotations/", api.TaskAnnotationListApi.as_view(), name="annotation_list"),
    path(_A, api.AnnotationDetailApi.as_view(), name="annotation_detail"),
    path(f"{_A}/comments", api.CommentApi.as_view(), name="annotation_comments"),
    path(f"{_A}/review", api.ReviewApi.as_view(), name="annotation_review"),
    path(f"{_P}/reviews/next", api.ReviewNextApi.as_view(), name="review_next"),
    path(f"{_P}/annotations/", api.AnnotationListApi.as_view(), name="project_annotations"),
    path(f"{_P}/quality", api_quality.QualityApi.as_view(), name="quality"),
    path(
        f"{_P}/quality/annotators/<str:user_id>",
        api_quality.AnnotatorApi.as_view(),
        name="quality_annotator",
    ),
]
