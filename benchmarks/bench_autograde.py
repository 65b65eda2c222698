"""Autograding throughput: the kit's parallel engine (2 workers) vs stock sequential nbgrader.

Workload: N submissions (default 40) of one real assignment, ``a2_forward_mode``, as students
``s01..sNN``: copies of the answer key (``generate_solution``) and of the typical mistakes in
``tests/mutants/a2_forward_mode.toml`` (``apply_mutant``), round-robin. Two scratch copies of the
course get the same files; stock ``nbgrader autograde NAME --force`` grades one, and
``autograder.engine.autograde(course, NAME, jobs=2)`` the other (its wall clock includes building
the assignment bundle). Before any speed is reported, both gradebooks must hold the same
per-student totals; otherwise the script stops with ``BenchmarkMismatch``.

Throughput ratio = stock seconds / engine seconds (same number of submissions). The goal is
>= 1.8x on 2 cores. The engine does more work per kernel than stock: every kernel runs inside a
bubblewrap sandbox with resource limits, stock runs them bare.

Not part of ``run_all.py``: the full run takes minutes.

    .venv/bin/python benchmarks/bench_autograde.py [--quick] [--submissions 40] \\
        [--out benchmarks/AUTOGRADE.md]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from _report import Table, machine_info, write_results

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograder.check import scratch_course  # noqa: E402
from autograder.engine import autograde  # noqa: E402
from autograder.mutants import apply_mutant, load_mutants  # noqa: E402
from autograder.nbgrader_cli import run_nbgrader  # noqa: E402
from autograder.paths import course_root  # noqa: E402
from autograder.scores import cell_scores  # noqa: E402
from autograder.solutions import generate_solution  # noqa: E402

ASSIGNMENT = "a2_forward_mode"
GOAL_RATIO = 1.8
JOBS = 2


METHOD = (
    "Written by `python benchmarks/bench_autograde.py`: one wall-clock run of each grader "
    "on the same files, stock first (see the script's docstring)."
)


class BenchmarkMismatch(AssertionError):
    """The two graders disagree on some student's score: no speed is reported."""


@dataclass(frozen=True)
class AutogradeTiming:
    """Wall-clock seconds of both graders on the same ``submissions`` files, and the totals they gave.

    ``engine_first_result`` is the engine's start-up: seconds until its first graded submission was
    recorded (finding submissions, building the bundle, starting the workers, grading one).
    """

    submissions: int
    stock_seconds: float
    engine_seconds: float
    totals: dict[str, float]
    engine_first_result: float = float("nan")

    @property
    def ratio(self) -> float:
        """Throughput of the engine over stock's: ``stock_seconds / engine_seconds``."""
        return self.stock_seconds / self.engine_seconds


def student_notebooks(n: int, assignment: str = ASSIGNMENT) -> dict[str, dict[str, nbformat.NotebookNode]]:
    """``{sNN: {notebook file: notebook}}``: the key, then each mutant, round-robin, ``n`` students."""
    if n < 1:
        raise ValueError(f"need at least one submission, got n={n}")
    key = generate_solution(assignment)
    corpus = REPO / "tests" / "mutants" / f"{assignment}.toml"
    variants: list[dict[str, nbformat.NotebookNode]] = [key]
    for mutant in load_mutants(corpus):
        variants.append({**key, mutant.notebook: apply_mutant(key[mutant.notebook], mutant)})
    width = max(2, len(str(n)))
    return {f"s{i + 1:0{width}d}": variants[i % len(variants)] for i in range(n)}


def _course_copy(root: Path, students: dict[str, dict[str, nbformat.NotebookNode]]) -> Path:
    course = scratch_course(course_root(None), ASSIGNMENT, root)
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    for student, notebooks in students.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for filename, nb in notebooks.items():
            nbformat.write(nb, folder / filename)
    return course


