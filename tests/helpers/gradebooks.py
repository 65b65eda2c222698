"""Gradebooks for the report tests: a synthetic class of any size, the report as the old ORM walk
computed it, and a count of SQL statements.

:func:`make_class` fills a gradebook (any SQLAlchemy URL) with nbgrader's own ``Gradebook`` API,
without grading anything: the assignment ``hw`` (due 2030-01-01 12:00) has the notebooks ``one``
(tests ``t-a``, 2 points, and ``t-b``, 3 points) and ``two`` (test ``t-c``, 1.5 points, and
``essay``, 4 points, a written answer: a grade cell that is also a solution cell). Student ``i``
of ``n`` (``s000``, ``s001``, ...) has, by :func:`_points`, autograded points in quarters
(sometimes none: never graded), a manual grade overriding some of them, extra credit on others,
the essay graded by hand or waiting for it, a late penalty (one so large the score clips at 0),
and names with ties and blanks; every seventh student submitted nothing. Every number is a
binary fraction, so sums in any order are exact.

:func:`orm_report` is the report's numbers as :mod:`autograder.report` computed them before it
read the gradebook with set-based queries: nbgrader's ORM walked one submission at a time (the
reference the streaming queries must agree with). No name here starts with ``test``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

ASSIGNMENT = "hw"
DUE = "2030-01-01 12:00:00"
TESTS = {("one", "t-a"): 2.0, ("one", "t-b"): 3.0, ("two", "t-c"): 1.5}
ESSAY = ("two", "essay", 4.0)
MAX = sum(TESTS.values()) + ESSAY[2]
LAST_NAMES = ("Ng", None, "Okafor", "Ng", "Smith")
FIRST_NAMES = ("Ada", "Bo", None)


def _points(i: int, cell: str, points: float) -> tuple[float | None, float | None, float | None, bool]:
    """Student ``i``'s ``(auto score, manual score, extra credit, needs manual grade)`` on ``cell``."""
    if cell == "essay":
        graded = i % 3 != 0
        return None, (i % 5) * 0.75 if graded else None, None, not graded
    auto = None if i % 11 == 5 else min(points, (i * len(cell) + 3 * i) % 9 * 0.25)
    manual = 1.25 if (i % 6 == 2 and cell == "t-b") else None
    extra = 0.5 if (i % 4 == 1 and cell == "t-a") else None
    return auto, manual, extra, False


def _timestamp(i: int) -> str | None:
    """When student ``i`` submitted: late, on time, or unknown."""
    if i % 5 == 0:
        return "2030-01-02 08:30:00.250000"
    return None if i % 5 == 4 else "2029-12-31 09:00:00"


def _penalty(i: int) -> float | None:
    """Student ``i``'s late penalty on notebook ``one`` (None: nbgrader's never-set)."""
    if i == 10:
        return 100.0  # more than the points: the score clips at 0
    return 1.5 if i % 5 == 0 else (0.0 if i % 2 else None)


