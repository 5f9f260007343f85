"""The lab's pages of the work: the project dashboard (reviewers, managers) and an annotator's
own history, figures and the reviewers' feedback on their work.

The dashboard reads counts, dates and the latest quality report's figures, never content, and
records nothing; the two buttons (compute the figures now, pause or resume an annotator) call
the services, which record ``quality.requested`` and ``annotator.paused``/``annotator.resumed``.
"My work" shows the feedback on the caller's newest reviewed or commented answers: each one is
opened through the selectors, as the API opens it, and recorded as ``annotation.read``.
Charts are drawn server-side as inline SVG sized by attributes, since the CSP allows no inline
style or script.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import TruncDate
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit.services import Actor
from core.errors import ApplicationError
from labeling import quality, selectors, standing
from labeling.models import (
    Annotation,
    AnnotationStatus,
    Decision,
    QualityReport,
    ReportState,
    ReviewState,
    Standing,
    Task,
    TaskState,
)
from projects.models import Project
from projects.permissions import Need, can_manage, members
from projects.views import project_for_page, render_project_page

THROUGHPUT_DAYS = 30
HISTORY_PER_PAGE = 50
# "My work" opens (unseals and records) the feedback of this many answers at most, the newest.
FEEDBACK_SHOWN = 10
# Per-label statistics in the order they are preferred, with the name the page shows.
STATISTICS = (
    ("krippendorff_alpha", "Krippendorff's \N{GREEK SMALL LETTER ALPHA}"),
    ("krippendorff_alpha_interval", "Krippendorff's \N{GREEK SMALL LETTER ALPHA} (interval)"),
    ("f1", "F1 (exact)"),
    ("cohen_kappa", "Cohen's \N{GREEK SMALL LETTER KAPPA}"),
)
# The chart's drawing box; bars are sized in these units and the SVG scales to the page.
CHART_HEIGHT = 80
BAR_STEP = 12


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    percent: float


@dataclass(frozen=True)
class Day:
    date: Any
    count: int
    x: int
    y: int
    height: int


def progress(project: Project) -> dict[str, Any]:
    """Tasks done, awaiting review, remaining and gold, in one grouped query."""
    pending = Annotation.objects.filter(
        project=project, task=OuterRef("pk"), review_state=ReviewState.PENDING
    )
    work = Q(is_gold=False, state=TaskState.OPEN)
    counts = Task.objects.filter(project=project).aggregate(
        done=Count("pk", filter=Q(is_gold=False, state=TaskState.COMPLETE)),
        in_review=Count("pk", filter=work & Q(Exists(pending))),
        remaining=Count("pk", filter=work & ~Q(Exists(pending))),
        gold=Count("pk", filter=Q(is_gold=True) & ~Q(state=TaskState.STAGED)),
    )
    total = counts["done"] + counts["in_review"] + counts["remaining"]
    names = (("done", "Done"), ("in_review", "In review"), ("remaining", "Remaining"))
    bars = [Bar(label, counts[key], _percent(counts[key], total)) for key, label in names]
    return {"bars": bars, "total": total, "gold": counts["gold"], **counts}


def _percent(part: float, whole: float) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def throughput(project: Project) -> dict[str, Any]:
    """Submissions per day (UTC) over the last ``THROUGHPUT_DAYS`` days, as chart bars."""
    today = timezone.now().date()
    first = today - timedelta(days=THROUGHPUT_DAYS - 1)
    since = timezone.now() - timedelta(days=THROUGHPUT_DAYS + 1)
    rows = (
        Annotation.objects.filter(
            project=project, status=AnnotationStatus.SUBMITTED, submitted_at__gte=since
        )
        .annotate(day=TruncDate("submitted_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    per_day = {row["day"]: row["n"] for row in rows}
    counts = [per_day.get(first + timedelta(days=i), 0) for i in range(THROUGHPUT_DAYS)]
    top = max(counts) or 1
    days = []
    for i, count in enumerate(counts):
        height = round(CHART_HEIGHT * count / top)
        date = first + timedelta(days=i)
        days.append(Day(date, count, i * BAR_STEP, CHART_HEIGHT - height, height))
    return {
        "days": days,
        "total": sum(counts),
        "top": max(counts),
        "width": THROUGHPUT_DAYS * BAR_STEP,
        "height": CHART_HEIGHT,
    }


def agreement_bars(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Per label: the statistic named, its value, and a bar (negative values draw none)."""
    out = []
    for label, stats in sorted(figures.get("per_label", {}).items()):
        key, name = next(((k, n) for k, n in STATISTICS if k in stats), (None, ""))
        value = stats.get(key) if key is not None else None
        width = 0.0 if value is None else round(100 * min(max(value, 0.0), 1.0), 1)
        out.append({"label": label, "statistic": name, "value": value, "percent": width})
    return out


def annotator_rows(
    project: Project, figures: dict[str, Any], *, manages: bool
) -> list[dict[str, Any]]:
    """The report's annotator rows with whether each is paused now; emails for managers only
    (as the API gives them), ids otherwise."""
    standings = {str(s.annotator_id): s for s in Standing.objects.filter(project=project)}
    emails = {str(u.pk): u.email for u in members(project)} if manages else {}
    rows = []
    for row in figures.get("annotators", []):
        held = standings.get(row["annotator"])
        rows.append(
            {
                **row,
                "who": emails.get(row["annotator"], row["annotator"]),
                "paused": bool(held and held.paused_at),
                "paused_reason": held.paused_reason if held else "",
            }
        )
    return rows


