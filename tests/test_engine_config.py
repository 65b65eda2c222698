"""The engine grades under the course's nbgrader configuration, as stock ``nbgrader autograde`` does.

Toy notebook: ``double`` (key ``return 2 * x``) and one test cell worth 3 points that passes but
also prints ``noise: harmless`` to stderr. Stock nbgrader scores a test cell that writes to stderr
0, unless ``c.IgnorePattern.pattern`` matches the text and removes it first. The engine decides a
test from its checks alone: a right answer whose test also prints a warning keeps its points. This
is the one place where the engine deliberately differs from stock nbgrader (stock nbgrader is wrong
there: a numpy RuntimeWarning in a correct answer costs the whole test). So, by hand:

==========================================  ======================  ======================
course config                               stock ``test-noisy``    engine ``test-noisy``
==========================================  ======================  ======================
nbgrader's defaults                         0 (stderr output)       3
``IgnorePattern.pattern = "noise"``          0 (the step is off)     3
the same and ``IgnorePattern.enabled``      3                       3
==========================================  ======================  ======================

The engine applies the course's config in its worker processes, far from the course folder: with
``IgnorePattern`` on, the graded notebook no longer holds the noise.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
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

NOISY_TEST = (
    "import sys\nfrom adlib.grading import check_equal\ncheck_equal('double(2)', double(2), 4)\n"
    "print('noise: harmless', file=sys.stderr)\n### BEGIN HIDDEN TESTS\n"
    "check_equal('double(5)', double(5), 10)\n### END HIDDEN TESTS"
)
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


@pytest.mark.parametrize(
    ("config", "stock_points", "noise_kept"),
    [("", 0.0, True), (PATTERN, 0.0, True), (PATTERN + ENABLED, 3.0, False)],
)
def test_engine_and_stock_apply_the_course_config(
    tmp_path: Path, config: str, stock_points: float, noise_kept: bool
) -> None:
    stock = _course(tmp_path / "stock", config)
    run_nbgrader(stock, "autograde", "toy", "--force")
    engine = _course(tmp_path / "engine", config)
    autograde(engine, "toy", jobs=1)
    assert gradebook_points(stock) == {"key": {"test-noisy": stock_points}}
    assert gradebook_points(engine) == {"key": {"test-noisy": 3.0}}
    graded = nbformat.read(engine / "autograded" / "key" / "toy" / "toy.ipynb", as_version=4)
    (test,) = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test-noisy"]
    # (the cell's source holds the words either way; the engine shows a test's stderr as "[stderr] ...")
    printed = "".join(o.get("text", "") for o in test.outputs if o.get("output_type") == "stream")
    assert ("noise: harmless" in printed) == noise_kept
