"""Every project gets its key when it is created, recorded in the audit log."""

from audit.models import AuditEvent
from vault import config


def test_creating_a_project_creates_its_key_and_records_it(project):
    (info,) = config.project_keys().versions(project.pk)
    event = AuditEvent.objects.get(project_id=project.pk, action="key.created")
    assert event.object_id == info.key_id == f"pk-{project.pk}-v1"
    assert event.details == {"version": 1, "provider": "local"}
