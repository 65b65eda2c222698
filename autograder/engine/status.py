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
    instructor to look at; they never change the score.
    """

    student: str
    assignment: str
    status: str
    detail: str
    score: float
    max_score: float
    flags: tuple[Finding, ...] = ()

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
