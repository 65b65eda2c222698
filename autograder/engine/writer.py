"""The one writer: records graded submissions in the course gradebook and folders.

Scores are written by nbgrader's own ``SaveAutoGrades`` (and late penalties by
``AssignLatePenalties``) from the executed notebook, exactly as stock ``nbgrader autograde``
does, and the autograded notebook goes to ``autograded/<student>/<assignment>/``.
Recording the same result twice leaves the same gradebook.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import nbformat

from ..config import load_config
from .results import SubmissionResult
from .status import SubmissionStatus, write_atomic, write_status


def record(course: Path, db_url: str, result: SubmissionResult, config: Any = None) -> SubmissionStatus:
    """Write one worker result into the gradebook, ``autograded/`` and the status file.

    ``config`` is the course's nbgrader configuration (e.g. ``c.LateSubmissionPenalty``); read
    from ``course`` when not given (a caller recording many results reads it once).
    """
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        # nbgrader's gradebook API triggers SQLAlchemy autoflush warnings that are harmless here.
        warnings.simplefilter("ignore", SAWarning)
        return _record(course, db_url, result, load_config(course) if config is None else config)


def _record(course: Path, db_url: str, result: SubmissionResult, config: Any) -> SubmissionStatus:
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    from . import pipeline

    assignment, student = result.assignment, result.student
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        if result.timestamp:
            gb.update_or_create_submission(assignment, student, timestamp=parse_utc(result.timestamp))
        else:
            gb.update_or_create_submission(assignment, student)

    out_dir = course / "autograded" / student / assignment
    for nb_result in result.notebooks:
        target = out_dir / f"{nb_result.name}.ipynb"
        if nb_result.notebook is None:
            # As stock nbgrader does for a missing notebook: zero, and nothing left to grade by hand.
            with Gradebook(db_url) as gb:
                for grade in gb.find_submission_notebook(nb_result.name, assignment, student).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gb.db.commit()
            target.unlink(missing_ok=True)  # an older graded copy would no longer match the gradebook
            continue
        nb = nbformat.reads(nb_result.notebook, as_version=4)
        resources: dict[str, Any] = {
            "nbgrader": {
                "notebook": nb_result.name,
                "assignment": assignment,
                "student": student,
                "db_url": db_url,
            }
        }
        nb, resources = pipeline.run(pipeline.build(pipeline.RECORD, config), nb, resources)
        write_atomic(target, nbformat.writes(nb).encode("utf-8"))
    for rel, data in result.files.items():
        write_atomic(out_dir / rel, data)

    status = SubmissionStatus(
        student,
        assignment,
        result.status,
        result.detail,
        result.score,
        result.max_score,
        result.findings,
        result.fingerprint,
    )
    write_status(course, status)
    return status
