"""Keeping the queue's free slots right when a manager changes a project's overlap.

Raising k from 1 to 3 gives every open task two more slots, and reopens complete tasks that now
need more annotations; lowering it takes free slots away, and completes the tasks that already
have enough. One UPDATE per case, in the transaction of the project's update (it touches every
task of the project, which is why the settings page says a change of overlap is not instant on
a large project).
"""

from django.db.models import F, Value
from django.db.models.functions import Greatest

from labeling.models import Task, TaskState
from projects import services
from projects.models import Project


def tasks_follow_overlap(project: Project, old: int) -> None:
    new = project.overlap
    tasks = Task.objects.filter(project=project, is_gold=False)
    if new > old:
        tasks.filter(state=TaskState.OPEN).update(open_slots=F("open_slots") + (new - old))
        # A complete task holds no free slot: what it needs now is all free.
        tasks.filter(state=TaskState.COMPLETE, annotation_count__lt=new).update(
            state=TaskState.OPEN, open_slots=new - F("annotation_count")
        )
    else:
        tasks.filter(state=TaskState.OPEN).update(
            open_slots=Greatest(F("open_slots") - (old - new), Value(0))
        )
        tasks.filter(state=TaskState.OPEN, annotation_count__gte=new).update(
            state=TaskState.COMPLETE, open_slots=0
        )


def register() -> None:
    if tasks_follow_overlap not in services.OVERLAP_CHANGED:
        services.OVERLAP_CHANGED.append(tasks_follow_overlap)
