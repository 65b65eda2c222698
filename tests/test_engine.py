"""The parallel grading engine grades exactly like stock ``nbgrader autograde``, and survives faults.

The toy class (the assignment, the submissions and their hand-worked points) is in
:mod:`helpers.toycourse`.

Four course copies, each graded once (nbgrader runs take seconds, so they are shared):
``stock`` (the good four, by ``nbgrader autograde``), ``engine`` (the same four, by the engine
with 2 workers, then graded again with 1 worker) and ``faults`` (all nine, 2 workers, a 3 s cell
limit).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from helpers.toycourse import EXPECTED, FAULTY, GOOD, MAX, TESTS, Toy, expected_points, gradebook_points

from autograder.engine import Limits, autograde
from autograder.engine.run import AutogradeRun
from autograder.engine.status import status_dir
from autograder.nbgrader_cli import run_nbgrader
from autograder.paths import CourseError
from autograder.report import build_report
from autograder.scores import CellScore, cell_scores


def _row_counts(course: Path) -> dict[str, int]:
    tables = ("student", "submitted_assignment", "submitted_notebook", "grade", "comment")
    with sqlite3.connect(course / "gradebook.db") as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


# ---------------------------------------------------------------- the gradings, shared


@pytest.fixture(scope="module")
def stock(toy: Toy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The good four, graded by stock nbgrader."""
    course = toy.copy(tmp_path_factory.mktemp("stock") / "c", GOOD)
    run_nbgrader(course, "autograde", "toy", "--force")
    return course


@dataclass
class Regraded:
    course: Path
    first: AutogradeRun
    first_cells: dict[str, dict[str, CellScore]]
    first_rows: dict[str, int]
    second: AutogradeRun


@pytest.fixture(scope="module")
def engine(toy: Toy, tmp_path_factory: pytest.TempPathFactory) -> Regraded:
    """The good four, graded by the engine with 2 workers, then again with 1 worker."""
    course = toy.copy(tmp_path_factory.mktemp("engine") / "c", GOOD)
    first = autograde(course, "toy", jobs=2)
    cells, rows = cell_scores(course / "gradebook.db", "toy"), _row_counts(course)
    # the second run must rewrite everything it is responsible for
    shutil.rmtree(course / "autograded")
    shutil.rmtree(status_dir(course, "toy"))
    second = autograde(course, "toy", jobs=1)
    return Regraded(course, first, cells, rows, second)


@pytest.fixture(scope="module")
def faults(toy: Toy, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AutogradeRun]:
    """All nine, graded by the engine with 2 workers and a 3 s cell limit."""
    course = toy.copy(tmp_path_factory.mktemp("faults") / "c", GOOD + FAULTY)
    run = autograde(course, "toy", jobs=2, limits=Limits(cell_timeout=3))
    return course, run


# ---------------------------------------------------------------- equivalence with nbgrader


def test_stock_nbgrader_gives_the_hand_worked_scores(stock: Path) -> None:
    assert gradebook_points(stock) == expected_points(GOOD)


def test_engine_grades_exactly_like_stock_nbgrader(stock: Path, engine: Regraded) -> None:
    """Per cell: the same notebook, cell, points and maximum in both gradebooks."""
    assert engine.first_cells == cell_scores(stock / "gradebook.db", "toy")
    assert {s: {c.cell: c.score for c in cells.values()} for s, cells in engine.first_cells.items()} == (
        expected_points(GOOD)
    )
    assert engine.first.jobs == 2


def test_engine_totals_match_stock_nbgrader_totals(stock: Path, engine: Regraded) -> None:
    """The submission totals (autograded points; the written answer is ungraded in both) agree."""
    from nbgrader.api import Gradebook

    def totals(course: Path) -> dict[str, tuple[float, float, bool]]:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            return {
                s.student.id: (s.score, s.max_score, s.needs_manual_grade)
                for s in gb.assignment_submissions("toy")
            }

    assert totals(engine.course) == totals(stock)
    assert {s: t[0] for s, t in totals(stock).items()} == {s: sum(EXPECTED[s][0].values()) for s in GOOD}


def test_statuses_carry_the_scores(engine: Regraded) -> None:
    got = {s.student: (s.status, s.score, s.max_score) for s in engine.first.statuses}
    assert got == {s: ("graded", sum(EXPECTED[s][0].values()), MAX) for s in GOOD}
    assert engine.first.ungradable == []
    assert [s.student for s in engine.first.statuses] == sorted(GOOD)


def test_one_worker_grades_like_two(engine: Regraded) -> None:
    assert engine.second.jobs == 1
    assert engine.second.statuses == engine.first.statuses
    assert cell_scores(engine.course / "gradebook.db", "toy") == engine.first_cells


def test_grading_again_leaves_the_same_gradebook(engine: Regraded) -> None:
    assert cell_scores(engine.course / "gradebook.db", "toy") == engine.first_cells
    assert _row_counts(engine.course) == engine.first_rows
    assert engine.first_rows["submitted_assignment"] == len(GOOD)
    assert engine.first_rows["grade"] == len(GOOD) * (len(TESTS) + 1)  # three tests and the written answer
    for student in GOOD:
        assert (engine.course / "autograded" / student / "toy" / "toy.ipynb").is_file()
        assert (status_dir(engine.course, "toy") / f"{student}.json").is_file()


