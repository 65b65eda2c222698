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

The fixture ``marked`` is that course after an instructor's hand grading, set with nbgrader's
Gradebook API: alice's ``explain`` gets 4 points by hand, but she submitted late (penalty 1), bob
gets 0.5 extra credit on ``test-more``, carol 1.5 points by hand on ``test-two``; the assignment
gets a due date, alice a name and an email, and the new student frank (no submission) a name.
Totals: alice 5 + 4 - 1 = 8, bob 3.5, carol 1.5, dave 3, frank 0 (in ``grades.csv`` only);
``test-two`` means (3 + 3 + 1.5 + 3)/4 = 2.625, ``test-more`` (2 + 0.5 + 0 + 0)/4 = 0.625.
The tests also use the synthetic classes of :mod:`helpers.gradebooks` (any size, no grading).
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime
from pathlib import Path

import matplotlib.image
import nbformat
import pytest
from helpers.gradebooks import count_statements, make_class, nbgrader_csv, orm_report, report_numbers
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


# ---------------------------------------------------------------- the gradebook, read in a few queries

MARKED_TOTALS = {"alice": 8.0, "bob": 3.5, "carol": 1.5, "dave": 3.0}


def _url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


@pytest.fixture(scope="module")
def marked(graded_course: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy course after hand grading (see the module docstring), a copy without the engine's
    status files (so that a student's status says whether they wait for a grader)."""
    from nbgrader.api import Gradebook

    course = tmp_path_factory.mktemp("marked") / "course"
    shutil.copytree(graded_course, course, ignore=shutil.ignore_patterns("reports", ".adcourse"))
    with Gradebook(_url(course)) as gb:
        gb.update_or_create_assignment("toy", duedate="2030-01-01 12:00:00")
        essay = gb.find_grade("explain", "toy", "toy", "alice")
        essay.manual_score, essay.needs_manual_grade = 4.0, False
        gb.find_grade("test-more", "toy", "toy", "bob").extra_credit = 0.5
        gb.find_grade("test-two", "toy", "toy", "carol").manual_score = 1.5
        gb.find_submission("toy", "alice").timestamp = datetime(2030, 1, 2, 8, 30, 0, 250000)
        gb.find_submission_notebook("toy", "toy", "alice").late_submission_penalty = 1.0
        gb.update_or_create_student("alice", first_name="Alice", last_name="Smith", email="a@example.org")
        gb.update_or_create_student("frank", first_name="Frank", last_name="Adams")
        gb.db.commit()
    return course


def test_grades_csv_is_byte_for_byte_nbgraders_export(marked: Path, tmp_path: Path) -> None:
    report = build_report(marked, "toy", out_dir=tmp_path / "out")
    assert report.grades_csv.read_bytes() == nbgrader_csv(_url(marked), "toy", tmp_path / "nbgrader.csv")
    rows = {r["student_id"]: r for r in read_grades_csv(report.grades_csv)}
    assert csv_totals(rows.values()) == {**MARKED_TOTALS, "frank": 0.0}
    assert rows["alice"]["timestamp"] == "2030-01-02 08:30:00.250000"
    assert (rows["alice"]["raw_score"], rows["alice"]["late_submission_penalty"]) == ("9.0", "1.0")
    assert (rows["alice"]["last_name"], rows["alice"]["email"]) == ("Smith", "a@example.org")
    assert rows["frank"]["timestamp"] == "" and rows["frank"]["raw_score"] == "0.0"
    assert {r["duedate"] for r in rows.values()} == {"2030-01-01 12:00:00"}


def test_report_numbers_are_those_of_the_orm_walk(marked: Path, tmp_path: Path) -> None:
    report = build_report(marked, "toy", out_dir=tmp_path / "out")
    assert report_numbers(report) == orm_report(_url(marked), "toy")
    assert {r.student: r.score for r in report.students} == MARKED_TOTALS
    assert [(t.grade_id, t.mean_score, t.full_marks_share) for t in report.tests] == [
        ("test-more", 0.625, 0.25),
        ("test-two", 2.625, 0.75),
    ]
    assert report.missing == ["frank"]
    assert "| alice | 8 (late: -1) | 10 | 80.0 | graded |" in report.markdown.read_text(encoding="utf-8")


def test_a_name_with_a_comma_or_a_quote_round_trips(marked: Path, tmp_path: Path) -> None:
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    shutil.copytree(marked, course)
    last, first = "Smith, Jr.", 'Grace "Gigi"'
    with Gradebook(_url(course)) as gb:
        gb.update_or_create_student("grace", last_name=last, first_name=first)
    report = build_report(course, "toy", out_dir=tmp_path / "out")
    with report.grades_csv.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert {len(row) for row in rows} == {11}
    grace = next(dict(zip(rows[0], row, strict=True)) for row in rows if row[3] == "grace")
    assert (grace["last_name"], grace["first_name"], grace["score"]) == (last, first, "0.0")
    # nbgrader's own plugin writes the values unquoted: grace's row has a column too many
    nbgrader_rows = nbgrader_csv(_url(course), "toy", tmp_path / "nbgrader.csv").decode().splitlines()
    assert [len(line.split(",")) for line in nbgrader_rows if ",grace," in line] == [12]


def _synthetic(root: Path, n: int) -> Path:
    """A course folder whose gradebook holds the synthetic class of ``n`` students."""
    course = root / f"class{n}"
    course.mkdir()
    make_class(_url(course), n)
    return course


def test_a_synthetic_class_matches_nbgrader_and_the_orm_walk(tmp_path: Path) -> None:
    course = _synthetic(tmp_path, 45)
    report = build_report(course, "hw", out_dir=tmp_path / "out")
    assert report_numbers(report) == orm_report(_url(course), "hw")
    assert report.grades_csv.read_bytes() == nbgrader_csv(_url(course), "hw", tmp_path / "nbgrader.csv")
    # the class has what it should: late penalties, a clipped score, hand grades, no-shows
    assert {r.late_penalty for r in report.students} == {0.0, 1.5, 100.0}
    assert {r.status for r in report.students} == {"graded", "needs manual grading"}
    assert len(report.students) == 39 and len(report.missing) == 6
    assert sum(report.histogram_counts) == 39


def test_the_number_of_queries_does_not_grow_with_the_class(tmp_path: Path) -> None:
    sent = {}
    for n in (4, 40):
        course = _synthetic(tmp_path, n)
        with count_statements() as statements:
            report = build_report(course, "hw", out_dir=tmp_path / f"out{n}")
        assert len(report.students) + len(report.missing) == n
        sent[n] = len(statements)
    assert sent[4] == sent[40], sent
    # the counter does see per-student queries: the ORM walk sends more for more students
    walked = {}
    for n in (4, 40):
        with count_statements() as statements:
            orm_report(_url(tmp_path / f"class{n}"), "hw")
        walked[n] = len(statements)
    assert walked[40] > walked[4] + 36, walked
