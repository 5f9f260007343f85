"""Account pages (mounted under /account/ in the ``accounts`` namespace) and the ``me`` API.

config/urls.py mounts these lists: the token pages and API live in projects/ (export-scoped
tokens name projects), so the namespace is assembled there.
"""

from django.urls import path

from accounts import api, views

page_urls = [
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    path("password/", views.password_change_page, name="password_change"),
    path("password/reset/", views.password_reset_page, name="password_reset"),
    path("password/reset/sent/", views.password_reset_sent_page, name="password_reset_sent"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.password_reset_confirm_page,
        name="password_reset_confirm",
    ),
]

api_urls = [
    path("me", api.MeApi.as_view(), name="me"),
]
