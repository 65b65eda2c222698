"""Proof that an assignment's tests are right.

For one assignment, in a scratch copy of the course:

1. the release builds, and holds neither solutions nor hidden tests;
2. the answer key, submitted as a student, earns full marks on every autograded test;
3. the untouched release earns 0;
4. every typical mistake in the corpus (``tests/mutants/<assignment>.toml``) loses points on the
   test cell that targets it. The share of mistakes caught is the *mutation score*.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .mutants import Mutant, apply_mutant, load_mutants
from .nbgrader_cli import run_nbgrader
from .paths import assignment_dir, course_root, mutants_file
from .scores import CellScore, cell_scores

KEY, BLANK = "answer-key", "blank-release"
_SECRET_MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")


@dataclass
class MutantResult:
    """How the tests graded one typical mistake."""

    mutant: Mutant
    total: float
    lost: dict[str, float]  # notebook/cell -> points lost against the key

    @property
    def caught(self) -> bool:
        """True when every targeted test cell lost points."""
        return all(any(key.endswith("/" + cell) for key in self.lost) for cell in self.mutant.loses)


@dataclass
class AssignmentCheck:
    """Everything the check found for one assignment."""

    name: str
    max_score: float = 0.0
    test_cells: int = 0
    key_score: float = 0.0
    blank_score: float = 0.0
    key_shortfalls: dict[str, CellScore] = field(default_factory=dict)
    blank_scores: dict[str, CellScore] = field(default_factory=dict)
    release_problems: list[str] = field(default_factory=list)
    mutants: list[MutantResult] = field(default_factory=list)

    @property
    def mutation_score(self) -> float:
        """The share of typical mistakes that lose points where they should."""
        return sum(m.caught for m in self.mutants) / len(self.mutants) if self.mutants else 0.0

    @property
    def ok(self) -> bool:
        """All four properties hold."""
        return (
            not self.release_problems
            and not self.key_shortfalls
            and self.blank_score == 0
            and self.mutants != []
            and all(m.caught for m in self.mutants)
        )

    def summary(self) -> str:
        """A short report for people."""
        lines = [
            f"{self.name}: {self.test_cells} autograded tests, {self.max_score:g} points",
            f"  release builds: {'yes' if not self.release_problems else '; '.join(self.release_problems)}",
            f"  answer key: {self.key_score:g}/{self.max_score:g}",
            f"  blank release: {self.blank_score:g}/{self.max_score:g}",
            f"  mutation score: {sum(m.caught for m in self.mutants)}/{len(self.mutants)} "
            f"typical mistakes caught ({self.mutation_score:.0%})",
        ]
        for cell, s in self.key_shortfalls.items():
            lines.append(f"    key loses points on {cell}: {s.score:g}/{s.max_score:g}")
        for cell, s in self.blank_scores.items():
            if s.score:
                lines.append(f"    blank earns points on {cell}: {s.score:g}/{s.max_score:g}")
        for m in self.mutants:
            mark = "caught" if m.caught else "MISSED"
            where = ", ".join(f"{c} -{p:g}" for c, p in m.lost.items()) or "no points lost"
            lines.append(f"    [{mark}] {m.mutant.name}: {m.mutant.description} ({where})")
        return "\n".join(lines)


def scratch_course(course: Path, name: str, workdir: Path) -> Path:
    """Copy the course config, the header and one source assignment into ``workdir``."""
    dest = workdir / "course"
    dest.mkdir(parents=True)
    for item in ("nbgrader_config.py", "header.ipynb"):
        shutil.copy2(course / item, dest / item)
    shutil.copytree(assignment_dir(course, name), workdir / "assignments" / name)
    return dest


def _submit(course: Path, student: str, name: str, notebooks: dict[str, nbformat.NotebookNode]) -> None:
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True)
    for filename, nb in notebooks.items():
        nbformat.write(nb, folder / filename)


def check_assignment(name: str, course: Path | None = None, workdir: Path | None = None) -> AssignmentCheck:
    """Run the four checks for assignment ``name`` and return what they found."""
    course = course_root(course)
    result = AssignmentCheck(name)
    with tempfile.TemporaryDirectory(prefix=f"adcheck-{name}-", dir=workdir) as tmp:
        scratch = scratch_course(course, name, Path(tmp))
        run_nbgrader(scratch, "generate_assignment", name, "--force")
        run_nbgrader(scratch, "generate_solution", name, "--force")
        release = {
            p.name: nbformat.read(p, as_version=4)
            for p in sorted((scratch / "release" / name).glob("*.ipynb"))
        }
        key = {
            p.name: nbformat.read(p, as_version=4)
            for p in sorted((scratch / "solution" / name).glob("*.ipynb"))
        }
        for filename, nb in release.items():
            text = "\n".join(c.source for c in nb.cells)
            result.release_problems += [f"{filename} contains {m!r}" for m in _SECRET_MARKERS if m in text]

        _submit(scratch, KEY, name, key)
        _submit(scratch, BLANK, name, release)
        mutants = load_mutants(mutants_file(name)) if mutants_file(name).is_file() else []
        for m in mutants:
            if m.notebook not in key:
                raise ValueError(
                    f"mutant {m.name!r} edits {m.notebook}, which assignment {name} does not have"
                )
            _submit(scratch, m.student, name, {**key, m.notebook: apply_mutant(key[m.notebook], m)})

        run_nbgrader(scratch, "autograde", name, "--force")
        scores = cell_scores(scratch / "gradebook.db", name)

    key_cells = scores[KEY]
    result.test_cells = len(key_cells)
    result.max_score = sum(s.max_score for s in key_cells.values())
    result.key_score = sum(s.score for s in key_cells.values())
    result.key_shortfalls = {c: s for c, s in key_cells.items() if s.score < s.max_score}
    result.blank_scores = scores[BLANK]
    result.blank_score = sum(s.score for s in scores[BLANK].values())
    for m in mutants:
        got = scores[m.student]
        lost = {c: key_cells[c].score - s.score for c, s in got.items() if s.score < key_cells[c].score}
        result.mutants.append(MutantResult(m, sum(s.score for s in got.values()), lost))
    return result
