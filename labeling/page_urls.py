"""Pages of the work, mounted by config under /projects/<project_id>/ (namespace ``labeling``)."""

from django.urls import path

from labeling import views

app_name = "labeling"

urlpatterns = [
    path("work/", views.workspace, name="workspace"),
    path("review/", views.review, name="review"),
]
