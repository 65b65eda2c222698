"""The gradebook on PostgreSQL: the same class graded into SQLite and into a real PostgreSQL server.

The server is started by :mod:`helpers.pgserver` (initdb / pg_ctl on loopback, one per test process);
without PostgreSQL's server binaries these tests fail, saying how to install them.

The toy assignment ``toy`` (one notebook, ``toy.ipynb``), from :mod:`helpers.toycourse`:

* ``double`` (solution), tested by ``test-two`` (3 points, ``double(2) == 4``) and ``test-more``
  (2 points, ``double(3) == 6`` and, hidden, ``double(-1) == -2``);
* ``square`` (solution), tested by ``test-square`` (4 points, ``square(3) == 9``);
* ``explain``, a written answer worth 5 points, graded by hand (no score until then).

The assignment is worth 3 + 2 + 4 + 5 = 14 points. The class, worked out by hand:

=======  ================================================  ===  ====  ======  =====  ===================
student  what they submit                                  two  more  square  total  status
=======  ================================================  ===  ====  ======  =====  ===================
key      the answer key, and an answer to ``explain``      3    2     4       9      graded
partial  ``x * x`` (right at 2 only), square left blank    3    0     0       3      graded
wrong    ``3 * x`` (both double tests fail), key square    0    0     4       4      graded
broken   ``{"cells": [ not json`` as toy.ipynb             0    0     0       0      unreadable notebook
=======  ================================================  ===  ====  ======  =====  ===================

Only ``key`` answers the written question: that answer waits for a grader (``needs_manual_grade``,
no score). nbgrader gives 0, with nothing to grade by hand, to an answer left as released
(``partial``, ``wrong``) and to every cell of a notebook it cannot read (``broken``). So the
gradebook holds 4 students, 4 submissions, 4 submitted notebooks and 4 x 4 = 16 grades, in either
database.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from helpers.gradebooks import count_statements, make_class, nbgrader_csv, orm_report, report_numbers
from helpers.pgserver import PgServer, free_port
from helpers.toycourse import (
    KEY,
    TESTS,
    WRITTEN,
    csv_totals,
    edited,
    make_course,
    read_grades_csv,
    release,
    source_notebook,
    submit,
)

from autograder.cli import main
from autograder.config import db_url
from autograder.engine import autograde
from autograder.engine.run import AutogradeRun
from autograder.gradebook import GradebookError, check_gradebook, gradebook_exists, mask_password
from autograder.nbgrader_cli import run_nbgrader
from autograder.paths import CourseError
from autograder.report import build_report

MAX = 14.0  # 3 + 2 + 4 + 5

# student -> autograded points per test cell, from the table in the module docstring
POINTS: dict[str, dict[str, float]] = {
    "key": {"test-two": 3, "test-more": 2, "test-square": 4},
    "partial": {"test-two": 3, "test-more": 0, "test-square": 0},
    "wrong": {"test-two": 0, "test-more": 0, "test-square": 4},
    "broken": {"test-two": 0, "test-more": 0, "test-square": 0},
}
TOTALS = {"key": 9.0, "partial": 3.0, "wrong": 4.0, "broken": 0.0}
STATUS = {"key": "graded", "partial": "graded", "wrong": "graded", "broken": "unreadable notebook"}
ROWS = {"student": 4, "submitted_assignment": 4, "submitted_notebook": 4, "grade": 16}

# A (PostgreSQL-looking) password that must never show in an error message.
SECRET = "s3cret-Pw"


# ---------------------------------------------------------------- the class, in both databases


def submission_files(released: nbformat.NotebookNode) -> dict[str, dict[str, bytes | nbformat.NotebookNode]]:
    """Every student's submitted files, as in the module docstring."""
    return {
        "key": {"toy.ipynb": edited(released, {**KEY, "explain": "Because d(2x)/dx = 2."})},
        "partial": {"toy.ipynb": edited(released, {"double": "def double(x):\n    return x * x"})},
        "wrong": {"toy.ipynb": edited(released, {**KEY, "double": "def double(x):\n    return 3 * x"})},
        "broken": {"toy.ipynb": b'{"cells": [ not json'},
    }


def use_gradebook(course: Path, url: str) -> None:
    """Point the course's gradebook at ``url``, as an instructor does in ``nbgrader_config.py``."""
    with (course / "nbgrader_config.py").open("a", encoding="utf-8") as fh:
        fh.write(f"\nc.CourseDirectory.db_url = {url!r}\n")


