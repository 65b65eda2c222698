"""The grade report on a toy course graded by stock nbgrader.

The toy assignment has two autograded tests, ``test-two`` (3 points: ``double(2) == 4``) and
``test-more`` (2 points: ``double(3) == 6`` and, hidden, ``double(-1) == -2``), and a written
answer ``explain`` (5 points, graded by hand). The four students' answers and their points,
worked out by hand:

=========  ===============  ========  =========  ==============================  =====
student    double(x)        test-two  test-more  explain                         total
=========  ===============  ========  =========  ==============================  =====
alice      ``2 * x``        3         2          answered, not yet graded: 0     5
bob        ``x * x``        3         0          left blank: nbgrader gives 0    3
carol      ``3 * x``        0         0          answered, not yet graded: 0     0
dave       ``abs(2 * x)``   3         0          left blank: 0                   3
=========  ===============  ========  =========  ==============================  =====

so ``test-more`` has full marks from 1 of 4 students (mean 2/4 = 0.5 points) and ``test-two``
from 3 of 4 (mean 9/4 = 2.25 points). The maximum is 3 + 2 + 5 = 10 points.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import matplotlib.image
import nbformat
import pytest
from helpers.toycourse import (
    csv_totals,
    double_cells,
    edited,
    make_course,
    notebook,
    read_grades_csv,
    release,
    submit,
    written_cell,
)

from autograder.engine.status import status_dir
from autograder.nbgrader_cli import run_nbgrader
from autograder.paths import CourseError
from autograder.report import build_report, read_statuses

ANSWERS = {"alice": "2 * x", "bob": "x * x", "carol": "3 * x", "dave": "abs(2 * x)"}
WRITTEN = {"alice", "carol"}  # who wrote something in the written answer
TOTALS = {"alice": 5.0, "bob": 3.0, "carol": 0.0, "dave": 3.0}
MAX = 10.0


def _source_notebook() -> nbformat.NotebookNode:
    """``double`` and its tests (3 and 2 points), and the written answer (5 points)."""
    return notebook([*double_cells(3, 2), written_cell(5)])


def _edits(student: str) -> dict[str, str]:
    """What ``student`` writes in the release (see the table in the module docstring)."""
    edits = {"double": f"def double(x):\n    return {ANSWERS[student]}"}
    if student in WRITTEN:
        edits["explain"] = f"{student} says: the slope of 2x is 2."
    return edits


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy course autograded by nbgrader for four students, plus the grading engine's status files."""
    course = make_course(tmp_path_factory.mktemp("report"), {"toy": _source_notebook()})
    released = release(course)
    for student in ANSWERS:
        submit(course, student, {"toy.ipynb": edited(released, _edits(student))})
    run_nbgrader(course, "autograde", "toy")

    # after grading: a submission the engine has not graded yet, and the engine's status files
    submit(course, "late", {"toy.ipynb": released})
    statuses = status_dir(course, "toy")
    statuses.mkdir(parents=True)
    for student, status, detail in [
        ("alice", "graded", ""),
        ("dave", "timeout", "cell test-more ran past 120 s"),
    ]:
        record = {"student": student, "assignment": "toy", "status": status, "detail": detail}
        (statuses / f"{student}.json").write_text(json.dumps(record), encoding="utf-8")
    (statuses / "erin.json").write_text('{"student": "erin", "status": ', encoding="utf-8")
    return course


@pytest.fixture(scope="module")
def report(graded_course: Path):
    return build_report(graded_course, "toy")


def test_totals_per_student(report) -> None:
    assert {r.student: r.score for r in report.students} == TOTALS
    assert report.max_score == MAX
    assert all(r.max_score == MAX for r in report.students)
    assert {r.student: r.percent for r in report.students} == {s: 100 * t / MAX for s, t in TOTALS.items()}
    assert {r.student: r.status for r in report.students} == {
        "alice": "needs manual grading",
        "bob": "graded",
        "carol": "needs manual grading",
        "dave": "timeout",
    }


def test_tests_hardest_first(report) -> None:
    rows = [
        (t.grade_id, t.notebook, t.points, t.mean_score, t.full_marks_share, t.students) for t in report.tests
    ]
    assert rows == [
        ("test-more", "toy", 2.0, 0.5, 0.25, 4),
        ("test-two", "toy", 3.0, 2.25, 0.75, 4),
    ]


