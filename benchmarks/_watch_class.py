"""The class ``bench_watch.py`` watches: a released scratch course, the submissions that arrive,
a class the watcher has already finished, and the feeder that drops arrivals into ``submitted/``."""

from __future__ import annotations

import itertools
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograder.check import scratch_course  # noqa: E402
from autograder.mutants import apply_mutant, load_mutants  # noqa: E402
from autograder.nbgrader_cli import run_nbgrader  # noqa: E402
from autograder.paths import course_root  # noqa: E402
from autograder.solutions import generate_solution  # noqa: E402
from autograder.watch_state import Outcome, Scanner, WatchState, now, state_path  # noqa: E402

ASSIGNMENT = "a2_forward_mode"


class BenchmarkMismatch(AssertionError):
    """The watcher did not finish every arrival once with the peer's score: no time is reported."""


def make_course(work: Path, quick: bool) -> tuple[Path, list[Path]]:
    """A released scratch course in ``work/base/course`` and a folder per variant of the
    submission (the key, then the mutants; the first three in quick mode) in ``work/variants``."""
    course = scratch_course(course_root(None), ASSIGNMENT, work / "base")
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    key = generate_solution(ASSIGNMENT)
    mutants = load_mutants(REPO / "tests" / "mutants" / f"{ASSIGNMENT}.toml")
    variants = [key] + [{**key, m.notebook: apply_mutant(key[m.notebook], m)} for m in mutants]
    folders = []
    for i, notebooks in enumerate(variants[:3] if quick else variants):
        folder = work / "variants" / f"v{i:02d}"
        folder.mkdir(parents=True)
        for filename, nb in notebooks.items():
            nbformat.write(nb, folder / filename)
        folders.append(folder)
    return course, folders


def variants_of(variants: list[Path], n: int) -> tuple[dict[str, Path], dict[str, int]]:
    """``n`` arrivals ``a0001..``: each student's variant folder, and its variant's index."""
    width = max(4, len(str(n)))
    students = [f"a{i + 1:0{width}d}" for i in range(n)]
    return (
        {s: variants[i % len(variants)] for i, s in enumerate(students)},
        {s: i % len(variants) for i, s in enumerate(students)},
    )


def finished_class(course: Path, variants: list[Path], n: int) -> None:
    """``n`` students ``p0001..`` whose submissions (the variants, round-robin) are in
    ``submitted/`` and finished in the watch state (one outcome each, in ``finished`` and in the
    history): a watcher sees them and grades none of them."""
    width = max(4, len(str(n)))
    for i, variant in zip(range(n), itertools.cycle(variants), strict=False):
        shutil.copytree(variant, course / "submitted" / f"p{i + 1:0{width}d}" / ASSIGNMENT)
    state = WatchState(state_path(course, ASSIGNMENT), ASSIGNMENT)
    for arrival in Scanner(course, ASSIGNMENT).scan():
        outcome = Outcome(
            arrival.student, arrival.fingerprint, arrival.timestamp, "done", "graded",
            10.0, 10.0, "", True, 1, now(),
        )  # fmt: skip
        state.finish(outcome)
    state.save()


def feed(templates: dict[str, Path], submitted: Path, rate: float, log: Path) -> None:
    """Drop each ``{student: folder}`` into ``submitted/<student>/ASSIGNMENT`` at ``rate`` per
    second, each renamed into place whole; write the arrival times (``time.time()``) and this
    process's own CPU seconds to ``log`` as JSON."""
    staging = submitted.parent / ".feeding"
    submitted.mkdir(exist_ok=True)
    arrived = {}
    start = time.monotonic()
    for i, (student, folder) in enumerate(templates.items()):
        if (wait := start + i / rate - time.monotonic()) > 0:
            time.sleep(wait)
        shutil.copytree(folder, staging / student / ASSIGNMENT)
        os.rename(staging / student, submitted / student)
        arrived[student] = time.time()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    log.write_text(json.dumps({"arrived": arrived, "cpu": usage.ru_utime + usage.ru_stime}))
