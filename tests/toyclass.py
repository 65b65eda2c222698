"""The toy class shared by the engine, cluster, PostgreSQL and watch tests.

The toy assignment ``toy`` (one notebook, ``toy.ipynb``) has two solution cells and three
autograded tests, plus a written answer graded by hand:

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
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from toycourse import double_cells, edited, make_course, notebook, release, square_cells, submit, written_cell

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


def source_notebook() -> nbformat.NotebookNode:
    """The instructor's version of ``toy.ipynb`` (see the module docstring)."""
    return notebook(
        [
            *double_cells(TESTS["test-two"], TESTS["test-more"]),
            *square_cells(TESTS["test-square"]),
            written_cell(WRITTEN),
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
    """A released toy course (its root holds course/ and assignments/) and the submissions."""

    root: Path
    files: dict[str, dict[str, bytes | nbformat.NotebookNode]]

    def copy(self, dest: Path, students: tuple[str, ...]) -> Path:
        """A copy of the course with ``students``' submissions; returns its course folder."""
        shutil.copytree(self.root, dest)
        course = dest / "course"
        for student in students:
            submit(course, student, self.files[student])
        return course


def released_toy(root: Path) -> Toy:
    """A toy course made and released under ``root``, with every student's files."""
    course = make_course(root, {"toy": source_notebook()})
    return Toy(course.parent, submission_files(release(course)))


def expected_points(students: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """``{student: {test cell: points}}`` for ``students``, from the table above."""
    return {s: dict(EXPECTED[s][0]) for s in students}
