"""Pages of the work, mounted by config under /projects/<project_id>/ (namespace ``labeling``)."""

from django.urls import path

from labeling import views, views_dashboard

app_name = "labeling"

urlpatterns = [
    path("work/", views.workspace, name="workspace"),
    path("review/", views.review, name="review"),
    path("dashboard/", views_dashboard.dashboard, name="dashboard"),
    path("dashboard/quality", views_dashboard.quality_compute, name="dashboard_quality"),
    path(
        "dashboard/annotators/<uuid:user_id>/paused",
        views_dashboard.annotator_pause,
        name="dashboard_pause",
    ),
    path("me/", views_dashboard.mine, name="mine"),
]
