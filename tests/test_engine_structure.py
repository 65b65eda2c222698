"""Faults in a submitted notebook's structure: the engine grades them exactly as stock nbgrader does.

The toy assignment ``toy`` (``toy.ipynb``) holds, in this order: the solution cell ``double`` (key
``return 2 * x``), ``test-two`` (3 points, ``double(2) == 4``), ``test-more`` (2 points,
``double(3) == 6`` and, hidden, ``double(-1) == -2``), the solution cell ``square`` (key
``return x * x``) and ``test-square`` (4 points, ``square(3) == 9``).

Stock nbgrader 0.9.6 semantics, which the expected points below are worked out from by hand:

* ``OverwriteCells`` puts back the source of every locked cell (the tests) found in the submission,
  by grade id, and keeps the cells where the student put them; solution cells keep the student's code.
* ``add_missing_cells`` is False by default (the course config does not set it): a deleted cell is
  not put back. A deleted test cell is not run; its grade is left with no autograde score, so it
  does not appear among the autograded scores (``cell_scores``) at all.
* Extra cells the student adds stay and run in their place.
* ``OverwriteKernelspec`` replaces the submitted kernelspec by the source's (python3).
* A notebook saved as nbformat v3 is read upgraded to v4.

=============  ==========================================================  ===  ====  ======
student        what they submit                                            two  more  square
=============  ==========================================================  ===  ====  ======
key            the answer key                                              3    2     4
no-test        key, ``test-more`` cell deleted                             3    -     4
no-solution    key, ``square`` cell deleted (square is never defined)      3    2     0
reordered      key, ``test-two`` moved before ``double`` (runs too early)  0    2     4
extra          release, ``square`` left blank, plus a cell after it with   0    0     4
               the key ``square``: the extra cell defines it in time
weakened       ``3 * x`` for double, both its tests replaced by ``pass``   0    0     4
               (restored from the source, so they fail again)
v3             key, saved as nbformat v3                                   3    2     4
kernel         key, kernelspec ``ir`` (R)                                  3    2     4
=============  ==========================================================  ===  ====  ======

Every submission is graded by ``autograde(course, "toy", jobs=2)`` and, in a second copy of the
course, by stock ``nbgrader autograde`` once for the whole batch; per-cell scores must agree with
each other and with the table.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers.toycourse import (
    CHECK,
    KEY,
    TESTS,
    double_cells,
    edited,
    gradebook_points,
    make_course,
    notebook,
    release,
    square_cells,
    submit,
)

from autograder.engine import autograde
from autograder.engine.run import AutogradeRun
from autograder.nbgrader_cli import nbgrader_env

# student -> points per autograded test cell (a deleted test cell has no autograde score at all)
EXPECTED: dict[str, dict[str, float]] = {
    "key": {"test-two": 3, "test-more": 2, "test-square": 4},
    "no-test": {"test-two": 3, "test-square": 4},
    "no-solution": {"test-two": 3, "test-more": 2, "test-square": 0},
    "reordered": {"test-two": 0, "test-more": 2, "test-square": 4},
    "extra": {"test-two": 0, "test-more": 0, "test-square": 4},
    "weakened": {"test-two": 0, "test-more": 0, "test-square": 4},
    "v3": {"test-two": 3, "test-more": 2, "test-square": 4},
    "kernel": {"test-two": 3, "test-more": 2, "test-square": 4},
}


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _index(nb: nbformat.NotebookNode, grade_id: str) -> int:
    return next(i for i, cell in enumerate(nb.cells) if _grade_id(cell) == grade_id)


def _without(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    out = copy.deepcopy(nb)
    del out.cells[_index(out, grade_id)]
    return out


def submissions(released: nbformat.NotebookNode) -> dict[str, bytes | nbformat.NotebookNode]:
    """Every student's ``toy.ipynb`` (see the table in the module docstring)."""
    key = edited(released, KEY)

    reordered = copy.deepcopy(key)
    moved = reordered.cells.pop(_index(reordered, "test-two"))
    reordered.cells.insert(_index(reordered, "double"), moved)

    extra = edited(released, {})
    extra.cells.insert(_index(extra, "square") + 1, nbformat.v4.new_code_cell(KEY["square"]))

    weakened = edited(released, {"double": "def double(x):\n    return 3 * x", "square": KEY["square"],
                                 "test-two": "pass", "test-more": "pass"})  # fmt: skip

    v3 = nbformat.writes(nbformat.convert(copy.deepcopy(key), 3), version=3).encode("utf-8")

    kernel = copy.deepcopy(key)
    kernel.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}

    return {
        "key": key,
        "no-test": _without(key, "test-more"),
        "no-solution": _without(key, "square"),
        "reordered": reordered,
        "extra": extra,
        "weakened": weakened,
        "v3": v3,
        "kernel": kernel,
    }