Grades = dict[str, dict[str, tuple[float | None, float | None, bool, float]]]


def cell_grades(url: str) -> Grades:
    """``{student: {cell: (auto score, manual score, needs manual grade, max score)}}``, read with
    nbgrader's own gradebook API from the database at ``url``."""
    from nbgrader.api import Gradebook

    out: Grades = {}
    with Gradebook(url) as gb:
        for sub in gb.assignment_submissions("toy"):
            cells = out.setdefault(sub.student.id, {})
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells[g.name] = (g.auto_score, g.manual_score, bool(g.needs_manual_grade), g.max_score)
    return out


def row_counts(url: str) -> dict[str, int]:
    """Rows in the gradebook's tables of students, submissions and grades."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in ROWS}
    finally:
        engine.dispose()


def grade_ids(url: str) -> set[str]:
    """The ids of every grade row (the same ids after a re-run: rows updated, not replaced)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT id FROM grade")).scalars())
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Graded:
    """A course whose class was graded once, and what is in its gradebook afterwards."""

    course: Path
    url: str
    run: AutogradeRun
    grades: Grades


def grade_class(root: Path, url: str | None) -> Graded:
    """Copy the toy course root to ``root``, point it at ``url`` (None: the default SQLite file),
    release, submit the class and autograde it (one worker: the parent writes the gradebook
    whatever the number of workers, and one is the cheapest)."""
    course = root / "course"
    if url is not None:
        use_gradebook(course, url)
    files = submission_files(release(course))
    for student, content in files.items():
        submit(course, student, content)
    run = autograde(course, "toy", jobs=1)
    gradebook = db_url(course)
    return Graded(course, gradebook, run, cell_grades(gradebook))


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An unreleased toy course (its root holds course/ and assignments/)."""
    return make_course(tmp_path_factory.mktemp("toy"), {"toy": source_notebook()}).parent


def _copy(toy_root: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    dest = tmp_path_factory.mktemp(name) / "root"
    shutil.copytree(toy_root, dest)
    return dest


@pytest.fixture(scope="module")
def sqlite_class(toy_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Graded:
    """The class graded into the default SQLite gradebook."""
    return grade_class(_copy(toy_root, tmp_path_factory, "sqlite"), None)


@pytest.fixture(scope="module")
def pg_class(toy_root: Path, tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer) -> Graded:
    """The class graded into a new PostgreSQL database."""
    return grade_class(_copy(toy_root, tmp_path_factory, "pg"), pg_server.create_database())


def expected_autograded(students: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {s: {c: float(p) for c, p in cells.items()} for s, cells in students.items()}


def autograded_points(grades: Grades) -> dict[str, dict[str, float]]:
    """The autograded cells' points out of :func:`cell_grades`."""
    return {s: {c: g[0] for c, g in cells.items() if c in TESTS} for s, cells in grades.items()}


# ---------------------------------------------------------------- grading into PostgreSQL


def test_the_postgresql_course_writes_to_postgresql(pg_class: Graded) -> None:
    assert pg_class.url.startswith("postgresql+psycopg://")
    assert not (pg_class.course / "gradebook.db").exists()
    assert row_counts(pg_class.url) == ROWS


def test_both_gradebooks_hold_the_hand_worked_points(sqlite_class: Graded, pg_class: Graded) -> None:
    for graded in (sqlite_class, pg_class):
        assert autograded_points(graded.grades) == expected_autograded(POINTS), graded.url
        assert {s.student: s.status for s in graded.run.statuses} == STATUS, graded.url
        assert {s.student: s.score for s in graded.run.statuses} == TOTALS, graded.url


def test_sqlite_and_postgresql_hold_identical_grades(sqlite_class: Graded, pg_class: Graded) -> None:
    assert pg_class.grades == sqlite_class.grades
    # the written answer: waiting for a grader where there is one, 0 where it was left as released
    assert pg_class.grades["key"]["explain"] == (None, None, True, WRITTEN)
    for student in ("partial", "wrong", "broken"):
        assert pg_class.grades[student]["explain"] == (0.0, None, False, WRITTEN)


