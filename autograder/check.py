"""Proof that an assignment's tests are right.

For one assignment, in a scratch copy of the course:

1. the release builds, and holds neither solutions nor hidden tests, nor any of the answer key's
   formula lines outside the answer cells (in a docstring or a comment);
2. the answer key's trusted run passes every test: each check's value agrees with the expected
   value written in the test (adlib's, torch's, a literal), and every test records checks;
3. no test cell computes an expected value where the student's kernel would run it
   (:func:`~autograder.engine.testcode.lint`);
4. graded by the engine like any class (sandboxed, decided against the key), the answer key earns
   full marks, the untouched release 0, and every typical mistake in the corpus
   (``tests/mutants/<assignment>.toml``) loses points on the test cells that target it. The share
   of mistakes caught is the *mutation score*;
5. every requirement of the assignment's table (``requirements.toml``) has a test and a caught
   mistake that violates it;
6. optionally (``compare_stock``), stock ``nbgrader autograde`` gives every one of those
   submissions the same points per test cell (``compare_stock=N``: the key, the blank release and
   N of the typical mistakes, spread over the corpus, since stock nbgrader grades one at a time).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .mutants import Mutant, apply_mutant, load_mutants
from .nbgrader_cli import run_nbgrader
from .paths import CourseError, assignment_dir, course_root, mutants_file
from .requirements import REQUIREMENTS_FILE, coverage_problems, load_requirements, load_shown
from .scores import CellScore, cell_scores

KEY, BLANK = "answer-key", "blank-release"
_SECRET_MARKERS = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"


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
    key_problems: list[str] = field(default_factory=list)  # disagreements with the tests, lint
    requirement_problems: list[str] = field(default_factory=list)
    stock_differences: list[str] = field(default_factory=list)
    mutants: list[MutantResult] = field(default_factory=list)
    compared_with_stock: bool = False
    stock_students: list[str] = field(default_factory=list)  # the submissions stock nbgrader graded

    @property
    def mutation_score(self) -> float:
        """The share of typical mistakes that lose points where they should."""
        return sum(m.caught for m in self.mutants) / len(self.mutants) if self.mutants else 0.0

    @property
    def ok(self) -> bool:
        """Every property holds."""
        return (
            not self.release_problems
            and not self.key_problems
            and not self.key_shortfalls
            and not self.requirement_problems
            and not self.stock_differences
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
        if self.compared_with_stock:
            same = "same points per test" if not self.stock_differences else "DIFFERENT"
            mistakes = len(self.stock_students) - 2
            which = "" if mistakes >= len(self.mutants) else f" (key, blank and {mistakes} of the mistakes)"
            lines.append(f"  stock nbgrader on the same submissions{which}: {same}")
        for cell, s in self.key_shortfalls.items():
            lines.append(f"    key loses points on {cell}: {s.score:g}/{s.max_score:g}")
        lines += [f"    key: {p}" for p in self.key_problems]
        lines += [f"    requirements: {p}" for p in self.requirement_problems]
        lines += [f"    stock: {p}" for p in self.stock_differences]
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


def _solution_lines(key: nbformat.NotebookNode) -> set[str]:
    """The answer key's formula lines: code inside solution regions that computes something."""
    found, inside = set(), False
    for cell in key.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.split("\n"):
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside:
                code = line.split("#", 1)[0].strip()
                if len(code) >= 10 and re.search(r"[-+*/@]|\w\(", code):
                    found.add(re.sub(r"\s+", "", code))
    return found


def giveaways(
    source: nbformat.NotebookNode, release: nbformat.NotebookNode, shown: list[str] = ()
) -> list[str]:
    """Formula lines of the key that the release shows anyway (in a docstring, a comment, a test),
    but those the task gives on purpose (``shown``)."""
    lines = _solution_lines(source) - {re.sub(r"\s+", "", line) for line in shown}
    text = re.sub(r"\s+", "", "\n".join(c.source for c in release.cells))
    return sorted(f"the release shows the answer line {line!r}" for line in lines if line in text)


def _test_cells(course: Path, name: str) -> dict[str, list[str]]:
    """``{notebook: [grade ids of its autograded test cells]}`` from the course gradebook."""
    from nbgrader.api import Gradebook

    from .config import db_url

    with Gradebook(db_url(course)) as gb:
        found = {}
        for nb in gb.find_assignment(name).notebooks:
            answers = {c.name for c in nb.solution_cells}
            found[nb.name] = [
                c.name for c in nb.grade_cells if c.cell_type == "code" and c.name not in answers
            ]
        return found


def _lint(course: Path, name: str, tests: dict[str, list[str]]) -> list[str]:
    """Test code that would compute an expected value in the student's kernel, or that cannot be
    stripped of its answers."""
    from .config import db_url
    from .engine.oracle import test_sources
    from .engine.testcode import UnstrippableTest, lint, strip_cells, visible_names

    problems = []
    for notebook, cells in test_sources(db_url(course), name, tuple(tests)).items():
        try:
            stripped = strip_cells([(gid, cells[gid]) for gid in tests[notebook]])
        except UnstrippableTest as exc:
            problems.append(f"{notebook}: {exc}")
            continue
        public = {n for gid in tests[notebook] for n in visible_names(cells[gid])}
        problems += [f"{notebook}/{p}" for p in lint(stripped, public)]
        problems += [
            f"{notebook}/{gid}: it has no hidden tests, so a student who reads its checks in the release "
            "could hard-code their answers; add hidden checks on other inputs"
            for gid in tests[notebook]
            if HIDDEN_BEGIN not in cells[gid]
        ]
    return problems


