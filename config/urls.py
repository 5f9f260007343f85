from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import urls as accounts_urls
from core import views as core_views
from datasets import urls as datasets_urls
from labeling import urls as labeling_urls
from projects import api_tokens, audit_viewer, views_tokens
from projects import urls as projects_urls

# Django tries the routes in order, each a regular expression: the work's routes (every
# next-task and submit) come first, and the API before the pages. No route shadows another
# (tests/core/test_urls.py), so the order changes only the cost of resolving.
api_v1 = [
    *labeling_urls.api_urlpatterns,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    *accounts_urls.api_urls,
    *api_tokens.api_urls,
    *projects_urls.api_urlpatterns,
    *datasets_urls.api_urlpatterns,
    path("audit/events", audit_viewer.AuditEventListApi.as_view(), name="audit_events"),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"))),
    path("", RedirectView.as_view(pattern_name="projects:list"), name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("account/", include(([*accounts_urls.page_urls, *views_tokens.page_urls], "accounts"))),
    path("projects/", include(projects_urls)),
    path("projects/<uuid:project_id>/", include("datasets.page_urls")),
    path("projects/<uuid:project_id>/", include("labeling.page_urls")),
    path("invitations/", include((projects_urls.invitation_urlpatterns, "invitations"))),
    path("audit/", include((audit_viewer.page_urls, "audit"))),
]