def _report_context(project: Project) -> dict[str, Any]:
    report: QualityReport | None = quality.quality_latest(project)
    return {
        "report": report,
        "figures": report.figures if report is not None else {},
        "live": quality.quality_live(project),
    }


@never_cache
@login_required
@require_GET
def dashboard(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = project_for_page(request, project_id, Need.REVIEW)
    context = _report_context(project)
    manages = can_manage(request.user, project)
    return render_project_page(
        request,
        "labeling/dashboard.html",
        project,
        tab="dashboard",
        progress=progress(project),
        throughput=throughput(project),
        agreement=agreement_bars(context["figures"]),
        annotators=annotator_rows(project, context["figures"], manages=manages),
        manages=manages,
        **context,
    )


@login_required
@require_POST
def quality_compute(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = project_for_page(request, project_id, Need.REVIEW)
    report = quality.quality_request(actor=Actor.from_request(request), project=project)
    report.refresh_from_db()  # an eager Celery (embedded mode) has finished it already
    done = report.state == ReportState.SUCCEEDED
    messages.success(
        request, "Quality figures computed." if done else "The quality figures are being computed."
    )
    return redirect("labeling:dashboard", project_id=project.pk)


@login_required
@require_POST
def annotator_pause(
    request: HttpRequest, project_id: uuid.UUID, user_id: uuid.UUID
) -> HttpResponse:
    project = project_for_page(request, project_id, Need.MANAGE)
    person = members(project).filter(pk=user_id).first()
    if person is None:
        raise Http404("Member not found.")
    paused = request.POST.get("paused") == "true"
    try:
        standing.annotator_set_paused(
            actor=Actor.from_request(request), project=project, annotator=person, paused=paused
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{person.email} is {'paused' if paused else 'resumed'}.")
    return redirect("labeling:dashboard", project_id=project.pk)


def history(project: Project, user: Any) -> Any:
    """The user's own submitted and skipped annotations, newest first, with the number of
    reviewers' notes on each (review comments and others' comments), without content."""
    others = Q(comments__author_id__isnull=False) & ~Q(comments__author_id=F("annotator_id"))
    return (
        Annotation.objects.filter(
            project=project,
            annotator=user,
            status__in=[AnnotationStatus.SUBMITTED, AnnotationStatus.SKIPPED],
        )
        .annotate(
            review_notes=Count("reviews", filter=Q(reviews__comment__isnull=False), distinct=True),
            other_notes=Count("comments", filter=others, distinct=True),
        )
        .order_by(F("submitted_at").desc(nulls_last=True), "-updated_at", "pk")
    )


@dataclass(frozen=True)
class Note:
    who: str  # "You", or "Reviewer" for anyone else: annotators do not see who reviews them
    created_at: Any
    text: str
    decision: str  # the review's decision in words; "" for a comment


@dataclass(frozen=True)
class Feedback:
    annotation: Annotation
    notes: list[Note]


def _notes(view: selectors.AnnotationView, user: Any) -> list[Note]:
    def who(author: Any) -> str:
        return "You" if author.pk == user.pk else "Reviewer"

    notes = [
        Note(who(r.author), r.created_at, r.text, Decision(r.decision).label) for r in view.reviews
    ]
    notes += [Note(who(c.author), c.created_at, c.text, "") for c in view.comments]
    return sorted(notes, key=lambda note: note.created_at)


def feedback(request: HttpRequest, project: Project) -> list[Feedback]:
    """The reviews and comments on the caller's newest answers that others wrote notes on, at
    most ``FEEDBACK_SHOWN``, each opened through the selectors and recorded as
    ``annotation.read`` (as the API records reading them)."""
    noted = history(project, request.user).filter(Q(review_notes__gt=0) | Q(other_notes__gt=0))
    newest = noted.select_related("task").order_by(
        F("reviewed_at").desc(nulls_last=True), "-updated_at", "pk"
    )[:FEEDBACK_SHOWN]
    actor = Actor.from_request(request)
    return [
        Feedback(
            annotation,
            _notes(
                selectors.annotation_open(actor=actor, project=project, annotation=annotation),
                request.user,
            ),
        )
        for annotation in newest
    ]


def _own_row(figures: dict[str, Any], user: Any) -> dict[str, Any] | None:
    return next((r for r in figures.get("annotators", []) if r["annotator"] == str(user.pk)), None)


@never_cache
@login_required
@require_GET
def mine(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = project_for_page(request, project_id, Need.ANNOTATE)
    report = quality.quality_latest(project)
    pages = Paginator(history(project, request.user), HISTORY_PER_PAGE)
    page = pages.get_page(request.GET.get("page"))
    return render_project_page(
        request,
        "labeling/mine.html",
        project,
        tab="mine",
        page=page,
        feedback=feedback(request, project) if page.number == 1 else None,
        report=report,
        row=_own_row(report.figures if report else {}, request.user),
    )
