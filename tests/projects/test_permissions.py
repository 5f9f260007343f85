import pytest

from core.errors import NotFound, PermissionDenied
from projects import permissions
from projects.models import Role
from projects.permissions import Need, access_project


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("viewer", {Need.VIEW}),
        ("annotator", {Need.VIEW, Need.ANNOTATE}),
        ("reviewer", {Need.VIEW, Need.ANNOTATE, Need.REVIEW}),
        ("manager", set(Need)),
        ("admin", set(Need)),
        ("outsider", set()),
    ],
)
def test_each_role_has_exactly_its_bundle(lab, persona, expected):
    user = getattr(lab, persona)
    assert permissions.needs_of(user, lab.project) == expected
    for need in Need:
        assert permissions.has_need(user, lab.project, need) == (need in expected)


@pytest.mark.parametrize(
    "persona", ["viewer", "annotator", "reviewer", "manager", "admin", "outsider"]
)
def test_access_project_reads_the_role_and_agrees_with_guardian(lab, persona):
    user = getattr(lab, persona)
    granted = permissions.needs_of(user, lab.project)
    for need in Need:
        try:
            access_project(user, lab.project.pk, need=need)
            allowed = True
        except (NotFound, PermissionDenied):
            allowed = False
        assert allowed == (need in granted), need


def test_outsider_gets_not_found_like_a_missing_project(lab):
    with pytest.raises(NotFound) as seen:
        access_project(lab.outsider, lab.project.pk, need=Need.VIEW)
    with pytest.raises(NotFound) as missing:
        access_project(lab.outsider, "00000000-0000-0000-0000-000000000000", need=Need.VIEW)
    assert seen.value.message == missing.value.message
    assert seen.value.code == missing.value.code


def test_viewer_is_told_forbidden_for_a_project_it_sees(lab):
    with pytest.raises(PermissionDenied):
        access_project(lab.viewer, lab.project.pk, need=Need.MANAGE)


def test_removed_member_loses_access_on_next_check(lab):
    permissions.member_set_role(lab.project, lab.annotator, None)
    with pytest.raises(NotFound):
        access_project(lab.annotator, lab.project.pk, need=Need.VIEW)


def test_members_lists_each_member_once_with_role(lab):
    rows = {u.email: u.project_role for u in permissions.members(lab.project)}  # type: ignore[attr-defined]
    assert rows == {
        "admin@lab.test": Role.MANAGER,
        "manager@lab.test": Role.MANAGER,
        "reviewer@lab.test": Role.REVIEWER,
        "annotator@lab.test": Role.ANNOTATOR,
        "viewer@lab.test": Role.VIEWER,
    }


def test_visible_projects_are_scoped(lab):
    assert list(permissions.visible_projects(lab.annotator)) == [lab.project]
    assert list(permissions.visible_projects(lab.outsider)) == [lab.other_project]
    assert set(permissions.visible_projects(lab.admin)) == {lab.project, lab.other_project}
