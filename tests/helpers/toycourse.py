"""A toy nbgrader course for the grading tests: its notebooks, its folder, submissions and scores.

Every toy notebook is put together from the same few cells; each test module picks the cells and
their points (and works out its students' scores by hand from them):

* ``double``, a solution cell whose key is ``return 2 * x``, with its tests ``test-two``
  (checks ``double(2) == 4`` and, hidden, ``double(0) == 0``) and ``test-more`` (``double(3) == 6``
  and, hidden, ``double(-1) == -2``);
* ``square``, a solution cell whose key is ``return x * x``, with its test ``test-square``
  (checks ``square(3) == 9`` and, hidden, ``square(-1) == 1``);
* ``explain``, a written answer in markdown, graded by hand.

``TRIPLE``, ``SQUARE_DOUBLES`` and ``HARMLESS`` are typical mistakes in these cells, as entries of
a mutant corpus for ``adcourse check``.

A course root holds ``course/`` (the repository's ``nbgrader_config.py`` and ``header.ipynb``)
and ``assignments/NAME/NAME.ipynb`` for every assignment, as ``adcourse`` expects.

**The toy class** (:func:`released_toy`, the fixture ``toy`` of ``conftest.py``) is shared by the
engine, cluster, PostgreSQL and watch tests. Its assignment ``toy`` (one notebook, ``toy.ipynb``)
has two solution cells and three autograded tests, plus a written answer graded by hand:

* ``double``: ``def double(x): return 2 * x``;
* ``test-two`` (3 points): ``double(2) == 4`` and, hidden, ``double(0) == 0``;
* ``test-more`` (2 points): ``double(3) == 6`` and, hidden, ``double(-1) == -2``;
* ``square``: ``def square(x): return x * x``;
* ``test-square`` (4 points): ``square(3) == 9`` and, hidden, ``square(-1) == 1``;
* ``explain`` (5 points, markdown, graded by hand: never part of the autograded scores here).

The submissions and their autograded points, worked out by hand from the tests above:

=========  ==============================================  ===  ====  ======  =====  ====================
student    what they submit                                two  more  square  total  status
=========  ==============================================  ===  ====  ======  =====  ====================
key        the answer key                                  3    2     4       9      graded
blank      the untouched release                           0    0     0       0      graded
wrong      ``3 * x`` (both double tests fail), key square  0    0     4       4      graded
partial    ``x * x`` (right at 2 only), square left blank  3    0     0       3      graded
loop       key, ``while True: pass`` atop ``square``        3    2     0       5      timeout
died       key, ``os._exit(1)`` atop ``square``             3    2     0       5      kernel died
corrupt    ``{"cells": [ not json`` as toy.ipynb            0    0     0       0      unreadable notebook
latin      bytes that are not UTF-8 as toy.ipynb           0    0     0       0      unreadable notebook
missing    a folder with notes.txt and no toy.ipynb         0    0     0       0      missing notebook
=========  ==============================================  ===  ====  ======  =====  ====================

``loop`` and ``died`` stop inside ``square``: the tests before it ran and keep their points, and
``test-square`` did not pass (``square`` was never defined, or never ran to the end).

No name here starts with ``test``, so pytest does not collect an imported helper as a test.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.nbgrader_cli import run_nbgrader
from autograder.paths import REPO_ROOT
from autograder.scores import cell_scores

# Test cells check with adlib's helpers: the grader decides them from what the checks observe.
CHECK = "from adlib.grading import check_equal"


def hidden(call: str, value: int) -> str:
    """A hidden test checking ``call`` (e.g. ``double(0)``) against ``value``."""
    return f"\n### BEGIN HIDDEN TESTS\ncheck_equal({call!r}, {call}, {value})\n### END HIDDEN TESTS"


# What a course folder needs from the repository's own course.
COURSE_FILES = ("nbgrader_config.py", "header.ipynb")


# ---------------------------------------------------------------- cells and notebooks


def nbgrader_cell(source: str, cell_type: str = "code", **nbgrader: object) -> nbformat.NotebookNode:
    """A code (or markdown) cell with nbgrader metadata ``NBGRADER`` (unlocked unless it says so)."""
    if cell_type == "code":
        cell = nbformat.v4.new_code_cell(source)
    else:
        cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, **nbgrader}
    return cell


def solution_cell(grade_id: str, header: str, body: str) -> nbformat.NotebookNode:
    """``HEADER`` and an indented ``BODY`` between the solution markers (nbgrader's release removes it)."""
    source = f"{header}\n    ### BEGIN SOLUTION\n    {body}\n    ### END SOLUTION"
    return nbgrader_cell(source, grade=False, solution=True, grade_id=grade_id)


def autograded_cell(grade_id: str, source: str, points: float) -> nbformat.NotebookNode:
    """A locked test cell worth ``points``: full points if it runs without an error, else 0."""
    return nbgrader_cell(source, grade=True, solution=False, locked=True, grade_id=grade_id, points=points)


def double_cells(two: float, more: float, body: str = "2 * x") -> list[nbformat.NotebookNode]:
    """``double`` (key ``return BODY``), ``test-two`` (``two`` points), ``test-more`` (``more`` points)."""
    return [
        solution_cell("double", "def double(x):", f"return {body}"),
        autograded_cell(
            "test-two", f"{CHECK}\ncheck_equal('double(2)', double(2), 4){hidden('double(0)', 0)}", two
        ),
        autograded_cell(
            "test-more",
            f"{CHECK}\ncheck_equal('double(3)', double(3), 6){hidden('double(-1)', -2)}",
            more,
        ),
    ]


def square_cells(points: float) -> list[nbformat.NotebookNode]:
    """``square`` (key ``return x * x``) and ``test-square`` (``points`` points)."""
    return [
        solution_cell("square", "def square(x):", "return x * x"),
        autograded_cell(
            "test-square", f"{CHECK}\ncheck_equal('square(3)', square(3), 9){hidden('square(-1)', 1)}", points
        ),
    ]


def written_cell(points: float) -> nbformat.NotebookNode:
    """The written answer ``explain`` (markdown, graded by hand, ``points`` points)."""
    return nbgrader_cell(
        "Why is the derivative of `double` 2?\n\n### BEGIN SOLUTION\nd(2x)/dx = 2.\n### END SOLUTION",
        "markdown",
        grade=True,
        solution=True,
        grade_id="explain",
        points=points,
    )


def notebook(cells: Iterable[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """A Python 3 notebook holding ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = list(cells)
    return nb


# ---------------------------------------------------------------- typical mistakes

# Entries of a mutant corpus (the format of tests/mutants/NAME.toml) for the toy notebook ``toy.ipynb``.
TRIPLE = """
[[mutant]]
name = "triple"
description = "multiplies by three"
notebook = "toy.ipynb"
cell = "double"
find = "2 * x"
replace = "3 * x"
loses = ["test-two", "test-more"]
violates = ["double"]
"""
SQUARE_DOUBLES = """
[[mutant]]
name = "square-doubles"
description = "squares by adding"
notebook = "toy.ipynb"
cell = "square"
find = "x * x"
replace = "x + x"
loses = ["test-square"]
violates = ["square"]
"""
# x + x equals 2 * x everywhere, so no test can catch it: a corpus claiming otherwise is wrong.
HARMLESS = """
[[mutant]]
name = "harmless"
description = "a rewrite the tests rightly accept, claimed to be caught"
notebook = "toy.ipynb"
cell = "double"
find = "2 * x"
replace = "x + x"
loses = ["test-two"]
violates = ["double"]
"""

# The requirements table of the toy notebook (the format of assignments/NAME/requirements.toml).
REQUIREMENTS = """
[[requirement]]
id = "double"
text = "double(x) returns 2 x"
tests = ["test-two", "test-more"]

[[requirement]]
id = "square"
text = "square(x) returns x squared"
tests = ["test-square"]
"""


# ---------------------------------------------------------------- the course folder


def make_course(root: Path, notebooks: Mapping[str, nbformat.NotebookNode]) -> Path:
    """A course under ``root`` with one assignment per entry of ``notebooks``; returns ``root/course``."""
    course = root / "course"
    course.mkdir(parents=True)
    for item in COURSE_FILES:
        shutil.copy2(REPO_ROOT / "course" / item, course)
    for name, nb in notebooks.items():
        folder = root / "assignments" / name
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{name}.ipynb")
    return course


def read_release(course: Path, name: str = "toy") -> nbformat.NotebookNode:
    """The student version of assignment ``name`` (its notebook ``name.ipynb``), once released."""
    return nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)


def release(course: Path, name: str = "toy") -> nbformat.NotebookNode:
    """Release assignment ``name`` with stock ``nbgrader generate_assignment``; its student version."""
    run_nbgrader(course, "generate_assignment", name)
    return read_release(course, name)


# ---------------------------------------------------------------- submissions


def edited(released: nbformat.NotebookNode, edits: Mapping[str, str]) -> nbformat.NotebookNode:
    """A copy of ``released`` whose cells with a grade id in ``edits`` hold the source given there."""
    nb = nbformat.from_dict(released)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in edits:
            cell.source = edits[grade_id]
    return nb


def submit(
    course: Path,
    student: str,
    files: Mapping[str, bytes | nbformat.NotebookNode],
    assignment: str = "toy",
) -> Path:
    """Put ``files`` (raw bytes, or notebooks to write) in ``submitted/STUDENT/ASSIGNMENT``; that folder."""
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            nbformat.write(content, folder / name)
    return folder


# ---------------------------------------------------------------- scores


def gradebook_points(course: Path, assignment: str = "toy") -> dict[str, dict[str, float]]:
    """``{student: {test cell: points}}`` from the course gradebook."""
    return {
        student: {s.cell: s.score for s in cells.values()}
        for student, cells in cell_scores(course / "gradebook.db", assignment).items()
    }


def read_grades_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a grades CSV (nbgrader's export format), one dict per row."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def csv_totals(rows: Iterable[Mapping[str, str]]) -> dict[str, float]:
    """``{student: total score}`` from rows of a grades CSV."""
    return {r["student_id"]: float(r["score"]) for r in rows}


# ---------------------------------------------------------------- the toy class

TESTS = {"test-two": 3.0, "test-more": 2.0, "test-square": 4.0}
MAX = sum(TESTS.values())  # autograded points only
WRITTEN = 5.0  # the written answer ``explain``, graded by hand
KEY = {"double": "def double(x):\n    return 2 * x", "square": "def square(x):\n    return x * x"}

# student -> (points per test cell, status), from the table in the module docstring
EXPECTED: dict[str, tuple[dict[str, float], str]] = {
    "key": ({"test-two": 3, "test-more": 2, "test-square": 4}, "graded"),
    "blank": ({"test-two": 0, "test-more": 0, "test-square": 0}, "graded"),
    "wrong": ({"test-two": 0, "test-more": 0, "test-square": 4}, "graded"),
    "partial": ({"test-two": 3, "test-more": 0, "test-square": 0}, "graded"),
    "loop": ({"test-two": 3, "test-more": 2, "test-square": 0}, "timeout"),
    "died": ({"test-two": 3, "test-more": 2, "test-square": 0}, "kernel died"),
    "corrupt": ({"test-two": 0, "test-more": 0, "test-square": 0}, "unreadable notebook"),
    "latin": ({"test-two": 0, "test-more": 0, "test-square": 0}, "unreadable notebook"),
    "missing": ({"test-two": 0, "test-more": 0, "test-square": 0}, "missing notebook"),
}
GOOD = ("key", "blank", "wrong", "partial")
FAULTY = ("loop", "died", "corrupt", "latin", "missing")


def source_notebook(written: bool = True) -> nbformat.NotebookNode:
    """The instructor's ``toy.ipynb`` (see the module docstring); without ``explain`` if not ``written``."""
    return notebook(
        [
            *double_cells(TESTS["test-two"], TESTS["test-more"]),
            *square_cells(TESTS["test-square"]),
            *([written_cell(WRITTEN)] if written else []),
        ]
    )


def submission_files(released: nbformat.NotebookNode) -> dict[str, dict[str, bytes | nbformat.NotebookNode]]:
    """Every student's submitted files, ``{student: {name: content}}``, as in the module docstring."""
    return {
        "key": {"toy.ipynb": edited(released, KEY)},
        "blank": {"toy.ipynb": edited(released, {})},
        "wrong": {"toy.ipynb": edited(released, {**KEY, "double": "def double(x):\n    return 3 * x"})},
        "partial": {"toy.ipynb": edited(released, {"double": "def double(x):\n    return x * x"})},
        "loop": {
            "toy.ipynb": edited(released, {**KEY, "square": "while True:\n    pass\n\n" + KEY["square"]})
        },
        "died": {
            "toy.ipynb": edited(released, {**KEY, "square": "import os\n\nos._exit(1)\n\n" + KEY["square"]})
        },
        "corrupt": {"toy.ipynb": b'{"cells": [ not json'},
        "latin": {"toy.ipynb": '{"cells": [], "métadonnées": 1}'.encode("latin-1") + b"\xff\xfe\x80"},
        "missing": {"notes.txt": b"I forgot the notebook.\n"},
    }


@dataclass(frozen=True)
class Toy:
    """A released toy course (its root holds course/ and assignments/), its release and the submissions."""

    root: Path
    released: nbformat.NotebookNode
    files: dict[str, dict[str, bytes | nbformat.NotebookNode]]

    def copy(self, dest: Path, students: tuple[str, ...] = ()) -> Path:
        """A copy of the course with ``students``' submissions; returns its course folder."""
        shutil.copytree(self.root, dest)
        course = dest / "course"
        for student in students:
            submit(course, student, self.files[student])
        return course

    def notebook(self, edits: Mapping[str, str]) -> nbformat.NotebookNode:
        """The released notebook with ``edits`` (grade id -> source)."""
        return edited(self.released, edits)


def released_toy(root: Path, written: bool = True) -> Toy:
    """A toy course made and released under ``root``, with every student's files.

    ``written=False`` releases the assignment without its written answer ``explain``.
    """
    course = make_course(root, {"toy": source_notebook(written)})
    released = release(course)
    return Toy(course.parent, released, submission_files(released))


def expected_points(students: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """``{student: {test cell: points}}`` for ``students``, from the table above."""
    return {s: dict(EXPECTED[s][0]) for s in students}
