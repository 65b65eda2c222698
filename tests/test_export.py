"""``adcourse export``: grades for Canvas's gradebook import, and a plain CSV.

The gradebook is built here with nbgrader's own API: assignment ``toy`` with two autograded cells
worth 6 and 4 points (10 in all), and nbgrader's student table:

=========  ======  =======  =================  ===========  ============  =========================
student    first   last     email              LMS user id  points        score (by hand)
=========  ======  =======  =================  ===========  ============  =========================
ana        Ana     Lima     ana@uni.example    101          5 + 2         7
ben        Ben     Okafor   bokafor@uni.ex...  (none)       1 + 0, late   max(0, 1 - 2) = 0
carmen     Carmen  Cruz     (none)             (none)       6 + 4         10
e.wu       Eli     Wu       (none)             105          3 + 0         3
dan        Dan     Berg     dan@uni.example    (none)       no submission 0
=========  ======  =======  =================  ===========  ============  =========================

``tests/data/canvas_gradebook_export.csv`` is a gradebook export in Canvas's documented format
(Student, ID, SIS User ID, SIS Login ID, Section, then one column per assignment named
``Name (canvas id)``, a "Points Possible" row, read-only score columns, Canvas's test student).
Its students are matched by SIS Login ID = email (Ana), = the email's local part (Ben), = the
nbgrader id (Carmen), and by Canvas ID = the LMS user id (Eli); Dan is not in it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import warnings
from pathlib import Path

import pytest
from helpers.toycourse import autograded_cell, make_course, notebook

from autograder.cli import main
from autograder.export import CANVAS_COLUMNS, CSV_COLUMNS, ExportError, export_grades, read_roster
from autograder.nbgrader_cli import ensure_scripts_on_path

SAMPLE = Path(__file__).parent / "data" / "canvas_gradebook_export.csv"
STUDENTS = {  # id -> (first, last, email, lms user id)
    "ana": ("Ana", "Lima", "ana@uni.example", "101"),
    "ben": ("Ben", "Okafor", "bokafor@uni.example", None),
    "carmen": ("Carmen", "Cruz", None, None),
    "e.wu": ("Eli", "Wu", None, "105"),
    "dan": ("Dan", "Berg", "dan@uni.example", None),
}
POINTS = {"ana": (5, 2), "ben": (1, 0), "carmen": (6, 4), "e.wu": (3, 0)}  # test-a (6), test-b (4)
LATE = {"ben": 2.0}
SCORES = {"ana": 7.0, "ben": 0.0, "carmen": 10.0, "e.wu": 3.0, "dan": 0.0}  # from the table above


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nbgrader.api import Gradebook

    ensure_scripts_on_path()  # a new gradebook runs the ``alembic`` command
    course = make_course(
        tmp_path_factory.mktemp("export"),
        {"toy": notebook([autograded_cell("test-a", "pass", 6), autograded_cell("test-b", "pass", 4)])},
    )
    # nbgrader's add_submission warns about its own SQLAlchemy session use; that is nbgrader's business
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        warnings.simplefilter("ignore")
        gb.add_assignment("toy")
        gb.add_notebook("toy", "toy")
        gb.add_grade_cell("test-a", "toy", "toy", max_score=6, cell_type="code")
        gb.add_grade_cell("test-b", "toy", "toy", max_score=4, cell_type="code")
        for student, (first, last, email, lms) in STUDENTS.items():
            gb.add_student(student, first_name=first, last_name=last, email=email, lms_user_id=lms)
        for student, (a, b) in POINTS.items():
            gb.add_submission("toy", student)
            gb.find_grade("test-a", "toy", "toy", student).auto_score = a
            gb.find_grade("test-b", "toy", "toy", student).auto_score = b
            gb.find_submission_notebook("toy", "toy", student).late_submission_penalty = LATE.get(
                student, 0.0
            )
        gb.db.commit()
    return course


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_the_sample_follows_canvas_format() -> None:
    """The sample itself: Canvas's identifying columns first, the points row, five students."""
    roster = read_roster(SAMPLE)
    assert tuple(roster.header[:5]) == CANVAS_COLUMNS
    assert roster.column_for("toy") == "toy (12345)"
    assert [r["Student"] for r in roster.rows] == ["Lima, Ana", "Okafor, Ben", "Cruz, Carmen", "Wu, Eli"]


