"""An export-scoped token reaches only the projects it names, and only to view and export."""

import pytest

from accounts.models import TokenScope
from core.errors import NotFound, PermissionDenied
from projects import permissions
from projects.permissions import Need, access_project
from tests.accounts.conftest import make_token
from tests.conftest import make_project


@pytest.fixture
def export_token(lab):
    # The admin may export both projects; the token names one.
    token, _ = make_token(lab.admin, TokenScope.EXPORT, [lab.project.pk])
    return token


def test_export_token_reaches_its_project_to_view_and_export(lab, export_token):
    for need in [Need.VIEW, Need.EXPORT]:
        assert (
            access_project(lab.admin, lab.project.pk, need=need, token=export_token) == lab.project
        )


@pytest.mark.parametrize("need", [Need.ANNOTATE, Need.REVIEW, Need.MANAGE])
def test_export_token_cannot_do_more_than_export(lab, export_token, need):
    with pytest.raises(PermissionDenied):
        access_project(lab.admin, lab.project.pk, need=need, token=export_token)


def test_export_token_does_not_see_other_projects_of_its_owner(lab, export_token):
    with pytest.raises(NotFound):
        access_project(lab.admin, lab.other_project.pk, need=Need.VIEW, token=export_token)
    assert list(permissions.visible_projects(lab.admin, token=export_token)) == [lab.project]
    assert permissions.needs_of(lab.admin, lab.project, token=export_token) == {
        Need.VIEW,
        Need.EXPORT,
    }


def test_full_token_carries_all_its_owners_rights(lab):
    token, _ = make_token(lab.admin, TokenScope.FULL)
    assert access_project(lab.admin, lab.other_project.pk, need=Need.MANAGE, token=token)
    assert set(permissions.visible_projects(lab.admin, token=token)) == {
        lab.project,
        lab.other_project,
    }


def test_export_token_loses_a_project_when_its_owner_loses_the_right(lab):
    token, _ = make_token(lab.manager, TokenScope.EXPORT, [lab.project.pk])
    assert access_project(lab.manager, lab.project.pk, need=Need.EXPORT, token=token)
    permissions.member_set_role(lab.project, lab.manager, None)
    with pytest.raises(NotFound):
        access_project(lab.manager, lab.project.pk, need=Need.EXPORT, token=token)


def test_export_token_does_not_reach_a_project_created_later(lab, export_token):
    later = make_project(lab.admin, name="Later")
    with pytest.raises(NotFound):
        access_project(lab.admin, later.pk, need=Need.VIEW, token=export_token)
