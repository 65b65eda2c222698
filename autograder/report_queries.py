"""The grade report's reads of the nbgrader gradebook: a few set-based queries, streamed.

:mod:`autograder.report` needs, for one assignment, its maximum score and test cells, every
submission's total, late penalty and manual-grading flag, every student of the course (for
``grades.csv``) and every autograded test cell's score. Walking nbgrader's ORM for that
(``gb.assignment_submissions``, then ``sub.notebooks``, then ``snb.grades``, and ``find_submission``
per student for the CSV) costs one query or more per student and keeps every ORM object in the
session. Here each of those is one SQL statement whatever the class size, selecting columns
(never ORM objects) and read as a stream (``yield_per``: a server-side cursor on PostgreSQL), so
the number of statements is constant and no session fills up.

Scores keep nbgrader's semantics because they are nbgrader's own SQL expressions:
:attr:`nbgrader.api.Grade.score` (the manual score if a grader gave one, else the auto score, plus
any extra credit, else 0), :attr:`nbgrader.api.Assignment.max_score`, and the sums of
``SubmittedAssignment.score`` / ``.late_submission_penalty`` with nbgrader's
``coalesce(sum(...), 0.0)``. Only the shape differs: nbgrader's ``SubmittedAssignment.score`` is a
subquery correlated with each submission, which PostgreSQL and SQLite evaluate once per row
(the gradebook has no index on ``grade.notebook_id``: quadratic in the class size); here the same
sums are one ``GROUP BY`` per submission. SQL's ``sum`` has no defined order, in nbgrader's query
as in this one: for points that are binary fractions (integers, halves, quarters, ...) the sums
are exact and equal, bit for bit.

Everything works on any database SQLAlchemy and nbgrader support (the tests use SQLite and
PostgreSQL). The functions take the session of an open :class:`nbgrader.api.Gradebook` (``gb.db``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
    from sqlalchemy.sql import Select

#: Rows fetched from the database at a time when a result is streamed.
STREAM_ROWS = 1000


@dataclass(frozen=True)
class AssignmentInfo:
    """The source assignment: its id, name, due date and maximum score (as nbgrader computes them).

    ``max_score`` is the value nbgrader's ``Assignment.max_score`` gives (a float), kept as is so
    that ``grades.csv`` prints it as nbgrader's exporter does (``str()``).
    """

    id: str
    name: str
    duedate: datetime | None
    max_score: Any


@dataclass(frozen=True)
class SubmissionTotal:
    """One student's submission of the assignment, with nbgrader's totals.

    ``score`` is the sum of the submission's :attr:`~nbgrader.api.Grade.score` (nbgrader's
    ``SubmittedAssignment.score``, before the late penalty), ``late_penalty`` the sum of its
    notebooks' penalties (``SubmittedAssignment.late_submission_penalty``), both 0.0 when there is
    nothing to sum; ``needs_manual_grade`` whether any grade waits for a grader.
    """

    student: str
    timestamp: datetime | None
    score: Any
    late_penalty: Any
    needs_manual_grade: bool


@dataclass(frozen=True)
class StudentInfo:
    """A student of the course, as ``grades.csv`` lists them."""

    id: str
    first_name: str | None
    last_name: str | None
    email: str | None


@dataclass
class TestTally:
    """Running sums of one autograded test cell's scores: what the report's per-test table needs."""

    __test__ = False  # a tally, not a pytest test class

    notebook: str
    grade_id: str
    points: float
    total: float = 0.0  # sum of the scores, in the order they were read
    students: int = 0  # scores read
    full_marks: int = 0  # scores >= points

    def add(self, score: float) -> None:
        """Count one student's score on this test."""
        self.total += score
        self.students += 1
        self.full_marks += score >= self.points

    @property
    def mean_score(self) -> float:
        """The mean score, 0.0 without students."""
        return self.total / self.students if self.students else 0.0

    @property
    def full_marks_share(self) -> float:
        """The share of students with full marks, 0.0 without students."""
        return self.full_marks / self.students if self.students else 0.0


def _stream(session: Session, query: Select) -> Iterator[Any]:
    """The rows of ``query``, fetched :data:`STREAM_ROWS` at a time (a server-side cursor where the
    driver has them), as plain rows: no ORM object is made or kept."""
    yield from session.execute(query.execution_options(yield_per=STREAM_ROWS))


def find_assignment(session: Session, name: str) -> AssignmentInfo | None:
    """The assignment called ``name``, or None if the gradebook has no such assignment."""
    from nbgrader.api import Assignment
    from sqlalchemy import select

    query = select(Assignment.id, Assignment.name, Assignment.duedate, Assignment.max_score)
    row = session.execute(query.where(Assignment.name == name)).one_or_none()
    return None if row is None else AssignmentInfo(*row)