def make_class(url: str, n: int) -> None:
    """Fill the (new) gradebook at ``url`` with the synthetic class of ``n`` students (module docstring)."""
    from nbgrader.api import Grade, Gradebook, SubmittedNotebook

    from autograder.nbgrader_cli import ensure_scripts_on_path

    ensure_scripts_on_path()  # nbgrader runs ``alembic`` when it creates a gradebook
    with Gradebook(url) as gb:
        gb.add_assignment(ASSIGNMENT, duedate=DUE)
        for notebook in ("one", "two"):
            gb.add_notebook(notebook, ASSIGNMENT)
        for (notebook, cell), points in TESTS.items():
            gb.add_grade_cell(cell, notebook, ASSIGNMENT, max_score=points, cell_type="code")
        gb.add_solution_cell("f", "one", ASSIGNMENT)
        gb.add_grade_cell(ESSAY[1], ESSAY[0], ASSIGNMENT, max_score=ESSAY[2], cell_type="markdown")
        gb.add_solution_cell(ESSAY[1], ESSAY[0], ASSIGNMENT)
        for i in range(n):
            student = f"s{i:03d}"
            gb.add_student(
                student,
                last_name=LAST_NAMES[i % len(LAST_NAMES)],
                first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
                email=f"{student}@example.org" if i % 2 else None,
            )
            if i % 7 != 6:
                timestamp = _timestamp(i)
                with gb.db.no_autoflush:  # else SQLAlchemy warns about nbgrader's half-built objects
                    gb.add_submission(ASSIGNMENT, student, **({"timestamp": timestamp} if timestamp else {}))
        for grade in gb.db.query(Grade):
            i = int(grade.student.id[1:])
            points = grade.cell.max_score
            grade.auto_score, grade.manual_score, grade.extra_credit, grade.needs_manual_grade = _points(
                i, grade.cell.name, points
            )
        for snb in gb.db.query(SubmittedNotebook):
            if snb.notebook.name == "one":
                snb.late_submission_penalty = _penalty(int(snb.assignment.student.id[1:]))
        gb.db.commit()


def orm_report(url: str, assignment: str) -> tuple[float, dict, list, list[str]]:
    """``(max score, {student: (score, late penalty, needs manual grade)}, test rows, missing)`` as
    the report computed them by walking nbgrader's ORM (the score less the penalty, clipped at 0);
    a test row is ``(notebook, grade id, points, mean score, full-marks share, students)``, hardest
    first."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        source = gb.find_assignment(assignment)
        points = {}
        for nb in source.notebooks:
            answers = {c.name for c in nb.solution_cells}
            for cell in nb.grade_cells:
                if cell.name not in answers:
                    points[(nb.name, cell.name)] = float(cell.max_score)
        scores: dict[tuple[str, str], list[float]] = {key: [] for key in points}
        totals = {}
        for sub in gb.assignment_submissions(assignment):
            penalty = float(sub.late_submission_penalty or 0.0)
            score = max(0.0, float(sub.score) - penalty)
            totals[sub.student.id] = (score, penalty, bool(sub.needs_manual_grade))
            for snb in sub.notebooks:
                for grade in snb.grades:
                    if (snb.name, grade.name) in scores:
                        scores[(snb.name, grade.name)].append(float(grade.score))
        missing = sorted(s.id for s in gb.students if s.id not in totals)
        max_score = float(source.max_score)
    tests = []
    for (notebook, cell), got in scores.items():
        n, p = len(got), points[(notebook, cell)]
        mean = sum(got) / n if n else 0.0
        share = sum(s >= p for s in got) / n if n else 0.0
        tests.append((notebook, cell, p, mean, share, n))
    tests.sort(key=lambda t: (t[4], t[3] / t[2] if t[2] else 0.0, t[0], t[1]))
    return max_score, totals, tests, missing


def report_numbers(report) -> tuple[float, dict, list, list[str]]:
    """A :class:`autograder.report.Report`'s numbers in the shape of :func:`orm_report` (for a
    course without status files, where a student's status says whether they need a grader)."""
    manual = {"needs manual grading": True, "graded": False}
    totals = {r.student: (r.score, r.late_penalty, manual[r.status]) for r in report.students}
    tests = [
        (t.notebook, t.grade_id, t.points, t.mean_score, t.full_marks_share, t.students) for t in report.tests
    ]
    return report.max_score, totals, tests, report.missing


def nbgrader_csv(url: str, assignment: str, path) -> bytes:
    """``grades.csv`` as nbgrader's own ``CsvExportPlugin`` writes it for ``assignment`` (its bytes)."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    with Gradebook(url) as gb:
        CsvExportPlugin(to=str(path), assignment=[assignment]).export(gb)
    return path.read_bytes()


@contextmanager
def count_statements() -> Iterator[list[str]]:
    """The SQL statements any SQLAlchemy engine sends while the block runs, as a list filled in."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    sent: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", note)