def _stock_autograde(course: Path) -> str:
    """Stock ``nbgrader autograde toy --force``; its log (it may report the faults as errors)."""
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", "toy", "--force"],
        cwd=course,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, AutogradeRun]:
    """(stock course, engine course, engine run), the same eight submissions in each."""
    source = notebook(
        [*double_cells(TESTS["test-two"], TESTS["test-more"]), *square_cells(TESTS["test-square"])]
    )
    base = make_course(tmp_path_factory.mktemp("structure") / "base", {"toy": source})
    files = submissions(release(base))
    courses = []
    for name in ("stock", "engine"):
        root = tmp_path_factory.mktemp(name) / "c"
        shutil.copytree(base.parent, root)
        course = root / "course"
        for student, nb in files.items():
            submit(course, student, {"toy.ipynb": nb})
        courses.append(course)
    stock, engine = courses
    _stock_autograde(stock)
    run = autograde(engine, "toy", jobs=2)
    return stock, engine, run


def test_the_faulty_submissions_are_what_the_table_says() -> None:
    # The submissions are built from a hand-made release, so this runs without nbgrader.
    released = notebook([*double_cells(3, 2), *square_cells(4)])
    files = submissions(released)
    ids = [_grade_id(c) for c in files["key"].cells]
    assert ids == ["double", "test-two", "test-more", "square", "test-square"]
    assert "test-more" not in [_grade_id(c) for c in files["no-test"].cells]
    assert "square" not in [_grade_id(c) for c in files["no-solution"].cells]
    assert [_grade_id(c) for c in files["reordered"].cells][:2] == ["test-two", "double"]
    assert len(files["extra"].cells) == len(ids) + 1
    weak = {_grade_id(c): c.source for c in files["weakened"].cells}
    assert weak["test-two"] == weak["test-more"] == "pass"
    assert nbformat.reads(files["v3"].decode("utf-8"), as_version=nbformat.NO_CONVERT).nbformat == 3
    assert files["kernel"].metadata["kernelspec"]["name"] == "ir"


def test_stock_nbgrader_gives_the_hand_worked_scores(graded: tuple[Path, Path, AutogradeRun]) -> None:
    stock, _, _ = graded
    assert gradebook_points(stock) == EXPECTED


def test_the_engine_gives_the_same_per_cell_scores_as_stock(graded: tuple[Path, Path, AutogradeRun]) -> None:
    stock, engine, run = graded
    assert run.jobs == 2
    assert gradebook_points(engine) == gradebook_points(stock) == EXPECTED


@pytest.mark.parametrize("student", ["weakened", "reordered", "kernel"])
def test_the_graded_notebook_holds_the_source_tests_and_kernel(
    graded: tuple[Path, Path, AutogradeRun], student: str
) -> None:
    _, engine, _ = graded
    nb = nbformat.read(engine / "autograded" / student / "toy" / "toy.ipynb", as_version=4)
    sources = {_grade_id(c): c.source for c in nb.cells}
    assert sources["test-two"].startswith(f"{CHECK}\ncheck_equal('double(2)', double(2), 4)")
    assert sources["test-more"].startswith(f"{CHECK}\ncheck_equal('double(3)', double(3), 6)")
    assert (
        "check_equal('double(-1)', double(-1), -2)" in sources["test-more"]
    )  # the hidden test is back as well
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_every_structural_fault_is_graded_not_rejected(graded: tuple[Path, Path, AutogradeRun]) -> None:
    _, _, run = graded
    assert sorted(s.student for s in run.statuses) == sorted(EXPECTED)
    assert {s.student: s.status for s in run.ungradable} == {}


def _grade_rows(course: Path) -> dict[tuple[str, str], tuple[float | None, bool, float]]:
    """``{(student, grade id): (auto score, needs manual grade, total score)}`` for every grade row."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {
            (sub.student.id, grade.name): (grade.auto_score, grade.needs_manual_grade, grade.score)
            for sub in gb.assignment_submissions("toy")
            for nb in sub.notebooks
            for grade in nb.grades
        }


def test_every_gradebook_row_matches_stock_including_the_deleted_cells(
    graded: tuple[Path, Path, AutogradeRun],
) -> None:
    stock, engine, _ = graded
    rows = _grade_rows(engine)
    assert rows == _grade_rows(stock)
    # A deleted test cell keeps its row with no autograde score, and it counts 0 in the total.
    auto, _, score = rows[("no-test", "test-more")]
    assert auto is None and score == 0