def totals(course: Path) -> dict[str, float]:
    """``{student: total autograded points}`` from the course gradebook."""
    scores = cell_scores(course / "gradebook.db", ASSIGNMENT)
    return {student: round(sum(c.score for c in cells.values()), 6) for student, cells in scores.items()}


def measure(n: int, workdir: Path) -> AutogradeTiming:
    """Grade ``n`` submissions both ways (stock first), check the totals agree, return the times."""
    students = student_notebooks(n)
    stock_course = _course_copy(workdir / "stock", students)
    engine_course = _course_copy(workdir / "engine", students)

    start = time.perf_counter()
    run_nbgrader(stock_course, "autograde", ASSIGNMENT, "--force")
    stock_seconds = time.perf_counter() - start

    arrivals: list[float] = []
    start = time.perf_counter()
    run = autograde(
        engine_course, ASSIGNMENT, jobs=JOBS, on_graded=lambda _: arrivals.append(time.perf_counter())
    )
    engine_seconds = time.perf_counter() - start
    first_result = arrivals[0] - start if arrivals else engine_seconds

    stock_totals, engine_totals = totals(stock_course), totals(engine_course)
    if set(stock_totals) != set(students) or stock_totals != engine_totals:
        differ = sorted(s for s in students if stock_totals.get(s) != engine_totals.get(s))
        raise BenchmarkMismatch(
            f"stock nbgrader and the engine disagree on {differ}: "
            f"stock {stock_totals}, engine {engine_totals}"
        )
    if run.ungradable:
        raise BenchmarkMismatch(
            f"the engine could not grade {[(s.student, s.status) for s in run.ungradable]}"
        )
    return AutogradeTiming(n, stock_seconds, engine_seconds, stock_totals, first_result)


def autograde_table(timing: AutogradeTiming) -> Table:
    """The result as a table against the goal."""
    n = timing.submissions
    return Table(
        f"Autograding {n} submissions of {ASSIGNMENT}: adlib engine (jobs={JOBS}) vs stock nbgrader",
        [
            "submissions",
            "stock nbgrader s",
            f"adlib engine s (jobs={JOBS})",
            "stock s/submission",
            "engine s/submission",
            "throughput ratio",
        ],
        [
            [
                str(n),
                f"{timing.stock_seconds:.1f}",
                f"{timing.engine_seconds:.1f}",
                f"{timing.stock_seconds / n:.2f}",
                f"{timing.engine_seconds / n:.2f}",
                f"{timing.ratio:.2f}x",
            ]
        ],
        goal=f">= {GOAL_RATIO}x stock nbgrader's throughput on 2 cores",
        met=timing.ratio >= GOAL_RATIO,
        notes=[
            "Same files in two scratch copies of the course: the answer key and the mutants of "
            f"tests/mutants/{ASSIGNMENT}.toml, round-robin. Both gradebooks gave identical per-student "
            f"totals (distinct totals: {sorted(set(timing.totals.values()))}) before any time was reported.",
            "One wall-clock run each, stock first; the engine's time includes building its bundle "
            "(a copy of the assignment's rows of the course gradebook) and writing the gradebook.",
            f"Engine start-up (until its first submission was recorded): {timing.engine_first_result:.1f} s; "
            "the rest of its time is the steady state of 2 workers and the one gradebook writer.",
            "The engine also runs every kernel in a bubblewrap sandbox with resource limits; stock "
            "nbgrader runs kernels bare. The ratio therefore includes the sandbox's cost.",
        ],
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: ``[--quick] [--submissions N] [--out FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 submissions: a smoke run, not a measurement")
    parser.add_argument("--submissions", type=int, default=40, help="how many submissions (default 40)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "AUTOGRADE.md")
    args = parser.parse_args(argv)
    n = 4 if args.quick else args.submissions
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        timing = measure(n, Path(tmp))
    table = autograde_table(timing)
    print(write_results(args.out, [table], info, args.quick, METHOD))


if __name__ == "__main__":
    main()
