"""The one writer: records graded submissions in the course gradebook and folders.

The gradebook gets exactly the rows stock ``nbgrader autograde`` writes with its own
``SaveAutoGrades`` (and, for late submissions, ``AssignLatePenalties``): each grade cell's
``auto_score`` (from nbgrader's ``determine_grade``) and ``needs_manual_grade``, each solution and
task cell's ``auto_comment``, each notebook's late penalty (from the course's late submission
plugin) and the submission's timestamp. A missing notebook gets zero, with nothing left to grade
by hand, as stock nbgrader gives it. The autograded notebook goes to
``autograded/<student>/<assignment>/`` and the status file next to the gradebook.

:func:`record_many` records a batch of results in one gradebook session and one transaction,
grades and comments with bulk statements (stock nbgrader opens a session per preprocessor and
commits per cell). The files are written after the transaction commits, so a crash in the middle of
a batch leaves the gradebook as it was before it and no status file of it: a re-run records the
batch again. Recording is idempotent (the same results recorded twice leave the same gradebook,
row ids included), so a crash between the commit and the files loses nothing either.
``tests/test_writer.py`` checks, row for row, that the gradebook is the one nbgrader's own
preprocessors write (:func:`record_each`, kept as the reference and the benchmarks' peer).

Reading the results is :mod:`.graded_notebooks`, the gradebook transaction :mod:`.gradebook_writes`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat

from ..config import load_config
from .gradebook_writes import write_gradebook
from .graded_notebooks import Prepared, ReadNotebook, prepare
from .results import SubmissionResult
from .status import SubmissionStatus, write_atomic, write_status


def record(course: Path, db_url: str, result: SubmissionResult, config: Any = None) -> SubmissionStatus:
    """Write one worker result into the gradebook, ``autograded/`` and the status file.

    ``config`` is the course's nbgrader configuration (e.g. ``c.LateSubmissionPlugin``); read
    from ``course`` when not given (a caller recording many results reads it once).
    """
    return record_many(course, db_url, [result], config)[0]


def record_many(
    course: Path, db_url: str, results: Iterable[SubmissionResult], config: Any = None
) -> list[SubmissionStatus]:
    """Record ``results`` (of any assignments) in one gradebook transaction; their statuses, in order.

    A result whose student and assignment come again later in ``results`` is recorded before the
    later one, as if recorded one after the other. Nothing of the batch is in the gradebook, nor
    in the folders, if recording fails.
    """
    from sqlalchemy.exc import SAWarning

    results = list(results)
    if not results:
        return []
    config = load_config(course) if config is None else config
    with warnings.catch_warnings():
        # nbgrader's gradebook API triggers SQLAlchemy autoflush warnings that are harmless here.
        warnings.simplefilter("ignore", SAWarning)
        prepared = [prepare(result) for result in results]
        write_gradebook(db_url, prepared, config)
    return [_write_files(course, p) for p in prepared]


# ---------------------------------------------------------------- the folders, after the commit


def write_autograded(course: Path, p: Prepared) -> None:
    """The graded notebooks and other submitted files into ``autograded/<student>/<assignment>/``."""
    result = p.result
    out_dir = course / "autograded" / result.student / result.assignment
    for nb in p.notebooks:
        target = out_dir / f"{nb.name}.ipynb"
        if nb.nb is None:
            target.unlink(missing_ok=True)  # an older graded copy would no longer match the gradebook
        else:
            write_atomic(target, nbformat.writes(nb.nb).encode("utf-8"))
    for rel, data in result.files.items():
        write_atomic(out_dir / rel, data)


def _write_files(course: Path, p: Prepared) -> SubmissionStatus:
    result = p.result
    write_autograded(course, p)
    status = SubmissionStatus(
        result.student,
        result.assignment,
        result.status,
        result.detail,
        result.score,
        result.max_score,
        result.findings,
        result.fingerprint,
    )
    write_status(course, status)
    return status


# ---------------------------------------------------------------- the reference: nbgrader's own steps


def record_each(course: Path, db_url: str, result: SubmissionResult, config: Any = None) -> SubmissionStatus:
    """Record one result as the engine did before batches: through nbgrader's own ``SaveAutoGrades``
    and ``AssignLatePenalties`` (:data:`.pipeline.RECORD`), a gradebook session per step and a
    commit per cell. The reference :func:`record_many` is checked against, and the benchmarks' peer."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        return _record_each(course, db_url, result, load_config(course) if config is None else config)


def _record_each(course: Path, db_url: str, result: SubmissionResult, config: Any) -> SubmissionStatus:
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

    notebooks = []
    for nb_result in result.notebooks:
        if nb_result.notebook is None:
            with Gradebook(db_url) as gb:
                for grade in gb.find_submission_notebook(nb_result.name, assignment, student).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gb.db.commit()
            notebooks.append(ReadNotebook(nb_result.name, None, [], []))
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
        notebooks.append(ReadNotebook(nb_result.name, nb, [], []))
    return _write_files(course, Prepared(result, notebooks))
