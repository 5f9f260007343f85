"""`make run` gives the demo project tasks through a real import, once."""

import io

import pytest
from django.core.management import CommandError, call_command

from datasets.models import Import, ImportState
from labeling.models import Task

pytestmark = pytest.mark.django_db


def test_the_demo_project_gets_its_sample_tasks_once(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.VAR_DIR = tmp_path
    call_command("demo_lab", allow_production=True, stdout=io.StringIO())
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_tasks", allow_production=True, stdout=io.StringIO())
    imp = Import.objects.get()
    assert imp.state == ImportState.SUCCEEDED, imp.problems
    assert Task.objects.filter(project=imp.project, state="open").count() == 20
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_tasks", allow_production=True, stdout=io.StringIO())
    assert Import.objects.count() == 1


@pytest.mark.parametrize("command", ["demo_lab", "demo_tasks"])
def test_demo_commands_refuse_a_production_database(settings, command):
    settings.EMBEDDED = False
    with pytest.raises(CommandError, match="only runs in embedded mode"):
        call_command(command, stdout=io.StringIO())
    assert Import.objects.count() == 0
