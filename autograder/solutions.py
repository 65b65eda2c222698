"""Answer keys: ``solutions/NAME/*.ipynb`` are produced from ``assignments/`` by stock
``nbgrader generate_solution`` and never edited by hand.

``python -m autograder.solutions`` regenerates them all; :func:`stale_solutions` says which
committed keys no longer match their source.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from pathlib import Path

import nbformat

from .check import scratch_course
from .nbgrader_cli import run_nbgrader
from .paths import REPO_ROOT, assignment_names, course_root

SOLUTIONS = REPO_ROOT / "solutions"


def generate_solution(name: str, course: Path | None = None) -> dict[str, nbformat.NotebookNode]:
    """The answer-key notebooks of assignment ``name``, as nbgrader generates them."""
    course = course_root(course)
    with tempfile.TemporaryDirectory(prefix=f"adsolution-{name}-") as tmp:
        scratch = scratch_course(course, name, Path(tmp))
        # nbgrader only generates a solution for an assignment its gradebook knows.
        run_nbgrader(scratch, "generate_assignment", name, "--force")
        run_nbgrader(scratch, "generate_solution", name, "--force")
        folder = scratch / "solution" / name
        return {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}


def _canonical(nb: nbformat.NotebookNode) -> str:
    """The notebook as text, without the run timestamps nbgrader rewrites on every generation."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nbformat.writes(nb)


def write_solutions(names: list[str] | None = None, course: Path | None = None) -> list[Path]:
    """Regenerate ``solutions/NAME/`` for the given assignments (all by default)."""
    course = course_root(course)
    written = []
    for name in names or assignment_names(course):
        target = SOLUTIONS / name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for filename, nb in generate_solution(name, course).items():
            nbformat.write(nb, target / filename)
            written.append(target / filename)
    return written


def stale_solutions(course: Path | None = None) -> list[str]:
    """Assignments whose committed answer key differs from what generate_solution makes now."""
    course = course_root(course)
    stale = []
    for name in assignment_names(course):
        fresh = generate_solution(name, course)
        folder = SOLUTIONS / name
        committed = {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}
        if committed.keys() != fresh.keys() or any(
            _canonical(committed[k]) != _canonical(fresh[k]) for k in fresh
        ):
            stale.append(name)
    return stale


if __name__ == "__main__":
    for path in write_solutions():
        print(path.relative_to(REPO_ROOT))
