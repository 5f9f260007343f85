"""Pages of datasets, mounted by config under /projects/<project_id>/ (namespace ``datasets``)."""

from django.urls import path

from datasets import views

app_name = "datasets"

urlpatterns = [
    path("imports/", views.import_list, name="imports"),
    path("imports/<uuid:import_id>", views.import_detail, name="import_detail"),
    path(
        "imports/<uuid:import_id>/delete-tasks",
        views.import_tasks_delete,
        name="import_tasks_delete",
    ),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<uuid:task_id>", views.task_detail, name="task_detail"),
]
