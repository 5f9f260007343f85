"""What is wrong with an upload, said precisely: where (line, element or zip entry), which
field, and why. Never the offending value itself: problems are stored and shown in plain text,
and the data they are about is not.
"""

import re
from dataclasses import dataclass
from typing import Any

from datasets.limits import MAX_LISTED_PROBLEMS


@dataclass(frozen=True, slots=True)
class Problem:
    # "line 12", "element 7 (line 40)", "entry images/a.png", "file": where a person looks.
    where: str
    message: str
    # A stable snake_case word clients may branch on (invalid_json, missing_field, ...).
    code: str
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"where": self.where, "code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        return out


class ImportRejected(Exception):
    """The upload cannot be read any further (bad encoding, broken JSON array, over a limit).

    Raised by readers; the problem is added to the log by whoever catches it.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.where}: {problem.message}")
        self.problem = problem


class ProblemLog:
    """The first ``MAX_LISTED_PROBLEMS`` problems, and how many there were in all."""

    def __init__(self, limit: int = MAX_LISTED_PROBLEMS) -> None:
        self.limit = limit
        self.listed: list[Problem] = []
        self.total = 0

    def add(self, where: str, message: str, code: str, field: str | None = None) -> None:
        self.total += 1
        if len(self.listed) < self.limit:
            self.listed.append(Problem(where, message, code, field))

    def add_problem(self, problem: Problem) -> None:
        self.add(problem.where, problem.message, problem.code, problem.field)

    def sort_listed(self) -> None:
        """Put the listed problems in file order (a second pass adds some after the fact):
        the file's own first, then by line or element number; others keep their order."""
        self.listed.sort(key=lambda problem: _position(problem.where))

    def __bool__(self) -> bool:
        return self.total > 0

    def as_list(self) -> list[dict[str, Any]]:
        return [problem.as_dict() for problem in self.listed]


_NUMBERED = re.compile(r"(?:line|element) (\d+)")


def _position(where: str) -> tuple[int, int]:
    if where == "file":
        return (0, 0)
    match = _NUMBERED.match(where)
    return (1, int(match[1])) if match else (2, 0)
