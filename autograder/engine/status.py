"""What happened to one submission, kept next to the gradebook for reports."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from ..integrity.findings import Finding

#: Every status a submission can end in; "graded" means it ran to the end.
STATUSES = (
    "graded",
    "timeout",
    "out of memory",
    "kernel died",
    "unreadable notebook",
    "missing notebook",
    "error",
)


@dataclass(frozen=True)
class SubmissionStatus:
    """The outcome of grading one student's submission of one assignment.

    ``flags`` are the tamper check's findings (:class:`~autograder.integrity.Finding`): for an
    instructor to look at; they never change the score. ``fingerprint`` identifies the submitted
    files this grade is of (:mod:`autograder.engine.fingerprint`; empty when unknown).
    """

    student: str
    assignment: str
    status: str
    detail: str
    score: float
    max_score: float
    flags: tuple[Finding, ...] = ()
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; expected one of {', '.join(STATUSES)}")


def status_dir(course: Path, assignment: str) -> Path:
    """Where the status files of ``assignment`` live: ``course/.adcourse/status/<assignment>/``."""
    return Path(course) / ".adcourse" / "status" / assignment


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_status(course: Path, status: SubmissionStatus) -> Path:
    """Record ``status`` as ``<student>.json``; return the file's path."""
    path = status_dir(course, status.assignment) / f"{status.student}.json"
    write_atomic(path, json.dumps(asdict(status), indent=2, sort_keys=True).encode())
    return path


def read_status(course: Path, assignment: str, student: str) -> SubmissionStatus | None:
    """The status the engine last recorded for ``student``'s ``assignment``, or None if there is
    none or it cannot be read back whole (a reader should then treat the submission as ungraded)."""
    path = status_dir(course, assignment) / f"{student}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        flags = tuple(Finding.from_dict(item) for item in data.get("flags", []))
        status = SubmissionStatus(
            student=str(data["student"]),
            assignment=str(data["assignment"]),
            status=str(data["status"]),
            detail=str(data["detail"]),
            score=float(data["score"]),
            max_score=float(data["max_score"]),
            flags=flags,
            fingerprint=str(data.get("fingerprint", "")),
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return status if (status.student, status.assignment) == (student, assignment) else None
