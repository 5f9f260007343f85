"""API routes of datasets, mounted by config under /api/v1/ (namespace ``api``)."""

from django.urls import path

from datasets import api

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
]
