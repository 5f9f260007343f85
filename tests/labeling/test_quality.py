"""Quality reports: the job's figures per task type, checked against reference implementations
on the same judgements, and the per-annotator figures."""

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score  # type: ignore[import-untyped]

from audit.services import Actor
from labeling import quality
from labeling.models import Annotation, QualityReport
from projects.models import Role
from tests.conftest import add_member, client_for, make_project
from tests.factories import make_user
from tests.labeling.work import annotate_all, base, make_task

pytestmark = pytest.mark.django_db

LABELS = ["Positive", "Negative", "Neutral"]
# Three annotators' labels on eight tasks (rows: annotators).
CODES = [
    [0, 0, 1, 2, 1, 0, 2, 2],
    [0, 1, 1, 2, 1, 0, 2, 0],
    [0, 0, 1, 1, 1, 2, 2, 0],
]


def _people(project, count):
    return [add_member(project, make_user(), Role.ANNOTATOR) for _ in range(count)]


def _report(project):
    report = quality.quality_request(actor=Actor.system(), project=project)
    return quality.quality_run(report_id=report.pk)


def test_classification_figures_match_the_reference_implementations(admin):
    project = make_project(admin, name="Agree", overlap=3)
    people = _people(project, 3)
    tasks = [make_task(project, {"text": f"t{i}"}) for i in range(8)]
    index = {task.pk: i for i, task in enumerate(tasks)}
    annotate_all(project, people, lambda n, task: {"labels": [LABELS[CODES[n][index[task.pk]]]]})
    report = _report(project)
    assert report.state == "succeeded"
    figures = report.figures
    assert figures["tasks_compared"] == 8
    expected = krippendorff.alpha(np.array(CODES, dtype=float), level_of_measurement="nominal")
    assert figures["overall"]["krippendorff_alpha"] == pytest.approx(expected, abs=1e-6)
    order = sorted(str(p.pk) for p in people)
    by_id = {str(p.pk): CODES[n] for n, p in enumerate(people)}
    first = figures["pairs"][0]
    assert (first["a"], first["b"]) == (order[0], order[1])
    kappa = cohen_kappa_score(by_id[order[0]], by_id[order[1]])
    assert first["value"] == pytest.approx(kappa, abs=1e-6)
    assert first["items"] == 8
    positive = [[float(code == 0) for code in row] for row in CODES]
    expected_positive = krippendorff.alpha(np.array(positive), level_of_measurement="nominal")
    assert figures["per_label"]["Positive"]["krippendorff_alpha"] == pytest.approx(
        expected_positive, abs=1e-6
    )
    rows = {row["annotator"]: row for row in figures["annotators"]}
    assert {row["submitted"] for row in rows.values()} == {8}
    assert all(row["agreement"] is not None for row in rows.values())


def test_ner_figures_are_span_f1(admin):
    schema = {"labels": [{"name": "PER"}, {"name": "ORG"}]}
    project = make_project(admin, name="Spans", task_type="ner", label_schema=schema, overlap=2)
    people = _people(project, 2)
    make_task(project, {"text": "Ada Lovelace met Babbage at the Royal Society."})
    spans = [
        [{"start": 0, "end": 12, "label": "PER"}, {"start": 17, "end": 24, "label": "PER"}],
        [{"start": 0, "end": 12, "label": "PER"}, {"start": 32, "end": 45, "label": "ORG"}],
    ]
    annotate_all(project, people, lambda n, task: {"spans": spans[n]})
    figures = _report(project).figures
    # One exact match out of two spans each: precision = recall = F1 = 0.5.
    assert figures["overall"]["exact"]["f1"] == 0.5
    assert figures["per_label"]["PER"]["f1"] == pytest.approx(2 / 3)
    assert figures["per_label"]["ORG"]["f1"] == 0.0
    assert figures["pairs"][0]["value"] == 0.5


def test_box_figures_match_at_iou_one_half(admin):
    project = make_project(
        admin,
        name="Boxes",
        task_type="boxes",
        label_schema={"labels": [{"name": "cat"}]},
        overlap=2,
    )
    people = _people(project, 2)
    make_task(project, {"image": "a.png"})
    boxes = [
        [{"x": 0.1, "y": 0.1, "w": 0.4, "h": 0.4, "label": "cat"}],
        [{"x": 0.15, "y": 0.1, "w": 0.4, "h": 0.4, "label": "cat"}],
    ]
    annotate_all(project, people, lambda n, task: {"boxes": boxes[n]})
    figures = _report(project).figures
    assert figures["overall"]["exact"]["f1"] == 1.0  # IoU 0.78


