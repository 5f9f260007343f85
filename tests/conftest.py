"""Personas: a lab admin, one project with a member of each role, and an outsider who is a
manager of another project. Every permission test includes the outsider."""

import gc
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from rest_framework.test import APIClient

from accounts.models import User
from audit.services import Actor
from projects import services
from projects.models import Project, Role
from tests.factories import CLASSIFICATION_SCHEMA, make_user


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database, and before it is dropped, every connection the run left
    open closed.

    PostgreSQL refuses to drop a database that has a session. Django closes the connection
    ``connections`` holds in the current context; in a full run a connection on the main
    thread was left in a wrapper that context no longer holds (a test case's set-up made a
    new one): found by looking for it, as here, and the warning it caused is gone."""
    yield
    current = connections["default"]
    # type(), not isinstance(): isinstance would evaluate lazy objects among the garbage.
    for obj in gc.get_objects():
        wrapper = issubclass(type(obj), BaseDatabaseWrapper) and obj is not current
        if wrapper and obj.connection is not None:
            obj.inc_thread_sharing()  # it may be another thread's, ended or not
            obj.close()


@pytest.fixture(autouse=True)
def _clear_cache():
    # Throttle counters live in the cache (Redis in CI); each test starts from zero.
    cache.clear()
    yield
    cache.clear()


def make_project(admin: User, name: str = "Sentiment", **kwargs) -> Project:
    return services.project_create(
        actor=Actor.system(user=admin),
        name=name,
        label_schema=kwargs.pop("label_schema", CLASSIFICATION_SCHEMA),
        **kwargs,
    )


def add_member(project: Project, user: User, role: Role) -> User:
    admin = User.objects.filter(is_staff=True).first()
    services.member_add(actor=Actor.system(user=admin), project=project, user=user, role=role)
    return user


@pytest.fixture
def admin(db) -> User:
    return make_user(email="admin@lab.test", is_staff=True)


@pytest.fixture
def project(admin) -> Project:
    return make_project(admin)


@pytest.fixture
def manager(project) -> User:
    return add_member(project, make_user(email="manager@lab.test"), Role.MANAGER)


@pytest.fixture
def reviewer(project) -> User:
    return add_member(project, make_user(email="reviewer@lab.test"), Role.REVIEWER)


@pytest.fixture
def annotator(project) -> User:
    return add_member(project, make_user(email="annotator@lab.test"), Role.ANNOTATOR)


@pytest.fixture
def viewer(project) -> User:
    return add_member(project, make_user(email="viewer@lab.test"), Role.VIEWER)


@pytest.fixture
def other_project(admin) -> Project:
    return make_project(admin, name="Other lab project")


@pytest.fixture
def outsider(other_project) -> User:
    """A manager of another project: may do everything there, nothing here."""
    return add_member(other_project, make_user(email="outsider@lab.test"), Role.MANAGER)


@dataclass
class Lab:
    admin: User
    project: Project
    other_project: Project
    manager: User
    reviewer: User
    annotator: User
    viewer: User
    outsider: User


@pytest.fixture
def lab(admin, project, other_project, manager, reviewer, annotator, viewer, outsider) -> Lab:
    return Lab(admin, project, other_project, manager, reviewer, annotator, viewer, outsider)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture(autouse=True)
def vault_dirs(settings, tmp_path):
    """Keys, key store and encrypted files of each test under its own tmp_path, so no test
    sees (or rotates) keys that another test or an earlier run left in var/."""
    from vault import config

    settings.LABELKEEP_KEY_PROVIDER = "local"
    settings.LABELKEEP_MASTER_KEY_FILE = tmp_path / "master_keyring"
    settings.LABELKEEP_MASTER_KEY_GENERATE = True
    settings.LABELKEEP_KEYSTORE_URL = (tmp_path / "keystore").as_uri()
    settings.LABELKEEP_BLOB_STORE = "filesystem"
    settings.LABELKEEP_BLOB_DIR = tmp_path / "blobs"
    settings.LABELKEEP_KEY_CACHE_SECONDS = 60
    config.reset()
    yield tmp_path
    config.reset()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is deliberately slow; tests create hundreds of users. Production hashing is
    # checked by tests/accounts (the setting itself) and by logging in through real forms.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
