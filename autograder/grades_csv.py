"""``grades.csv``: nbgrader's CSV export of one assignment, written in one pass over the students.

The file is what ``nbgrader export`` (nbgrader's ``CsvExportPlugin``) writes for one assignment:
the columns

    assignment, duedate, timestamp, student_id, last_name, first_name, email,
    raw_score, late_submission_penalty, score, max_score

in that order, one row per student of the gradebook in the order of ``Gradebook.students``
(``ORDER BY last_name, first_name``), every value as ``str()`` gives it (floats as ``105.0``,
datetimes as ``2030-01-01 00:00:00``) and ``''`` for a missing one; ``score`` is
``max(0.0, raw_score - late_submission_penalty)``, and a student without a submission gets
``0.0`` scores and an empty timestamp.

Unlike nbgrader's plugin, which looks every student's submission up with its own queries
(``find_submission``, then one query per score), the rows are written as the students stream out of
the database (:func:`autograder.report_queries.students`), from the submissions' totals read
once (:func:`autograder.report_queries.submission_totals`). The file is written with the
:mod:`csv` module, as UTF-8 with ``\\n`` line ends: for ordinary values the bytes are those of
nbgrader's plugin, but a value holding a comma, a quote or a line break is quoted (``"Smith,
Jr."``), where nbgrader's plugin joins the raw values with commas, so that such a name shifts the
rest of its row by a column (and nbgrader writes in the locale's encoding, where this is UTF-8).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from .report_queries import AssignmentInfo, StudentInfo, SubmissionTotal

#: nbgrader's ``CsvExportPlugin`` columns, in its order.
COLUMNS = (
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
)


def _text(value: object) -> str:
    """A value as nbgrader's exporter prints it: ``''`` for None, else ``str()``."""
    return "" if value is None else value if isinstance(value, str) else str(value)


def grade_row(assignment: AssignmentInfo, student: StudentInfo, sub: SubmissionTotal | None) -> list[str]:
    """``student``'s CSV row as nbgrader's plugin makes it; ``sub``: their submission, if any."""
    if sub is None:
        timestamp, raw, penalty, score = None, 0.0, 0.0, 0.0
    else:
        timestamp, raw, penalty = sub.timestamp, sub.score, sub.late_penalty
        score = max(0.0, raw - penalty)
    values = (
        assignment.name,
        assignment.duedate,
        timestamp,
        student.id,
        student.last_name,
        student.first_name,
        student.email,
        raw,
        penalty,
        score,
        assignment.max_score,
    )
    return [_text(v) for v in values]


def write_grades_csv(
    path: Path,
    assignment: AssignmentInfo,
    students: Iterable[StudentInfo],
    submissions: Mapping[str, SubmissionTotal],
) -> list[str]:
    """Write ``path`` (see the module's docstring) in one pass over ``students``; ``submissions``:
    the assignment's submissions by student id. Returns the ids of the students without a
    submission, in the order written."""
    missing = []
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for student in students:
            sub = submissions.get(student.id)
            if sub is None:
                missing.append(student.id)
            writer.writerow(grade_row(assignment, student, sub))
    return missing