def autograded_cells(session: Session, assignment: AssignmentInfo) -> dict[tuple[str, str], float]:
    """``{(notebook, grade id): points}`` of the assignment's autograded test cells: its grade cells
    that are not also solution cells (an answer graded by hand is both). Two queries."""
    from nbgrader.api import GradeCell, Notebook, SolutionCell
    from sqlalchemy import select

    def cells(kind: type, *columns: Any) -> Select:
        return (
            select(Notebook.name, kind.name, *columns)
            .join(Notebook, kind.notebook_id == Notebook.id)
            .where(Notebook.assignment_id == assignment.id)
        )

    answers = {(nb, cell) for nb, cell in session.execute(cells(SolutionCell))}
    graded = session.execute(cells(GradeCell, GradeCell.max_score))
    return {(nb, cell): float(points) for nb, cell, points in graded if (nb, cell) not in answers}


def submission_totals(session: Session, assignment: AssignmentInfo) -> Iterator[SubmissionTotal]:
    """Every submission of the assignment with its totals (see :class:`SubmissionTotal`), streamed,
    in no particular order."""
    from nbgrader.api import Grade, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy import case, func, select

    mine = SubmittedAssignment.assignment_id == assignment.id

    def per_submission(query: Select) -> Any:
        """``query`` (from the submitted notebooks) restricted to the assignment, one row a submission."""
        return (
            query.join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
            .where(mine)
            .group_by(SubmittedNotebook.assignment_id)
            .subquery()
        )

    # Two aggregates, not one: joined with the grades, each notebook's penalty would count once a grade.
    grades = per_submission(
        select(
            SubmittedNotebook.assignment_id.label("submission"),
            func.sum(Grade.score).label("score"),
            func.max(case((Grade.needs_manual_grade, 1), else_=0)).label("manual"),
        ).join(Grade, Grade.notebook_id == SubmittedNotebook.id)
    )
    penalties = per_submission(
        select(
            SubmittedNotebook.assignment_id.label("submission"),
            func.sum(SubmittedNotebook.late_submission_penalty).label("penalty"),
        )
    )
    query = (
        select(
            SubmittedAssignment.student_id,
            SubmittedAssignment.timestamp,
            func.coalesce(grades.c.score, 0.0),
            func.coalesce(penalties.c.penalty, 0.0),
            func.coalesce(grades.c.manual, 0),
        )
        .outerjoin(grades, grades.c.submission == SubmittedAssignment.id)
        .outerjoin(penalties, penalties.c.submission == SubmittedAssignment.id)
        .where(mine)
    )
    for student, timestamp, score, penalty, manual in _stream(session, query):
        yield SubmissionTotal(student, timestamp, score, penalty, bool(manual))


def students(session: Session) -> Iterator[StudentInfo]:
    """Every student of the gradebook, streamed, in the order of nbgrader's ``Gradebook.students``
    (the same ``ORDER BY last_name, first_name`` on the same table, so ties come out alike)."""
    from nbgrader.api import Student
    from sqlalchemy import select

    query = select(Student.id, Student.first_name, Student.last_name, Student.email).order_by(
        Student.last_name, Student.first_name
    )
    for row in _stream(session, query):
        yield StudentInfo(*row)


def autograded_scores(session: Session, assignment: AssignmentInfo) -> Iterator[tuple[str, str, float]]:
    """``(notebook, cell name, score)`` of every grade of every submission of the assignment
    (nbgrader's :attr:`~nbgrader.api.Grade.score`), streamed, in no particular order."""
    from nbgrader.api import BaseCell, Grade, Notebook, SubmittedAssignment, SubmittedNotebook
    from sqlalchemy import select

    query = (
        select(Notebook.name, BaseCell.name, Grade.score)
        .select_from(Grade)
        .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
        .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
        .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
        .join(BaseCell, Grade.cell_id == BaseCell.id)
        .where(SubmittedAssignment.assignment_id == assignment.id)
    )
    for notebook, cell, score in _stream(session, query):
        yield notebook, cell, float(score)


def tally_tests(
    cells: dict[tuple[str, str], float], scores: Iterable[tuple[str, str, float]]
) -> list[TestTally]:
    """One :class:`TestTally` per test cell of ``cells`` (:func:`autograded_cells`), fed with the
    ``scores`` (:func:`autograded_scores`) of those cells; other cells' scores are skipped."""
    tallies = {key: TestTally(key[0], key[1], points) for key, points in cells.items()}
    for notebook, cell, score in scores:
        tally = tallies.get((notebook, cell))
        if tally is not None:
            tally.add(score)
    return list(tallies.values())
