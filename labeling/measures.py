"""Agreement figures per task type, built from the submitted results of each task in turn.

A ``Measure`` takes the judgements of one task at a time (``add``), then reports three things
(``figures``): the project's overall agreement, agreement per label (or per criterion, flag),
and, for every pair of annotators who shared tasks, one statistic with the number of items it
rests on. The statistics themselves are in ``labeling.agreement``:

- classification (one label): Krippendorff's alpha (nominal), Fleiss' kappa, percent agreement;
  per label, alpha over "gave this label or not"; per pair, Cohen's kappa.
- classification (several labels): per label, alpha over "gave this label or not"; overall,
  the same over every (task, label); per pair, Cohen's kappa over (task, label) presence.
- NER spans and boxes: micro-averaged F1 (exact spans, and overlapping ones; boxes matched at
  IoU >= 0.5), overall and per label, over every pair of annotations of a task; per pair, F1.
- pairwise preference: alpha, Fleiss' kappa and percent agreement on the choice; position bias
  (share of decided choices that went to the side shown first, with an exact binomial test);
  per pair, Cohen's kappa.
- rubric: per criterion, alpha (interval and ordinal) and ICC(1,1) (annotators differ from task
  to task, so the one-way model); per pair, quadratically weighted kappa over all scores.
- chat review: turn ratings and the conversation rating as rubric criteria are; each flag as a
  label ("flagged or not"); per pair, weighted kappa over turn ratings.
- free text: no agreement statistic applies; the figures say so.
"""

import itertools
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from labeling.agreement.boxes import box_agreement
from labeling.agreement.icc import icc
from labeling.agreement.krippendorff import krippendorff_alpha
from labeling.agreement.nominal import cohen_kappa, fleiss_kappa, fleiss_table
from labeling.agreement.nominal import percent_agreement as pair_agreement
from labeling.agreement.pairwise import position_bias, preference_agreement
from labeling.agreement.spans import span_agreement
from projects.models import TaskType


@dataclass(frozen=True)
class Judgement:
    annotator: str
    result: dict[str, Any]
    swapped: bool = False


PairKey = tuple[str, str]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _pairs(judgements: list[Judgement]) -> list[tuple[Judgement, Judgement]]:
    ordered = sorted(judgements, key=lambda j: j.annotator)
    return list(itertools.combinations(ordered, 2))


@dataclass
class Measure(ABC):
    """Collects one task type's judgements; subclasses say what a result contributes."""

    schema: dict[str, Any]
    tasks: int = 0
    pair_items: dict[PairKey, list[tuple[Any, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def __post_init__(self) -> None:  # noqa: B027 (a hook: free text collects nothing)
        """Subclasses set up what they collect."""

    def add(self, task: Hashable, judgements: list[Judgement]) -> None:
        if len(judgements) < 2:
            return
        self.tasks += 1
        self.take(task, judgements)
        for a, b in _pairs(judgements):
            self.pair_items[a.annotator, b.annotator] += self.pair_values(a.result, b.result)

    @abstractmethod
    def take(self, task: Hashable, judgements: list[Judgement]) -> None:
        """What this type's figures are made of (each subclass says)."""

    @abstractmethod
    def pair_values(self, a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Any, Any]]:
        """What this type's figures are made of (each subclass says)."""

    def pair_statistic(self, items: list[tuple[Any, Any]]) -> float | None:
        return cohen_kappa([x for x, _ in items], [y for _, y in items])

    @abstractmethod
    def overall(self) -> dict[str, Any]:
        """What this type's figures are made of (each subclass says)."""

    def per_label(self) -> dict[str, Any]:
        return {}

    def figures(self) -> dict[str, Any]:
        pairs = [
            {"a": a, "b": b, "items": len(items), "value": _rounded(self.pair_statistic(items))}
            for (a, b), items in sorted(self.pair_items.items())
        ]
        return {
            "tasks_compared": self.tasks,
            "overall": self.overall(),
            "per_label": self.per_label(),
            "pairs": pairs,
        }


def _alpha(units: Mapping[Any, Mapping[str, Any]], level: str = "nominal") -> float | None:
    return _rounded(krippendorff_alpha(units, level=level))  # type: ignore[arg-type]


class SingleLabel(Measure):
    """Classification with one label per task."""

    def __post_init__(self) -> None:
        self.units: dict[Hashable, dict[str, Any]] = {}

    def take(self, task: Hashable, judgements: list[Judgement]) -> None:
        self.units[task] = {j.annotator: j.result["labels"][0] for j in judgements}

    def pair_values(self, a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Any, Any]]:
        return [(a["labels"][0], b["labels"][0])]

    def overall(self) -> dict[str, Any]:
        _, table = fleiss_table(self.units)
        same_count = len({sum(row) for row in table}) == 1
        pairs = [item for items in self.pair_items.values() for item in items]
        return {
            "krippendorff_alpha": _alpha(self.units),
            "fleiss_kappa": _rounded(fleiss_kappa(table)) if same_count and table else None,
            "percent_agreement": _rounded(
                pair_agreement([x for x, _ in pairs], [y for _, y in pairs]) if pairs else None
            ),
        }

    def per_label(self) -> dict[str, Any]:
        return {
            name: {"krippendorff_alpha": _alpha(_presence(self.units, name))}
            for name in _names(self.schema["labels"])
        }


def _names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


def _presence(units: dict[Hashable, dict[str, Any]], name: str) -> dict[Hashable, dict[str, bool]]:
    def has(value: Any) -> bool:
        return name in value if isinstance(value, (list, set, frozenset, tuple)) else value == name

    return {unit: {who: has(value) for who, value in by.items()} for unit, by in units.items()}


class MultiLabel(Measure):
    def __post_init__(self) -> None:
        self.units: dict[Hashable, dict[str, frozenset[str]]] = {}
        self.labels = _names(self.schema["labels"])

    def take(self, task: Hashable, judgements: list[Judgement]) -> None:
        self.units[task] = {j.annotator: frozenset(j.result["labels"]) for j in judgements}

    def pair_values(self, a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Any, Any]]:
        return [(name in a["labels"], name in b["labels"]) for name in self.labels]

    def overall(self) -> dict[str, Any]:
        flat = {
            (unit, name): {who: name in value for who, value in by.items()}
            for unit, by in self.units.items()
            for name in self.labels
        }
        return {"krippendorff_alpha": _alpha(flat)}

    def per_label(self) -> dict[str, Any]:
        return {
            name: {"krippendorff_alpha": _alpha(_presence(self.units, name))}
            for name in self.labels
        }


