"""A hypothesis state machine over the queue: claim, submit, skip, release, lease expiry.

After every step, for every task: its free slots are k minus the annotations that hold one,
its count is the annotations that count, it is complete exactly when that count reaches k, and
no annotator has it twice. Each example runs in a project of its own.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from accounts.models import User
from audit.services import Actor
from core.errors import Conflict
from labeling import annotations, queue
from labeling.models import Annotation, AnnotationStatus, Task
from projects.models import Role
from tests.conftest import add_member, make_project
from tests.factories import make_user
from tests.labeling.work import make_texts

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PEOPLE = 4


class Queue(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        admin = User.objects.get(email="admin@lab.test")
        self.overlap = 2
        self.project = make_project(admin, name="States", overlap=self.overlap)
        self.people = [add_member(self.project, make_user(), Role.ANNOTATOR) for _ in range(PEOPLE)]
        self.tasks = make_texts(self.project, 5)

    def _actor(self, who: int) -> Actor:
        return Actor.system(user=self.people[who])

    def _held(self, who: int) -> list[Annotation]:
        return list(
            Annotation.objects.filter(
                project=self.project, annotator=self.people[who], status=AnnotationStatus.LEASED
            )
        )

    @rule(who=st.integers(0, PEOPLE - 1), prefetch=st.booleans())
    def claim(self, who: int, prefetch: bool) -> None:
        # Leases that ran out count no more: a claim returns them to the queue first.
        now = timezone.now()
        held = len([a for a in self._held(who) if a.lease_expires_at and a.lease_expires_at > now])
        claim = lambda: queue.next_task(  # noqa: E731
            actor=self._actor(who), project=self.project, resume=not prefetch
        )
        if held >= queue.MAX_LEASES and prefetch:
            with pytest.raises(Conflict, match="already hold"):
                claim()
        else:
            claim()

    @rule(who=st.integers(0, PEOPLE - 1), pick=st.integers(0, 10))
    def submit(self, who: int, pick: int) -> None:
        held = self._held(who)
        if held:
            annotation = held[pick % len(held)]
            annotations.annotation_submit(
                actor=self._actor(who),
                project=self.project,
                task_id=annotation.task_id,
                result={"labels": ["Positive"]},
            )

    @rule(who=st.integers(0, PEOPLE - 1), pick=st.integers(0, 10), skip=st.booleans())
    def give_back(self, who: int, pick: int, skip: bool) -> None:
        held = self._held(who)
        if not held:
            return
        task_id = held[pick % len(held)].task_id
        if skip:
            queue.task_skip(
                actor=self._actor(who), project=self.project, task_id=task_id, reason="unclear"
            )
        else:
            queue.task_release(actor=self._actor(who), project=self.project, task_id=task_id)

    @rule(who=st.integers(0, PEOPLE - 1))
    def lease_runs_out(self, who: int) -> None:
        past = timezone.now() - timedelta(seconds=1)
        Annotation.objects.filter(
            project=self.project, annotator=self.people[who], status=AnnotationStatus.LEASED
        ).update(lease_expires_at=past)

    @rule()
    def expiry_job(self) -> None:
        queue.leases_expire(project_id=self.project.pk, now=timezone.now())

    @rule(who=st.integers(0, PEOPLE - 1), pick=st.integers(0, 10))
    def late_submit(self, who: int, pick: int) -> None:
        """A submission after the lease ran out: taken while a slot is free, else refused."""
        gone = list(
            Annotation.objects.filter(
                project=self.project,
                annotator=self.people[who],
                status__in=[AnnotationStatus.EXPIRED, AnnotationStatus.RELEASED],
            )
        )
        if not gone:
            return
        annotation = gone[pick % len(gone)]
        task = Task.objects.get(pk=annotation.task_id)
        late = lambda: annotations.annotation_submit(  # noqa: E731
            actor=self._actor(who),
            project=self.project,
            task_id=annotation.task_id,
            result={"labels": ["Negative"]},
        )
        if task.state == "open" and task.open_slots > 0:
            late()
        else:
            with pytest.raises(Conflict, match="ran out"):
                late()

    @invariant()
    def slots_and_counts_add_up(self) -> None:
        rows = Annotation.objects.filter(project=self.project)
        assert max(Counter(rows.values_list("task_id", "annotator_id")).values(), default=1) == 1
        holding = Counter(a.task_id for a in rows if a.holds_slot)
        counted = Counter(
            rows.filter(status=AnnotationStatus.SUBMITTED).values_list("task_id", flat=True)
        )
        for task in Task.objects.filter(project=self.project):
            assert task.open_slots == self.overlap - holding[task.pk], task
            assert task.annotation_count == counted[task.pk]
            assert (task.state == "complete") == (task.annotation_count >= self.overlap)


def test_the_queue_keeps_its_books_whatever_the_order(admin):
    run = Queue.TestCase
    run.settings = settings(
        max_examples=40,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    run().runTest()
