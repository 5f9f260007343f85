"""The ImportRejected errors that every reader raises, worded in one place."""

from datasets.limits import ImportLimits
from datasets.problems import ImportRejected, Problem


def _rejected(where: str, message: str, code: str, field: str | None = None) -> ImportRejected:
    return ImportRejected(Problem(where, message, code, field))


def _too_many_rows(limits: ImportLimits) -> ImportRejected:
    return _rejected(
        "file", f"more than {limits.max_rows:,} rows, the limit for one import", "too_many_rows"
    )


def _empty(message: str = "the file is empty") -> ImportRejected:
    return _rejected("file", message, "empty")