def test_autograded_notebook_records_the_outputs(engine: Regraded) -> None:
    nb = nbformat.read(engine.course / "autograded" / "wrong" / "toy" / "toy.ipynb", as_version=4)
    errors = {
        c.metadata["nbgrader"]["grade_id"]: [o.ename for o in c.outputs if o.output_type == "error"]
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }
    assert errors == {"test-two": ["AssertionError"], "test-more": ["AssertionError"], "test-square": []}


# ---------------------------------------------------------------- faults


def test_faulty_submissions_get_their_status_and_points(faults: tuple[Path, AutogradeRun]) -> None:
    course, run = faults
    assert gradebook_points(course) == expected_points(GOOD + FAULTY)
    got = {s.student: (s.status, s.score) for s in run.statuses}
    assert got == {s: (status, sum(points.values())) for s, (points, status) in EXPECTED.items()}
    assert sorted(s.student for s in run.ungradable) == sorted(FAULTY)


def test_faulty_submissions_leave_the_others_unchanged(
    faults: tuple[Path, AutogradeRun], engine: Regraded
) -> None:
    course, run = faults
    together = cell_scores(course / "gradebook.db", "toy")
    assert {s: together[s] for s in GOOD} == engine.first_cells
    assert [s for s in run.statuses if s.student in GOOD] == engine.first.statuses


def test_reasons_name_the_fault(faults: tuple[Path, AutogradeRun]) -> None:
    details = {s.student: s.detail for s in faults[1].statuses}
    assert "square" in details["loop"] and "time limit" in details["loop"]
    assert "kernel died" in details["died"]
    assert "not a readable notebook" in details["corrupt"] and "JSON" in details["corrupt"]
    assert "not a readable notebook" in details["latin"] and "UnicodeDecodeError" in details["latin"]
    assert details["missing"] == "toy: no toy.ipynb was submitted"
    for student in GOOD:
        assert details[student] == ""


def test_status_files_say_the_same(faults: tuple[Path, AutogradeRun]) -> None:
    course, run = faults
    folder = status_dir(course, "toy")
    assert folder == course / ".adcourse" / "status" / "toy"
    assert sorted(p.stem for p in folder.glob("*.json")) == sorted(EXPECTED)
    for status in run.statuses:
        record = json.loads((folder / f"{status.student}.json").read_text(encoding="utf-8"))
        points, expected_status = EXPECTED[status.student]
        assert record["status"] == expected_status
        assert record["score"] == sum(points.values())
        assert record["max_score"] == MAX
        assert record["detail"] == status.detail


def test_timeout_and_dead_kernel_notebooks_show_what_ran(faults: tuple[Path, AutogradeRun]) -> None:
    course, _ = faults
    for student, marker in (("loop", "CellTimeoutError"), ("died", "NotRun")):
        nb = nbformat.read(course / "autograded" / student / "toy" / "toy.ipynb", as_version=4)
        by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
        assert not [o for o in by_id["test-two"].outputs if o.output_type == "error"], student
        # the kernel's own errors in answer cells stay; a test cell's verdict quotes what stopped it
        errors = [
            f"{o.ename}: {o.evalue}"
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
            if o.output_type == "error"
        ]
        assert any(marker in text for text in errors), (student, errors)
    for student in ("corrupt", "latin", "missing"):
        assert not (course / "autograded" / student / "toy" / "toy.ipynb").exists()
    assert (
        course / "autograded" / "missing" / "toy" / "notes.txt"
    ).read_bytes() == b"I forgot the notebook.\n"


def test_report_lists_the_ungradable_with_reasons(faults: tuple[Path, AutogradeRun], tmp_path: Path) -> None:
    course, _ = faults
    report = build_report(course, "toy", out_dir=tmp_path / "report")
    found = {u.student: u.status for u in report.ungradable}
    assert found == {s: EXPECTED[s][1] for s in FAULTY}
    page = report.markdown.read_text(encoding="utf-8")
    section = page[page.index("## Submissions that could not be graded") :]
    for student in FAULTY:
        assert f"| {student} | {EXPECTED[student][1]} |" in section
    assert "no toy.ipynb was submitted" in section


def test_no_submissions_is_a_clear_error(toy: Toy, tmp_path: Path) -> None:
    course = toy.copy(tmp_path / "c", ())
    with pytest.raises(CourseError, match=r"no submissions of toy in .*submitted"):
        autograde(course, "toy", jobs=1)
    with pytest.raises(CourseError, match="no submission of toy from nobody"):
        autograde(course, "toy", jobs=1, students=["nobody"])


def test_limits_refuse_a_non_positive_timeout() -> None:
    with pytest.raises(ValueError, match="cell_timeout must be positive, got 0"):
        Limits(cell_timeout=0)
