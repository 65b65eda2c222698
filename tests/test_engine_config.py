"""The engine grades under the course's nbgrader configuration, as stock ``nbgrader autograde`` does.

Toy notebook: ``double`` (key ``return 2 * x``) and one test cell worth 3 points that passes but
also prints ``noise: harmless`` to stderr. nbgrader scores a test cell that writes to stderr 0,
unless ``c.IgnorePattern.pattern`` matches the text and removes it first. So, by hand:

==========================================  ========================
course config                               points of ``test-noisy``
==========================================  ========================
nbgrader's defaults                         0 (stderr output)
``IgnorePattern.pattern = "noise"``          0 (the step is disabled)
the same and ``IgnorePattern.enabled``      3
==========================================  ========================

Both stock nbgrader and the engine (in its worker processes, far from the course folder) must
give those points.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.toycourse import (
    autograded_cell,
    edited,
    gradebook_points,
    make_course,
    notebook,
    release,
    solution_cell,
    submit,
)

from autograder.engine import autograde
from autograder.nbgrader_cli import run_nbgrader

NOISY_TEST = "import sys\nassert double(2) == 4\nprint('noise: harmless', file=sys.stderr)"
KEY = {"double": "def double(x):\n    return 2 * x"}


def _course(root: Path, config: str) -> Path:
    nb = notebook(
        [
            solution_cell("double", "def double(x):", "return 2 * x"),
            autograded_cell("test-noisy", NOISY_TEST, 3),
        ]
    )
    course = make_course(root, {"toy": nb})
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\n" + config)
    released = release(course)
    submit(course, "key", {"toy.ipynb": edited(released, KEY)})
    return course


PATTERN = 'c.IgnorePattern.pattern = "noise"\n'
ENABLED = "c.IgnorePattern.enabled = True\n"


@pytest.mark.parametrize(("config", "points"), [("", 0.0), (PATTERN, 0.0), (PATTERN + ENABLED, 3.0)])
def test_engine_and_stock_apply_the_course_config(tmp_path: Path, config: str, points: float) -> None:
    stock = _course(tmp_path / "stock", config)
    run_nbgrader(stock, "autograde", "toy", "--force")
    engine = _course(tmp_path / "engine", config)
    autograde(engine, "toy", jobs=1)
    expected = {"key": {"test-noisy": points}}
    assert gradebook_points(stock) == expected
    assert gradebook_points(engine) == expected