def test_regrading_into_postgresql_changes_nothing(pg_class: Graded) -> None:
    ids = grade_ids(pg_class.url)
    again = autograde(pg_class.course, "toy", jobs=1)
    assert {s.student: (s.status, s.score) for s in again.statuses} == {
        s: (STATUS[s], TOTALS[s]) for s in STATUS
    }
    assert cell_grades(pg_class.url) == pg_class.grades
    assert row_counts(pg_class.url) == ROWS
    assert grade_ids(pg_class.url) == ids


def test_report_reads_either_gradebook(sqlite_class: Graded, pg_class: Graded, tmp_path: Path) -> None:
    csv_rows = {}
    for name, graded in (("sqlite", sqlite_class), ("pg", pg_class)):
        report = build_report(graded.course, "toy", out_dir=tmp_path / name)
        assert report.max_score == MAX, name
        assert {r.student: r.score for r in report.students} == TOTALS, name
        percents = {s: 100 * t / MAX for s, t in TOTALS.items()}
        assert {r.student: r.percent for r in report.students} == percents, name
        assert [(u.student, u.status) for u in report.ungradable] == [("broken", "unreadable notebook")], name
        csv_rows[name] = read_grades_csv(report.grades_csv)
        assert csv_totals(csv_rows[name]) == TOTALS, name
    assert sorted(csv_rows["pg"], key=lambda r: r["student_id"]) == sorted(
        csv_rows["sqlite"], key=lambda r: r["student_id"]
    )


def test_stock_nbgrader_export_reads_either_gradebook(
    sqlite_class: Graded, pg_class: Graded, tmp_path: Path
) -> None:
    exported = {}
    for name, graded in (("sqlite", sqlite_class), ("pg", pg_class)):
        path = tmp_path / f"{name}.csv"
        run_nbgrader(graded.course, "export", "--to", str(path))
        exported[name] = sorted(read_grades_csv(path), key=lambda r: r["student_id"])
        assert csv_totals(exported[name]) == TOTALS, name
        assert {r["student_id"]: float(r["max_score"]) for r in exported[name]} == dict.fromkeys(TOTALS, MAX)
    assert exported["pg"] == exported["sqlite"]


def test_report_reads_a_postgresql_class_in_a_constant_number_of_queries(
    pg_server: PgServer, tmp_path: Path
) -> None:
    """The synthetic class of :mod:`helpers.gradebooks` in PostgreSQL, at two sizes: the report's
    numbers are the ORM walk's, its grades.csv is byte for byte nbgrader's export from the same
    database (the same student order, NULL names last), and it sends as many statements for 40
    students as for 4 (its results streamed through server-side cursors)."""
    sent = {}
    for n in (4, 40):
        course = tmp_path / f"class{n}"
        course.mkdir()
        url = pg_server.create_database()
        use_gradebook(course, url)
        make_class(url, n)
        with count_statements() as statements:
            report = build_report(course, "hw", out_dir=tmp_path / f"out{n}")
        sent[n] = len(statements)
        assert report_numbers(report) == orm_report(url, "hw"), n
        assert report.grades_csv.read_bytes() == nbgrader_csv(url, "hw", tmp_path / f"nbgrader{n}.csv"), n
    assert sent[4] == sent[40], sent


# ---------------------------------------------------------------- gradebooks that cannot be used


def test_an_empty_postgresql_database_has_no_gradebook(
    toy_root: Path,
    pg_server: PgServer,
    tmp_path: Path,
) -> None:
    url = pg_server.create_database()
    assert gradebook_exists(url) is False
    course = tmp_path / "root" / "course"
    shutil.copytree(toy_root, tmp_path / "root")
    use_gradebook(course, url)
    with pytest.raises(CourseError, match=r"has no gradebook .*run generate_assignment and autograde first"):
        build_report(course, "toy", out_dir=tmp_path / "out")


def _one_sentence(message: str, url_shown: str) -> None:
    assert "\n" not in message
    assert SECRET not in message
    assert url_shown in message


