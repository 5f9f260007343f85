"""Annotators' standing in a project: running gold accuracy, and pausing those below the bar.

Each gold answer is scored (labeling/scoring.py) when submitted and added to the annotator's
running figures in the same transaction. A project may set ``gold_min_accuracy``: once an
annotator has answered ``gold_min_answers`` gold tasks with a mean score below it, they are
paused (the queue refuses them work) until a manager resumes them.
"""

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

import vault
from audit.services import Actor, record
from labeling.models import Annotation, Standing
from labeling.scoring import score_gold
from projects.models import Project
from projects.services import require_active

logger = logging.getLogger(__name__)

PAUSED_LOW_GOLD = "low_gold_accuracy"
PAUSED_BY_MANAGER = "manager"


def gold_answer_score(*, project: Project, annotation: Annotation, result: dict[str, Any]) -> None:
    """Score a gold task's answer and add it to the annotator's figures (unscorable: no score)."""
    task = annotation.task
    if task.gold is None:
        return
    gold = vault.unseal(project.pk, "task.gold", str(task.pk), task.gold)
    try:
        score = score_gold(
            task_type=project.task_type,
            label_schema=project.label_schema,
            result=result,
            gold=gold,
        )
    except ValueError:
        # A gold answer that does not fit the label schema (changed since the import, say):
        # the answer is kept, but says nothing about its author.
        logger.warning("gold answer of task %s cannot be scored", task.pk)
        return
    annotation.gold_score = score
    Standing.objects.get_or_create(project=project, annotator_id=annotation.annotator_id)
    Standing.objects.filter(project=project, annotator_id=annotation.annotator_id).update(
        gold_answers=F("gold_answers") + 1, gold_score_sum=F("gold_score_sum") + score
    )


def pause_if_below(*, project: Project, annotator: Any) -> bool:
    """Pause the annotator if the project's gold threshold says so. True if paused now."""
    if project.gold_min_accuracy is None:
        return False
    standing = Standing.objects.filter(project=project, annotator=annotator).first()
    if standing is None or standing.paused_at is not None:
        return False
    accuracy = standing.gold_accuracy
    if standing.gold_answers < project.gold_min_answers or accuracy is None:
        return False
    if accuracy >= project.gold_min_accuracy:
        return False
    standing.paused_at = timezone.now()
    standing.paused_reason = PAUSED_LOW_GOLD
    standing.save(update_fields=["paused_at", "paused_reason"])
    record(
        actor=Actor.system("gold-check"),
        action="annotator.paused",
        project_id=project.pk,
        object_type="user",
        object_id=str(annotator.pk),
        details={
            "reason": PAUSED_LOW_GOLD,
            "gold_accuracy": round(accuracy, 4),
            "gold_answers": standing.gold_answers,
            "threshold": project.gold_min_accuracy,
        },
    )
    return True


@transaction.atomic
def annotator_set_paused(
    *, actor: Actor, project: Project, annotator: Any, paused: bool
) -> Standing:
    """Pause or resume an annotator on a project (managers)."""
    require_active(project)
    standing, _ = Standing.objects.select_for_update().get_or_create(
        project=project, annotator=annotator
    )
    if (standing.paused_at is not None) == paused:
        return standing
    standing.paused_at = timezone.now() if paused else None
    standing.paused_reason = PAUSED_BY_MANAGER if paused else ""
    standing.save(update_fields=["paused_at", "paused_reason"])
    record(
        actor=actor,
        action="annotator.paused" if paused else "annotator.resumed",
        project_id=project.pk,
        object_type="user",
        object_id=str(annotator.pk),
        details={"reason": PAUSED_BY_MANAGER} if paused else {},
    )
    return standing
