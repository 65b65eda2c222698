"""One student's submission as the engine grades it: the files read into memory, once.

The engine and the watcher read a submission folder the same way (:func:`~.fingerprint.submission_files`)
and fingerprint what they read, so a status file says which files its grade is of.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..paths import CourseError
from .fingerprint import fingerprint_of_bytes, read_timestamp, submission_files
from .results import NotebookResult, SubmissionResult


@dataclass(frozen=True)
class Submission:
    """One student's submitted folder of one assignment, read into memory, with its fingerprint."""

    student: str
    files: dict[str, bytes]
    timestamp: str | None
    fingerprint: str = ""
    assignment: str = ""


def find_submissions(
    course: Path, assignment: str, students: Iterable[str] | None = None
) -> list[Submission]:
    """Every ``submitted/<student>/<assignment>/`` folder (or the named students'), read into memory."""
    wanted = set(students) if students is not None else None
    found = []
    for folder in sorted((course / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        if wanted is not None and student not in wanted:
            continue
        listing, stamp = submission_files(folder)
        files = {rel: path.read_bytes() for rel, path in listing}
        timestamp = read_timestamp(stamp)
        found.append(
            Submission(student, files, timestamp, fingerprint_of_bytes(timestamp, files), assignment)
        )
    if wanted is not None and (missing := wanted - {s.student for s in found}):
        raise CourseError(f"no submission of {assignment} from {', '.join(sorted(missing))}")
    return found


def failed_result(
    assignment: str, notebooks: Iterable[str], sub: Submission, exc: BaseException
) -> SubmissionResult:
    """The result recorded for a submission whose grading itself failed (a worker died twice...)."""
    detail = f"the grading worker failed ({type(exc).__name__}: {str(exc)[:200]})"
    results = tuple(NotebookResult(name, None, {}, "error", detail) for name in notebooks)
    return SubmissionResult(sub.student, assignment, results, {}, sub.timestamp)
