"""URLs of projects: pages under /projects/ (namespace ``projects``), the invitation link under
/invitations/ (namespace ``invitations``), and the API routes that config mounts under /api/v1/.
"""

from django.urls import path

from projects import api, api_invitations, api_keys, views, views_keys

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("new", views.project_create, name="create"),
    path("invitations/", views.lab_invitations, name="lab_invitations"),
    path(
        "invitations/<uuid:invitation_id>/revoke",
        views.lab_invitation_revoke,
        name="lab_invitation_revoke",
    ),
    path("deleted/<uuid:receipt_id>", views_keys.deletion_receipt, name="deleted"),
    path("<uuid:project_id>/", views.project_detail, name="detail"),
    path("<uuid:project_id>/settings", views.project_settings, name="settings"),
    path("<uuid:project_id>/archive", views.project_archive, name="archive"),
    path("<uuid:project_id>/delete", views_keys.project_delete, name="delete"),
    path("<uuid:project_id>/key/rotate", views_keys.key_rotate, name="key_rotate"),
    path("<uuid:project_id>/key/reencrypt", views_keys.key_reencrypt, name="key_reencrypt"),
    path("<uuid:project_id>/members", views.project_members, name="members"),
    path("<uuid:project_id>/members/<uuid:user_id>/role", views.member_role, name="member_role"),
    path(
        "<uuid:project_id>/members/<uuid:user_id>/remove",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "<uuid:project_id>/invitations/<uuid:invitation_id>/revoke",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
]

# The link mailed to invitees: SITE_URL/invitations/<token>/ (see invitations.invitation_url).
invitation_urlpatterns = [
    path("<str:token>/", views.invitation_accept, name="accept"),
]

# Path parameters are plain strings parsed by the gate, so a malformed id gets the API's JSON
# 404 like a missing one, rather than the URL resolver's HTML page.
api_urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="project_list"),
    path("projects/<str:project_id>", api.ProjectDetailApi.as_view(), name="project_detail"),
    path("projects/<str:project_id>/key", api_keys.ProjectKeyApi.as_view(), name="project_key"),
    path(
        "projects/<str:project_id>/key/rotate",
        api_keys.ProjectKeyRotateApi.as_view(),
        name="project_key_rotate",
    ),
    path(
        "projects/<str:project_id>/key/reencrypt",
        api_keys.ProjectReencryptApi.as_view(),
        name="project_key_reencrypt",
    ),
    path("jobs/<str:job_id>", api_keys.JobDetailApi.as_view(), name="job_detail"),
    path(
        "vault/master-key/rotate", api_keys.MasterKeyRotateApi.as_view(), name="master_key_rotate"
    ),
    path("projects/<str:project_id>/members/", api.MemberListApi.as_view(), name="member_list"),
    path(
        "projects/<str:project_id>/members/<str:user_id>",
        api.MemberDetailApi.as_view(),
        name="member_detail",
    ),
    path(
        "projects/<str:project_id>/invitations/",
        api_invitations.ProjectInvitationListApi.as_view(),
        name="project_invitation_list",
    ),
    path(
        "projects/<str:project_id>/invitations/<str:invitation_id>",
        api_invitations.ProjectInvitationDetailApi.as_view(),
        name="project_invitation_detail",
    ),
    path(
        "invitations/", api_invitations.LabInvitationListApi.as_view(), name="lab_invitation_list"
    ),
    path(
        "invitations/<str:token>/accept",
        api_invitations.InvitationAcceptApi.as_view(),
        name="invitation_accept",
    ),
    path(
        "invitations/<str:invitation_id>",
        api_invitations.LabInvitationDetailApi.as_view(),
        name="lab_invitation_detail",
    ),
]