def unreachable_course(toy_root: Path, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the toy course (with one submission) whose gradebook is a PostgreSQL server that
    does not exist; the course and its gradebook URL as an error message must show it."""
    port = free_port()  # nothing listens there
    shutil.copytree(toy_root, tmp_path / "root")
    course = tmp_path / "root" / "course"
    use_gradebook(course, f"postgresql+psycopg://adcourse:{SECRET}@127.0.0.1:{port}/gradebook")
    submit(course, "key", {"toy.ipynb": b"{}"})
    return course, f"postgresql+psycopg://adcourse:***@127.0.0.1:{port}/gradebook"


def test_report_on_an_unreachable_server_is_one_clear_sentence(
    toy_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course, shown = unreachable_course(toy_root, tmp_path)
    assert main(["--course", str(course), "report", "toy"]) == 1
    out = capsys.readouterr()
    _one_sentence(out.err.strip(), shown)
    assert out.err.startswith(f"adcourse: error: cannot open the gradebook {shown}: ")
    assert "Connection refused" in out.err
    assert "Traceback" not in out.err + out.out


def test_autograde_on_an_unreachable_server_stops_before_grading(toy_root: Path, tmp_path: Path) -> None:
    course, shown = unreachable_course(toy_root, tmp_path)
    with pytest.raises(GradebookError, match="Connection refused") as stopped:
        autograde(course, "toy", jobs=1)
    _one_sentence(str(stopped.value), f"cannot open the gradebook {shown}: ")
    assert not (course / "autograded").exists()


def test_a_wrong_password_or_database_is_named(pg_server: PgServer) -> None:
    with pytest.raises(GradebookError, match="password authentication failed") as bad:
        check_gradebook(pg_server.url("postgres", password=SECRET))
    _one_sentence(str(bad.value), f"postgresql+psycopg://adcourse:***@127.0.0.1:{pg_server.port}/postgres")
    with pytest.raises(GradebookError, match='database "nowhere" does not exist') as missing:
        check_gradebook(pg_server.url("nowhere"))
    assert pg_server.password not in str(missing.value)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"postgresql+psycopg//adcourse:{SECRET}@localhost/db", "is not a database URL"),
        (f"nosuchdb://adcourse:{SECRET}@localhost/db", "SQLAlchemy knows no database 'nosuchdb'"),
        # a PostgreSQL driver that is not installed (psycopg 3 is)
        (
            f"postgresql+pg8000://adcourse:{SECRET}@localhost/db",
            r"driver is not installed .*use postgresql\+psycopg://",
        ),
        ("sqlite:////no/such/folder/gradebook.db", "the folder /no/such/folder does not exist"),
    ],
)
def test_unusable_urls_say_why(url: str, says: str) -> None:
    with pytest.raises(GradebookError, match=says) as bad:
        check_gradebook(url)
    _one_sentence(str(bad.value), "")
    assert str(bad.value).count(":***@") == (SECRET in url)


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db"
    path.write_bytes(b"this is not a SQLite file, it only has the name of one" * 20)
    says = re.escape(f"cannot open the gradebook sqlite:///{path}: file is not a database")
    with pytest.raises(GradebookError, match=says):
        check_gradebook(f"sqlite:///{path}")


def test_mask_password() -> None:
    assert (
        mask_password("postgresql+psycopg://ta:p%40ss@db:5432/gb") == "postgresql+psycopg://ta:***@db:5432/gb"
    )
    assert mask_password("postgresql+psycopg://ta@db/gb") == "postgresql+psycopg://ta@db/gb"
    assert mask_password("sqlite:////srv/gradebook.db") == "sqlite:////srv/gradebook.db"
    # not a URL SQLAlchemy can read, or a password with an unescaped @: masked up to the last @
    assert mask_password("postgresql+psycopg//ta:p@ss@db/gb") == "postgresql+psycopg//ta:***@db/gb"
    assert mask_password("postgresql+psycopg://ta:p@ss@db/gb") == "postgresql+psycopg://ta:***@db/gb"


def test_db_url_reads_the_config(toy_root: Path, tmp_path: Path) -> None:
    shutil.copytree(toy_root, tmp_path / "root")
    course = tmp_path / "root" / "course"
    url = f"postgresql+psycopg://ta:{SECRET}%40x@db.example.org:6432/ad_course"
    use_gradebook(course, url)
    assert db_url(course) == url  # byte for byte: the escaped password is not re-encoded
    # a relative SQLite file lives in the course folder, where nbgrader's commands run
    use_gradebook(course, "sqlite:///grades/gb.db")
    assert db_url(course) == f"sqlite:///{course}/grades/gb.db"
    # no config at all: nbgrader's default
    assert db_url(tmp_path) == f"sqlite:///{tmp_path}/gradebook.db"