def test_ungradable_submissions_are_listed_with_reasons(report) -> None:
    found = {u.student: (u.status, u.detail) for u in report.ungradable}
    assert set(found) == {"dave", "erin", "late"}
    assert found["dave"] == ("timeout", "cell test-more ran past 120 s")
    assert found["erin"][0] == "status file unreadable"
    assert found["erin"][1].startswith("erin.json")
    assert found["late"][0] == "not graded yet"
    page = report.markdown.read_text(encoding="utf-8")
    for student, (status, _) in found.items():
        assert f"| {student} | {status} |" in page


def test_markdown_lists_students_and_tests_in_order(report) -> None:
    page = report.markdown.read_text(encoding="utf-8")
    assert "| bob | 3 | 10 | 30.0 | graded |" in page
    assert "| alice | 5 | 10 | 50.0 | needs manual grading |" in page
    assert page.index("| test-more |") < page.index("| test-two |")
    assert "25% of 4" in page and "75% of 4" in page


def test_summary_names_the_files_and_the_problems(report) -> None:
    text = report.summary()
    assert text.startswith("toy: 4 graded submission(s) out of 10 points, mean 27.5 %; 3 could not be graded")
    assert "most failed test: test-more (toy), full marks for 25% of 4" in text
    assert "dave: timeout (cell test-more ran past 120 s)" in text
    for path in (report.grades_csv, report.markdown, report.histogram):
        assert str(path) in text


def test_histogram_counts_every_student(report) -> None:
    # percents 50, 30, 0, 30 in bins of 10 points: [0, 10) once, [30, 40) twice, [50, 60) once
    assert report.histogram_counts == [1, 0, 0, 2, 0, 1, 0, 0, 0, 0]
    assert report.histogram.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(report.histogram)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_grades_csv_is_nbgraders_export(report) -> None:
    rows = read_grades_csv(report.grades_csv)
    assert csv_totals(rows) == TOTALS
    assert {r["assignment"] for r in rows} == {"toy"}
    assert {float(r["max_score"]) for r in rows} == {MAX}
    assert list(rows[0])[:4] == ["assignment", "duedate", "timestamp", "student_id"]


def test_a_hand_grade_changes_the_total(graded_course: Path, tmp_path: Path) -> None:
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    shutil.copytree(graded_course, course, ignore=shutil.ignore_patterns("reports"))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade("explain", "toy", "toy", "alice")
        grade.manual_score = 4.0
        grade.needs_manual_grade = False
        gb.update_or_create_student("frank")  # known to the course, no submission
        gb.db.commit()

    changed = build_report(course, "toy", out_dir=tmp_path / "out")

    totals = {r.student: r.score for r in changed.students}
    assert totals == {**TOTALS, "alice": TOTALS["alice"] + 4.0}
    assert {r.student: r.status for r in changed.students}["alice"] == "graded"
    assert changed.missing == ["frank"]
    assert csv_totals(read_grades_csv(changed.grades_csv)) == {**totals, "frank": 0.0}
    assert changed.out_dir == tmp_path / "out" and changed.histogram.is_file()
    assert sum(changed.histogram_counts) == 4


def test_read_statuses(tmp_path: Path) -> None:
    assert read_statuses(tmp_path, "toy") == {}
    folder = status_dir(tmp_path, "toy")
    folder.mkdir(parents=True)
    (folder / "a.json").write_text(json.dumps({"status": "kernel died", "detail": "exit -9"}))
    (folder / "b.json").write_text("[1, 2]")
    (folder / "c.json").write_text(json.dumps({"detail": "no status"}))
    (folder / "d.json").write_bytes(b"\xff\xfe")
    (folder / ".e.json").write_text("{half")  # an unfinished atomic write is not a status
    got = read_statuses(tmp_path, "toy")
    assert sorted(got) == ["a", "b", "c", "d"]
    assert got["a"] == {"student": "a", "assignment": "toy", "status": "kernel died", "detail": "exit -9"}
    for student in "bcd":
        assert got[student]["status"] == "status file unreadable", student
        assert got[student]["detail"].startswith(f"{student}.json")


def test_report_errors_name_the_problem(graded_course: Path, tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="has no gradebook"):
        build_report(tmp_path, "toy")
    with pytest.raises(CourseError, match="assignment 'nope' is not in the gradebook"):
        build_report(graded_course, "nope", out_dir=tmp_path / "out")
