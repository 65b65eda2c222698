"""Everything a worker needs to grade submissions of one assignment, in one picklable object.

A worker must not need the course folder (a cluster worker may not have it): the bundle carries
a gradebook snapshot holding only the assignment's definition (its source cells, as
``nbgrader generate_assignment`` records them), the assignment's other source files, and the
limits to grade under.
"""

from __future__ import annotations

import fnmatch
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..check import scratch_course
from ..nbgrader_cli import run_nbgrader
from ..paths import assignment_dir

# Files of a source folder that never travel with the assignment (nbgrader's default ignore list).
_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*")


@dataclass(frozen=True)
class Limits:
    """The limits one submission is graded under.

    Attributes:
        cell_timeout: seconds one cell may run before it is interrupted (nbgrader's timeout).
    """

    cell_timeout: int = 120

    def __post_init__(self) -> None:
        if self.cell_timeout <= 0:
            raise ValueError(f"cell_timeout must be positive, got {self.cell_timeout}")


@dataclass(frozen=True)
class AssignmentBundle:
    """The assignment's definition, as workers need it."""

    assignment: str
    notebooks: tuple[str, ...]
    gradebook: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)


def _source_files(folder: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or path.suffix == ".ipynb":
            continue
        if any(fnmatch.fnmatch(part, pattern) for part in rel.parts for pattern in _IGNORE):
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def build_bundle(course: Path, assignment: str, limits: Limits | None = None) -> AssignmentBundle:
    """Record the assignment's definition in a scratch gradebook and pack it with its files."""
    folder = assignment_dir(course, assignment)
    with tempfile.TemporaryDirectory(prefix=f"adbundle-{assignment}-") as tmp:
        scratch = scratch_course(course, assignment, Path(tmp))
        run_nbgrader(scratch, "generate_assignment", assignment, "--force")
        snapshot = (scratch / "gradebook.db").read_bytes()
    notebooks = tuple(sorted(p.stem for p in folder.glob("*.ipynb")))
    return AssignmentBundle(assignment, notebooks, snapshot, _source_files(folder), limits or Limits())
