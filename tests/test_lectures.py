"""Every lecture runs top to bottom in a fresh kernel, offline, on a CPU, and is shaped like a lecture."""

import re

import nbformat
import pytest

from autograder.notebooks import execute, lecture_paths

LECTURES = lecture_paths()
# Each lecture must run well inside a minute on a 2-core machine; a cell that hangs fails the run.
CELL_TIMEOUT = 120


def test_there_are_six_lectures() -> None:
    assert len(LECTURES) == 6, [p.name for p in LECTURES]


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_runs_top_to_bottom(path, tmp_path) -> None:
    executed = execute(path, cell_timeout=CELL_TIMEOUT, cwd=tmp_path)
    errors = [
        o
        for c in executed.notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    print(f"{path.name}: {executed.seconds:.1f} s")


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_ends_with_exercises_and_names_its_assignment(path) -> None:
    nb = nbformat.read(path, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    tail = "\n".join(markdown[-3:])
    assert re.search(r"^#+ .*Exercises", tail, re.M), f"{path.name} should end with an Exercises section"
    assert re.search(r"assignments/\w+", tail), f"{path.name} should name its assignment (assignments/NAME)"
