"""API routes of datasets, mounted by config under /api/v1/ (namespace ``api``)."""

from django.urls import path

from datasets import api, urls_webhooks
from datasets.exports import api as versions_api

_P = "projects/<str:project_id>"

api_urlpatterns = [
    path(f"{_P}/imports/", api.ImportListApi.as_view(), name="import_list"),
    path(f"{_P}/imports/<str:import_id>", api.ImportDetailApi.as_view(), name="import_detail"),
    path(
        f"{_P}/imports/<str:import_id>/cancel",
        api.ImportCancelApi.as_view(),
        name="import_cancel",
    ),
    path(
        f"{_P}/imports/<str:import_id>/tasks",
        api.ImportTasksApi.as_view(),
        name="import_tasks",
    ),
    path(f"{_P}/tasks/", api.TaskListApi.as_view(), name="task_list"),
    path(f"{_P}/tasks/<str:task_id>", api.TaskDetailApi.as_view(), name="task_detail"),
    path(f"{_P}/tasks/<str:task_id>/image", api.TaskImageApi.as_view(), name="task_image"),
    path(f"{_P}/files/", api.FileListApi.as_view(), name="file_list"),
    path(
        f"{_P}/files/<str:file_id>/content",
        api.FileContentApi.as_view(),
        name="file_content",
    ),
    path(f"{_P}/versions/", versions_api.VersionListApi.as_view(), name="version_list"),
    path(
        f"{_P}/versions/<str:version>",
        versions_api.VersionDetailApi.as_view(),
        name="version_detail",
    ),
    path(
        f"{_P}/versions/<str:version>/manifest",
        versions_api.VersionManifestApi.as_view(),
        name="version_manifest",
    ),
    path(
        f"{_P}/versions/<str:version>/download",
        versions_api.VersionDownloadApi.as_view(),
        name="version_download",
    ),
    path("signing-keys", versions_api.SigningKeysApi.as_view(), name="signing_keys"),
    *urls_webhooks.api_urlpatterns,
]