def test_canvas_export_with_the_roster(course: Path, tmp_path: Path) -> None:
    path, done = export_grades(course, "toy", "canvas", tmp_path / "canvas.csv", roster=SAMPLE)
    rows = _rows(path)
    header, points, students = rows[0], rows[1], rows[2:]
    assert header == [*CANVAS_COLUMNS, "toy (12345)"]
    assert points[0].strip() == "Points Possible" and points[1:5] == ["", "", "", ""] and points[5] == "10"
    sample = {r["Student"]: r for r in read_roster(SAMPLE).rows}
    # the roster's rows, in its order, with its own identifying cells
    assert [r[0] for r in students] == list(sample)
    for row in students:
        assert row[:5] == [sample[row[0]][c] for c in CANVAS_COLUMNS]
    by_name = {r[0]: r[5] for r in students}
    assert by_name == {"Lima, Ana": "7", "Okafor, Ben": "0", "Cruz, Carmen": "10", "Wu, Eli": "3"}
    assert done.not_in_roster == ["dan"] and done.unmatched_roster == []


def test_a_roster_student_without_a_grade_is_left_empty(course: Path, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    text = SAMPLE.read_text(encoding="utf-8") + '"Nobody, Nora",106,S1006,nora,AD 101 B,,,,,,\n'
    roster.write_text("\ufeff" + text, encoding="utf-8")  # Canvas and Excel write a byte-order mark
    _, done = export_grades(course, "toy", "canvas", tmp_path / "out.csv", roster=roster)
    row = next(r for r in _rows(tmp_path / "out.csv") if r[0] == "Nobody, Nora")
    assert row[5] == "" and done.unmatched_roster == ["Nobody, Nora"]


def test_canvas_export_without_a_roster(course: Path, tmp_path: Path) -> None:
    path, done = export_grades(course, "toy", "canvas", tmp_path / "canvas.csv", column="Forward mode (777)")
    rows = _rows(path)
    assert rows[0] == [*CANVAS_COLUMNS, "Forward mode (777)"]
    assert rows[1][5] == "10"
    body = {r[2]: r for r in rows[2:]}  # SIS User ID = the nbgrader id
    assert set(body) == set(STUDENTS) and done.rows == len(STUDENTS)
    assert body["ana"] == ["Lima, Ana", "101", "ana", "ana@uni.example", "", "7"]
    assert body["carmen"][3] == "carmen"  # no email: the login is the id
    assert {s: float(r[5]) for s, r in body.items()} == SCORES


def test_csv_export(course: Path, tmp_path: Path) -> None:
    path, _ = export_grades(course, "toy", "csv", tmp_path / "grades.csv")
    rows = _rows(path)
    assert tuple(rows[0]) == CSV_COLUMNS
    body = {r[0]: dict(zip(CSV_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert {s: float(r["score"]) for s, r in body.items()} == SCORES
    assert body["dan"]["submitted"] == "no" and body["ana"]["submitted"] == "yes"
    assert body["ben"]["email"] == "bokafor@uni.example" and body["ana"]["max_score"] == "10"


def test_adcourse_export(course: Path, tmp_path: Path) -> None:
    work = tmp_path / "root"
    shutil.copytree(course.parent, work)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["export", "toy", "--course", str(work / "course"), "--roster", str(SAMPLE)])
    assert code == 0, err.getvalue()
    written = work / "course" / "exports" / "toy-canvas.csv"
    assert f"canvas export of toy: 4 student(s) in {written}" in out.getvalue()
    assert "1 nbgrader student(s) not in the roster (not exported):\n    dan" in out.getvalue()
    assert _rows(written)[0][5] == "toy (12345)"


def test_bad_input(course: Path, tmp_path: Path) -> None:
    not_canvas = tmp_path / "other.csv"
    not_canvas.write_text("name,score\nana,3\n", encoding="utf-8")
    with pytest.raises(ExportError, match="not a Canvas gradebook export"):
        export_grades(course, "toy", "canvas", tmp_path / "x.csv", roster=not_canvas)
    with pytest.raises(ExportError, match="only used for --format canvas"):
        export_grades(course, "toy", "csv", tmp_path / "x.csv", roster=SAMPLE)
    with pytest.raises(ExportError, match="unknown export format"):
        export_grades(course, "toy", "xlsx")
