"""Pairwise tasks shown with the responses exchanged map back to the task's own a and b."""

import uuid

import pytest

from labeling.presentation import canonical_result, is_swapped, present
from labeling.results import validate_result
from projects.models import TaskType
from projects.schemas import validate_label_schema

PAIRWISE = TaskType.PAIRWISE
SCHEMA = validate_label_schema(PAIRWISE, {"strength": {"min": 1, "max": 3}})
DATA = {"prompt": "Capital of France?", "response_a": "Paris.", "response_b": "Lyon."}
TASK = uuid.UUID("5f0c6f3e-9a43-4b8e-8d0e-2d7a1c1f0a11")


def test_swapped_data_exchanges_the_responses_and_leaves_the_task_data_alone():
    shown, result = present(task_type=PAIRWISE, data=DATA, result=None, swapped=True)
    assert shown == {"prompt": "Capital of France?", "response_a": "Lyon.", "response_b": "Paris."}
    assert result is None
    assert DATA["response_a"] == "Paris."


@pytest.mark.parametrize(("stored", "shown"), [("a", "b"), ("b", "a"), ("tie", "tie")])
def test_a_draft_is_shown_with_its_choice_exchanged(stored, shown):
    draft = {"choice": stored, "strength": 2}
    _data, presented = present(task_type=PAIRWISE, data=DATA, result=draft, swapped=True)
    assert presented == {"choice": shown, "strength": 2}
    assert draft == {"choice": stored, "strength": 2}


def test_an_annotator_who_prefers_paris_on_screen_prefers_response_a_in_the_task():
    shown, _result = present(task_type=PAIRWISE, data=DATA, result=None, swapped=True)
    on_screen = "a" if shown["response_a"] == "Paris." else "b"
    submitted = validate_result(
        task_type=PAIRWISE,
        label_schema=SCHEMA,
        data=shown,
        result={"choice": on_screen, "strength": 3},
    )
    stored = canonical_result(task_type=PAIRWISE, result=submitted, swapped=True)
    assert stored == {"choice": "a", "strength": 3}


@pytest.mark.parametrize("swapped", [True, False])
def test_present_then_canonical_result_round_trips(swapped):
    for choice in ("a", "b", "tie"):
        stored = {"choice": choice, "rationale": "Paris is the capital."}
        _data, shown = present(task_type=PAIRWISE, data=DATA, result=stored, swapped=swapped)
        assert shown is not None
        assert canonical_result(task_type=PAIRWISE, result=shown, swapped=swapped) == stored


def test_not_swapped_or_another_type_passes_everything_through():
    draft = {"choice": "a"}
    assert present(task_type=PAIRWISE, data=DATA, result=draft, swapped=False) == (DATA, draft)
    assert canonical_result(task_type=PAIRWISE, result=draft, swapped=False) == draft
    data, labels = {"text": "Fine."}, {"labels": ["a"]}
    assert present(task_type=TaskType.CLASSIFICATION, data=data, result=labels, swapped=True) == (
        data,
        labels,
    )
    assert canonical_result(task_type=TaskType.CLASSIFICATION, result=labels, swapped=True) == (
        labels
    )


@pytest.mark.parametrize(("stored", "shown"), [("a", "b"), ("b", "a"), ("tie", "tie")])
def test_a_predictions_result_is_shown_with_its_choice_exchanged(stored, shown):
    prediction = {"result": {"choice": stored, "strength": 2}, "model": "judge-1", "score": 0.7}
    _data, presented = present(task_type=PAIRWISE, data=DATA, result=prediction, swapped=True)
    assert presented == {
        "result": {"choice": shown, "strength": 2},
        "model": "judge-1",
        "score": 0.7,
    }
    assert prediction["result"] == {"choice": stored, "strength": 2}


def test_a_prediction_without_a_plain_choice_is_shown_as_it_is():
    for prediction in ({"choice": ["a"]}, {"score": 0.9}):
        _data, shown = present(task_type=PAIRWISE, data=DATA, result=prediction, swapped=True)
        assert shown == prediction


def test_the_swap_is_stable_per_task_and_annotator_and_varies_across_annotators():
    first = [
        is_swapped(task_type=PAIRWISE, label_schema=SCHEMA, task_id=TASK, annotator_id=n)
        for n in range(200)
    ]
    again = [
        is_swapped(task_type=PAIRWISE, label_schema=SCHEMA, task_id=TASK, annotator_id=n)
        for n in range(200)
    ]
    assert first == again
    assert 70 < sum(first) < 130


def test_the_swap_varies_across_tasks_for_one_annotator():
    tasks = [uuid.UUID(int=n) for n in range(200)]
    swaps = [
        is_swapped(task_type=PAIRWISE, label_schema=SCHEMA, task_id=t, annotator_id=7)
        for t in tasks
    ]
    assert 70 < sum(swaps) < 130


def test_an_annotator_id_may_be_a_uuid():
    annotator = uuid.UUID(int=12345)
    assert isinstance(
        is_swapped(task_type=PAIRWISE, label_schema=SCHEMA, task_id=TASK, annotator_id=annotator),
        bool,
    )


def test_nothing_is_swapped_without_randomize_or_for_other_types():
    fixed = validate_label_schema(PAIRWISE, {"randomize": False})
    other = {"labels": [{"name": "A"}, {"name": "B"}]}
    for annotator in range(50):
        assert not is_swapped(
            task_type=PAIRWISE, label_schema=fixed, task_id=TASK, annotator_id=annotator
        )
        assert not is_swapped(
            task_type=TaskType.CLASSIFICATION,
            label_schema=other,
            task_id=TASK,
            annotator_id=annotator,
        )


def test_randomize_is_on_when_the_schema_does_not_say():
    swaps = [
        is_swapped(task_type=PAIRWISE, label_schema={}, task_id=TASK, annotator_id=n)
        for n in range(50)
    ]
    assert any(swaps)
