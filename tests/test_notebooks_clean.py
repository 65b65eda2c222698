"""Committed notebooks carry no outputs: the test suite executes them, the repository keeps sources."""

import subprocess

import nbformat
import pytest

from autograder.notebooks import has_outputs, strip_outputs
from autograder.paths import REPO_ROOT


def _committed_notebooks() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    return [p for p in out if not p.startswith("solutions/")]


@pytest.mark.parametrize("path", _committed_notebooks())
def test_committed_notebook_has_no_outputs(path: str) -> None:
    nb = nbformat.read(REPO_ROOT / path, as_version=4)
    assert not has_outputs(nb), (
        f"{path} was committed with outputs; strip them (autograder.notebooks.strip_outputs)"
    )


def test_has_outputs_detects_outputs_and_strip_removes_them() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)]
    cell.execution_count = 1
    nb.cells.append(cell)
    assert has_outputs(nb)
    assert not has_outputs(strip_outputs(nb))