def test_pairwise_figures_unshuffle_choices_and_measure_position_bias(admin):
    schema = {"choices": ["a", "b", "tie"], "randomize": True}
    project = make_project(
        admin, name="Prefs", task_type="pairwise", label_schema=schema, overlap=2
    )
    people = _people(project, 2)
    for i in range(10):
        make_task(project, {"prompt": f"p{i}", "response_a": "good", "response_b": "bad"})
    # Both always choose the side shown first: they disagree whenever their orders differ.
    annotate_all(project, people, lambda n, task: {"choice": "a"})
    figures = _report(project).figures
    bias = figures["overall"]["position_bias"]
    assert bias["n_judgements"] == 20
    assert bias["first_share"] == 1.0
    assert bias["p_value"] < 0.001
    stored = Annotation.objects.filter(project=project)
    swapped = [a.swapped for a in stored]
    assert 0 < sum(swapped) < 20, "the sides were never (or always) exchanged"


def test_rubric_figures_per_criterion(admin):
    scale = {"min": 1, "max": 5}
    schema = {"criteria": [{"name": "helpful", "scale": scale}, {"name": "honest", "scale": scale}]}
    project = make_project(admin, name="Rubric", task_type="rubric", label_schema=schema, overlap=3)
    people = _people(project, 3)
    tasks = [make_task(project, {"response": f"r{i}"}) for i in range(5)]
    index = {task.pk: i for i, task in enumerate(tasks)}
    scores = [[1, 2, 3, 4, 5], [1, 2, 3, 5, 5], [2, 2, 3, 4, 4]]

    def answer(n, task):
        value = scores[n][index[task.pk]]
        return {"scores": {"helpful": value, "honest": 6 - value}}

    annotate_all(project, people, answer)
    figures = _report(project).figures
    expected = krippendorff.alpha(np.array(scores, dtype=float), level_of_measurement="interval")
    helpful = figures["per_label"]["helpful"]
    assert helpful["krippendorff_alpha_interval"] == pytest.approx(expected, abs=1e-6)
    assert helpful["icc1_1"] is not None
    assert figures["pairs"][0]["items"] == 10


def test_free_text_says_it_has_no_agreement_statistic(admin):
    project = make_project(
        admin,
        name="Writing",
        task_type="free_text",
        label_schema={"mode": "write", "min_length": 1},
        overlap=2,
    )
    people = _people(project, 2)
    make_task(project, {"prompt": "Write."})
    annotate_all(project, people, lambda n, task: {"text": f"answer {n}"})
    figures = _report(project).figures
    assert "no agreement statistic" in figures["overall"]["note"]
    assert figures["pairs"] == []
    assert len(figures["annotators"]) == 2


def test_the_api_runs_a_report_as_a_job_and_reviewers_read_it(
    project, reviewer, annotator, django_capture_on_commit_callbacks
):
    make_task(project, {"text": "one"})
    annotate_all(project, [annotator], lambda n, task: {"labels": ["Positive"]})
    client = client_for(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(f"{base(project)}/quality")
    assert started.status_code == 202
    job = client.get(started.json()["url"]).json()
    assert (job["kind"], job["state"]) == ("quality", "succeeded")
    figures = client.get(f"{base(project)}/quality").json()
    assert figures["report_id"] == job["id"]
    (row,) = figures["annotators"]
    assert (row["annotator"], row["submitted"], row["paused"]) == (str(annotator.pk), 1, False)
    assert "email" not in row


def test_the_schedule_reports_projects_with_new_work_once(
    admin, django_capture_on_commit_callbacks
):
    project = make_project(admin, name="Scheduled")
    person = _people(project, 1)[0]
    make_task(project, {"text": "x"})
    assert quality.quality_schedule() == 0
    annotate_all(project, [person], lambda n, task: {"labels": ["Positive"]})
    with django_capture_on_commit_callbacks(execute=True):
        assert quality.quality_schedule() == 1
    assert quality.quality_schedule() == 0
    assert QualityReport.objects.get(project=project).state == "succeeded"