def _f1(report: Any) -> dict[str, Any]:
    return {
        "f1": _rounded(report.f1),
        "precision": _rounded(report.precision),
        "recall": _rounded(report.recall),
    }


class Matched(Measure):
    """NER spans ("spans") or boxes ("boxes"): F1 of one-to-one matches."""

    key = "spans"

    def __post_init__(self) -> None:
        self.compared: list[tuple[list[Any], list[Any]]] = []

    def take(self, task: Hashable, judgements: list[Judgement]) -> None:
        self.compared += [(a.result[self.key], b.result[self.key]) for a, b in _pairs(judgements)]

    def pair_values(self, a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Any, Any]]:
        return [(a[self.key], b[self.key])]

    def agreement(self, tasks: list[tuple[Any, Any]]) -> Any:
        return span_agreement(tasks=tasks).exact

    def pair_statistic(self, items: list[tuple[Any, Any]]) -> float | None:
        return self.agreement(items).overall.f1  # type: ignore[no-any-return]

    def overall(self) -> dict[str, Any]:
        figures = {"exact": _f1(self.agreement(self.compared).overall)}
        if self.key == "spans":
            figures["overlap"] = _f1(span_agreement(tasks=self.compared).partial.overall)
        return figures

    def per_label(self) -> dict[str, Any]:
        by_label = self.agreement(self.compared).by_label
        return {name: _f1(score) for name, score in sorted(by_label.items())}


class Boxes(Matched):
    key = "boxes"

    def agreement(self, tasks: list[tuple[Any, Any]]) -> Any:
        return box_agreement(tasks=tasks, threshold=0.5)


class Preference(Measure):
    def __post_init__(self) -> None:
        self.units: dict[Hashable, dict[str, Any]] = {}
        self.shown: list[dict[str, Any]] = []

    def take(self, task: Hashable, judgements: list[Judgement]) -> None:
        self.units[task] = {j.annotator: j.result["choice"] for j in judgements}

    def add(self, task: Hashable, judgements: list[Judgement]) -> None:
        # Position bias counts every judgement, compared with others or not.
        for j in judgements:
            choice = j.result["choice"]
            first = "b" if j.swapped else "a"
            shown = "tie" if choice == "tie" else ("first" if choice == first else "second")
            self.shown.append({"swapped": j.swapped, "shown": shown})
        super().add(task, judgements)

    def pair_values(self, a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Any, Any]]:
        return [(a["choice"], b["choice"])]

    def overall(self) -> dict[str, Any]:
        agreement = preference_agreement(judgements=self.units)
        bias = position_bias(judgements=self.shown)  # type: ignore[arg-type]
        figures = {
            k: _rounded(v) if isinstance(v, float) else v for k, v in asdict(agreement).items()
        }
        figures["position_bias"] = {
            k: _rounded(v) if isinstance(v, float) else v for k, v in asdict(bias).items()
        }
        return figures