def check_assignment(
    name: str,
    course: Path | None = None,
    workdir: Path | None = None,
    compare_stock: bool | int = False,
    jobs: int | None = None,
    mutants: list[Mutant] | None = None,
) -> AssignmentCheck:
    """Run the checks for assignment ``name`` and return what they found.

    ``mutants``: the edited answer keys to grade (default: the assignment's corpus of typical
    mistakes, ``tests/mutants/NAME.toml``); e.g. correct alternatives, which must lose nothing.

    ``compare_stock``: ``True`` grades every submission with stock nbgrader too, a number ``N`` the
    key, the blank release and ``N`` typical mistakes spread evenly over the corpus.
    """
    from .config import db_url
    from .engine import autograde
    from .engine.bundle import build_bundle
    from .engine.oracle import disagreements

    course = course_root(course)
    result = AssignmentCheck(name, compared_with_stock=compare_stock is not False)
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
        sources = {
            p.name: nbformat.read(p, as_version=4)
            for p in sorted(assignment_dir(scratch, name).glob("*.ipynb"))
        }
        for filename, nb in release.items():
            text = "\n".join(c.source for c in nb.cells)
            result.release_problems += [f"{filename} contains {m!r}" for m in _SECRET_MARKERS if m in text]
            shown = load_shown(assignment_dir(course, name) / REQUIREMENTS_FILE)
            result.release_problems += [f"{filename}: {g}" for g in giveaways(sources[filename], nb, shown)]

        _submit(scratch, KEY, name, key)
        _submit(scratch, BLANK, name, release)
        if mutants is None:
            mutants = load_mutants(mutants_file(name)) if mutants_file(name).is_file() else []
        for m in mutants:
            if m.notebook not in key:
                raise ValueError(
                    f"mutant {m.name!r} edits {m.notebook}, which assignment {name} does not have"
                )
            _submit(scratch, m.student, name, {**key, m.notebook: apply_mutant(key[m.notebook], m)})

        tests = _test_cells(scratch, name)
        result.key_problems += _lint(scratch, name, tests)
        try:
            bundle = build_bundle(scratch, name, db_url(scratch))
        except CourseError as exc:
            result.key_problems.append(str(exc))
            return result
        result.key_problems += disagreements(bundle.oracle)
        if compare_stock is not False:
            result.stock_students = [KEY, BLANK] + [m.student for m in _spread(mutants, compare_stock)]
            stock = Path(tmp) / "stock"
            shutil.copytree(scratch.parent, stock)  # the gradebook knows the assignment, no student yet
            for folder in (stock / "course" / "submitted").iterdir():
                if folder.name not in result.stock_students:
                    shutil.rmtree(folder)
        autograde(scratch, name, jobs=jobs)
        scores = cell_scores(scratch / "gradebook.db", name)
        test_cells = [gid for ids in tests.values() for gid in ids]
        if compare_stock is not False:
            stock_course = stock / "course"
            run_nbgrader(stock_course, "autograde", name, "--force")
            graded = {s: scores[s] for s in result.stock_students if s in scores}
            result.stock_differences = _differences(graded, cell_scores(stock_course / "gradebook.db", name))
        requirements_path = assignment_dir(course, name) / REQUIREMENTS_FILE

    disagreeing = {p.split(":", 1)[0] for p in disagreements(bundle.oracle)}
    key_cells = dict(scores[KEY])
    for cell, s in list(key_cells.items()):
        if cell in disagreeing:  # the key fails the test as written: no points, as stock nbgrader would
            key_cells[cell] = CellScore(s.notebook, s.cell, 0.0, s.max_score)
    result.test_cells = len(key_cells)
    result.max_score = sum(s.max_score for s in key_cells.values())
    result.key_score = sum(s.score for s in key_cells.values())
    result.key_shortfalls = {c: s for c, s in key_cells.items() if s.score < s.max_score}
    result.blank_scores = scores[BLANK]
    result.blank_score = sum(s.score for s in scores[BLANK].values())
    for m in mutants:
        got = scores[m.student]
        lost = {c: scores[KEY][c].score - s.score for c, s in got.items() if s.score < scores[KEY][c].score}
        result.mutants.append(MutantResult(m, sum(s.score for s in got.values()), lost))
    if requirements_path.is_file():
        caught = [m.mutant.name for m in result.mutants if m.caught]
        result.requirement_problems = coverage_problems(
            load_requirements(requirements_path), test_cells, mutants, caught
        )
    else:
        result.requirement_problems = [f"{name} has no requirements table ({REQUIREMENTS_FILE})"]
    return result


def _spread(mutants: list[Mutant], count: bool | int) -> list[Mutant]:
    """All of ``mutants`` (``count is True``), or ``count`` of them evenly spaced over the list."""
    if count is True or count >= len(mutants):
        return list(mutants)
    step = len(mutants) / max(count, 1)
    return [mutants[int(i * step)] for i in range(count)]


def _differences(
    engine: dict[str, dict[str, CellScore]], stock: dict[str, dict[str, CellScore]]
) -> list[str]:
    """Per student and test cell, where the engine's points differ from stock nbgrader's."""
    found = []
    for student in sorted(set(engine) | set(stock)):
        mine, theirs = engine.get(student, {}), stock.get(student, {})
        for cell in sorted(set(mine) | set(theirs)):
            a = mine[cell].score if cell in mine else None
            b = theirs[cell].score if cell in theirs else None
            if a != b:
                found.append(f"{student} {cell}: engine {a}, stock nbgrader {b}")
    return found