class Scores(Measure):
    """Rubric criteria (``scores``) and chat ratings: interval data on integer scales."""

    def __post_init__(self) -> None:
        self.units: dict[str, dict[Hashable, dict[str, int]]] = defaultdict(dict)

    def scores(self, result: dict[str, Any]) -> dict[tuple[str, str], int]:
        """(criterion, item within the task) -> score."""
        return {(name, ""): value for name, value in result["scores"].items()}

    def take(self, task: Hashable, judgements: list[Judgement]) -> None:
        for j in judgements:
            for (criterion, item), value in self.scores(j.result).items():
                self.units[criterion].setdefault((task, item), {})[j.annotator] = value

    def pair_values(self, a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Any, Any]]:
        left, right = self.scores(a), self.scores(b)
        return [(left[key], right[key]) for key in sorted(left.keys() & right.keys())]

    def pair_statistic(self, items: list[tuple[Any, Any]]) -> float | None:
        return cohen_kappa([x for x, _ in items], [y for _, y in items], weights="quadratic")

    def overall(self) -> dict[str, Any]:
        alphas = [v["krippendorff_alpha_interval"] for v in self.per_label().values()]
        known = [a for a in alphas if a is not None]
        return {
            "mean_krippendorff_alpha_interval": _rounded(sum(known) / len(known)) if known else None
        }

    def per_label(self) -> dict[str, Any]:
        out = {}
        for criterion, units in sorted(self.units.items()):
            # One-way ICC: the annotators of one task are not those of the next, so the matrix
            # has a column per annotation slot, not per person.
            width = max((len(by) for by in units.values()), default=0)
            matrix = [list(by.values()) + [None] * (width - len(by)) for by in units.values()]
            out[criterion] = {
                "krippendorff_alpha_interval": _alpha(units, "interval"),
                "krippendorff_alpha_ordinal": _alpha(units, "ordinal"),
                "icc1_1": _rounded(icc(matrix).icc1_1) if width >= 2 else None,
            }
        return out


class ChatReview(Scores):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.flags: dict[Hashable, dict[str, frozenset[str]]] = {}
        self.flag_names = _names(self.schema.get("flags", []))

    def scores(self, result: dict[str, Any]) -> dict[tuple[str, str], int]:
        out = {
            ("turn_rating", index): turn["rating"]
            for index, turn in result.get("turns", {}).items()
            if "rating" in turn
        }
        if "conversation" in result:
            out["conversation_rating", ""] = result["conversation"]
        return out

    def take(self, task: Hashable, judgements: list[Judgement]) -> None:
        super().take(task, judgements)
        for j in judgements:
            for index, turn in j.result.get("turns", {}).items():
                unit = self.flags.setdefault((task, index), {})
                unit[j.annotator] = frozenset(turn.get("flags", []))

    def per_label(self) -> dict[str, Any]:
        out = super().per_label()
        for name in self.flag_names:
            out[f"flag:{name}"] = {"krippendorff_alpha": _alpha(_presence(self.flags, name))}
        return out


class NoStatistic(Measure):
    """Free text: two good answers to a prompt may share no word; agreement does not apply."""

    def take(self, task: Hashable, judgements: list[Judgement]) -> None:
        pass

    def pair_values(self, a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Any, Any]]:
        return []

    def overall(self) -> dict[str, Any]:
        return {"note": "Free-text responses have no agreement statistic."}

    def figures(self) -> dict[str, Any]:
        return {**super().figures(), "pairs": []}


def measure_for(task_type: str, schema: dict[str, Any]) -> Measure:
    if task_type == TaskType.CLASSIFICATION:
        return MultiLabel(schema) if schema.get("multiple") else SingleLabel(schema)
    kinds: dict[str, type[Measure]] = {
        TaskType.NER: Matched,
        TaskType.BOXES: Boxes,
        TaskType.PAIRWISE: Preference,
        TaskType.RUBRIC: Scores,
        TaskType.CHAT: ChatReview,
        TaskType.FREE_TEXT: NoStatistic,
    }
    return kinds[task_type](schema)
