"""``adcourse watch`` at 10 arrivals per second: what the watcher's own process costs per arrival.

Workload: a scratch course of ``a2_forward_mode`` whose watcher has already finished a class of
``--class-size`` students (default 2,000: their folders in ``submitted/`` and their outcomes in
the watch state, so that costs growing with the class show). ``--arrivals`` new submissions
(default 60: the answer key and the mutants of ``tests/mutants/a2_forward_mode.toml``,
round-robin, under new student ids ``a0001..``) are then dropped into ``submitted/`` at
``--rate`` per second (default 10) by a feeder process (each folder renamed into place whole)
while a :class:`~autograder.watch.Watcher` (``jobs`` worker processes, a round every second) runs
in this process until every arrival is finished.

The peer, measured in the same run on a copy of the same course: ``adcourse autograde --feedback``
(``autograde(..., feedback=True)``) over the same submissions in one call, the batch path. Each
contender's course has the answer key's run cached beforehand (as after a course's first
grading); the watcher runs first, so the peer finds this process's imports warm.

Measured: this process's own CPU time (``RUSAGE_SELF``: user + system, not its children) per
arrival, the goal being <= 0.1 s so that one client core keeps up with 10 arrivals/s; the
worker processes' CPU time per submission (``RUSAGE_CHILDREN``: workers and their kernels, the
feeder's own CPU taken off) and the workers 10 arrivals/s need from it; the latency from an
arrival (its folder renamed into ``submitted/``) to its outcome. Grading runs without the
sandbox (the key and the course's own mutants are trusted code, and the sandbox's cost is the
workers', not the client's). Before anything is reported every arrival must be finished exactly
once, done, with the score the peer gives the same variant (every copy of a variant scoring
alike, the key full marks): otherwise ``BenchmarkMismatch``.

    .venv/bin/python benchmarks/bench_watch.py [--quick] [--arrivals 60] [--class-size 2000] \\
        [--rate 10] [--jobs 2] [--profile FILE] [--out benchmarks/WATCH.md]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _report import Table, machine_info, write_results
from _watch_class import ASSIGNMENT, BenchmarkMismatch, feed, finished_class, make_course, variants_of

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograder.config import cell_timeout, db_url  # noqa: E402
from autograder.engine import Limits, autograde  # noqa: E402
from autograder.engine.bundle import build_bundle  # noqa: E402
from autograder.watch import Watcher  # noqa: E402
from autograder.watch_state import Outcome  # noqa: E402

GOAL = 0.1  # client CPU seconds per arrival
TARGET_RATE = 10.0  # arrivals per second the goal is for
INTERVAL = 1.0  # seconds between the watcher's rounds

METHOD = (
    "Written by `python benchmarks/bench_watch.py`: submissions dropped into `submitted/` at a fixed "
    "rate while `adcourse watch` runs, then the same submissions graded by `adcourse autograde "
    "--feedback` in one call (see the script's docstring)."
)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Cost:
    """CPU seconds of this process (client) and of its reaped children (workers) over a run."""

    client: float = 0.0
    children: float = 0.0
    wall: float = 0.0


@contextmanager
def measured(cost: Cost) -> Iterator[None]:
    """Add this process's and its children's CPU seconds, and the wall time, of the block to ``cost``."""
    client, children, wall = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    try:
        yield
    finally:
        cost.client += _cpu(resource.RUSAGE_SELF) - client
        cost.children += _cpu(resource.RUSAGE_CHILDREN) - children
        cost.wall += time.perf_counter() - wall


@dataclass(frozen=True)
class Run:
    """One contender's grading of the arrivals."""

    name: str
    n: int
    cost: Cost
    scores: dict[str, float]  # by student
    latencies: tuple[float, ...] = ()  # seconds from arrival to outcome (the watcher only)
    max_score: float = 0.0  # the assignment's (the batch run only)
    startup: float | None = None  # client CPU s of the watcher's first round, before any arrival

    @property
    def client_per(self) -> float:
        return self.cost.client / self.n

    @property
    def worker_per(self) -> float:
        return self.cost.children / self.n

    def latency(self, q: float) -> float:
        """The ``q`` quantile (0..1) of the latencies."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else math.nan


def warm(course: Path, limits: Limits) -> None:
    """Run the answer key of ``course`` once (its oracle is cached: the course config, which the
    cache's key includes, names the course's folder), as any course's first grading does."""
    build_bundle(course, ASSIGNMENT, db_url(course), limits)


def watch_run(
    course: Path, templates: dict[str, Path], rate: float, jobs: int, limits: Limits, profile: Path | None
) -> Run:
    """Run a watcher on ``course`` while a feeder drops ``templates`` (``{student: folder}``) into
    ``submitted/`` at ``rate`` per second; stop once every one is finished."""
    import multiprocessing

    done: dict[str, tuple[Outcome, float]] = {}
    duplicates: list[str] = []

    def on_outcome(outcome: Outcome) -> None:
        if outcome.student in templates:
            if outcome.student in done:
                duplicates.append(outcome.student)
            done[outcome.student] = (outcome, time.time())
            if len(done) == len(templates):
                watcher.request_stop()

    watcher = Watcher(course, ASSIGNMENT, jobs=jobs, limits=limits, on_outcome=on_outcome)
    log = course.parent / "arrivals.json"
    feeder = multiprocessing.get_context("spawn").Process(
        target=feed, args=(templates, course / "submitted", rate, log)
    )
    startup = Cost()
    with measured(startup):  # the watcher starts: it reads the state, fingerprints the class
        if watcher.round().outcomes:
            raise BenchmarkMismatch("the watcher graded a submission of the finished class again")
    cost = Cost()
    profiler = cProfile.Profile() if profile else None
    with measured(cost):
        feeder.start()
        if profiler:
            profiler.enable()
        watcher.run(INTERVAL)
        if profiler:
            profiler.disable()
        feeder.join()
    if profiler and profile:
        profiler.dump_stats(str(profile))
    fed = json.loads(log.read_text())
    cost.children -= fed["cpu"]  # the feeder's own CPU is not the workers'
    if duplicates:
        raise BenchmarkMismatch(f"the watcher finished {sorted(set(duplicates))} more than once")
    if set(done) != set(templates):
        raise BenchmarkMismatch(f"the watcher did not finish {sorted(set(templates) - set(done))}")
    bad = {s: o.line() for s, (o, _) in done.items() if o.result != "done" or not o.feedback}
    if bad:
        raise BenchmarkMismatch(f"arrivals not done with their feedback: {bad}")
    latencies = tuple(t - fed["arrived"][s] for s, (_, t) in done.items())
    scores = {s: float(o.score or 0.0) for s, (o, _) in done.items()}
    return Run("adcourse watch", len(templates), cost, scores, latencies, startup=startup.client)


def batch_run(course: Path, templates: dict[str, Path], jobs: int, limits: Limits) -> Run:
    """``autograde(..., feedback=True)`` over the same submissions, already in ``submitted/``."""
    for student, folder in templates.items():
        shutil.copytree(folder, course / "submitted" / student / ASSIGNMENT)
    cost = Cost()
    with measured(cost):
        run = autograde(
            course, ASSIGNMENT, jobs=jobs, students=sorted(templates), limits=limits, feedback=True
        )
    if sorted(run.fed_back) != sorted(templates):
        raise BenchmarkMismatch(
            f"autograde --feedback kept no page for {sorted(set(templates) - set(run.fed_back))}"
        )
    scores = {s.student: s.score for s in run.statuses}
    full = max((s.max_score for s in run.statuses), default=0.0)
    return Run("adcourse autograde --feedback", len(templates), cost, scores, max_score=full)


def check_scores(watch: Run, batch: Run, variant_of: dict[str, int], full: float) -> None:
    """Every arrival scored as the peer scored it, every copy of a variant alike, the key full marks."""
    by_variant: dict[int, set[float]] = {}
    for student, score in batch.scores.items():
        by_variant.setdefault(variant_of[student], set()).add(score)
    if any(len(scores) != 1 for scores in by_variant.values()):
        raise BenchmarkMismatch(f"copies of one variant scored differently: {by_variant}")
    if by_variant.get(0) != {full}:
        raise BenchmarkMismatch(f"the answer key scored {by_variant.get(0)}, not {full}")
    differ = {
        s: (watch.scores.get(s), batch.scores[s])
        for s in batch.scores
        if watch.scores.get(s) != batch.scores[s]
    }
    if differ or set(watch.scores) != set(batch.scores):
        raise BenchmarkMismatch(f"watch and autograde scored differently (watch, autograde): {differ}")


def watch_table(watch: Run, batch: Run, class_size: int, rate: float, jobs: int, variants: int) -> Table:
    """The result table: both contenders' client and worker CPU per submission, the watcher's latencies."""

    def row(run: Run, latencies: bool) -> list[str]:
        lat = (
            [f"{run.latency(0.5):.1f}", f"{run.latency(0.9):.1f}", f"{max(run.latencies):.1f}"]
            if latencies
            else ["-", "-", "-"]
        )
        return [
            run.name,
            str(run.n),
            "-" if run.startup is None else f"{run.startup:.2f}",
            f"{run.client_per:.3f}",
            f"{1 / run.client_per:.0f}" if run.client_per > 0 else "inf",
            f"{run.worker_per:.2f}",
            str(math.ceil(TARGET_RATE * run.worker_per)),
            f"{run.cost.wall:.0f}",
            *lat,
        ]

    ratio = watch.client_per / batch.client_per if batch.client_per > 0 else math.inf
    return Table(
        f"adcourse watch at {rate:g} arrivals/s over a finished class of {class_size:,}: "
        "client CPU per arrival",
        [
            "contender",
            "submissions",
            "start-up client CPU s (once)",
            "client CPU s/submission",
            "submissions/s one client core keeps up with",
            "worker CPU s/submission",
            f"workers for {TARGET_RATE:g}/s",
            "wall s",
            "latency p50 s",
            "p90 s",
            "max s",
        ],
        [row(watch, True), row(batch, False)],
        goal=f"watch's client CPU <= {GOAL} s per arrival (one client core keeps {TARGET_RATE:g} arrivals/s)",
        met=watch.client_per <= GOAL,
        notes=[
            f"{variants} variants of {ASSIGNMENT} (the answer key and the mutants of tests/mutants/"
            f"{ASSIGNMENT}.toml), round-robin under new student ids, dropped into `submitted/` at {rate:g}/s "
            f"by a feeder process while the watcher (jobs={jobs}, a round every {INTERVAL:g} s) ran; its "
            f"state already held {class_size:,} finished students (in `submitted/` too).",
            "Client CPU: this process's user + system time (RUSAGE_SELF). The watcher's start-up (its "
            f"first round, before any arrival: reading the state and fingerprinting the {class_size:,} "
            "finished folders) is counted apart, once; per submission is everything after it, for "
            "autograde the whole call (its bundle and workers included). "
            f"watch / autograde --feedback per submission: {ratio:.2f}x.",
            "Worker CPU: the reaped children's (workers and kernels; the feeder's taken off); "
            f"workers for {TARGET_RATE:g}/s = ceil({TARGET_RATE:g} x worker CPU s/submission), on a cluster "
            "(`c.AdCourse.cluster`).",
            f"Latency, arrival to outcome: on {jobs} local workers grading is the bottleneck ({jobs} workers "
            f"grade ~{jobs / max(watch.worker_per, 1e-9):.1f}/s), so arrivals queue; it measures this "
            "machine, not the watcher.",
            "Checked first: every arrival finished once, done with its feedback, with the score "
            "autograde gives it (every copy of a variant alike, the key full marks). Sandbox off "
            "(trusted code) for both.",
        ],
    )


def main(argv: list[str] | None = None, say: Callable[[str], None] = print) -> str:
    """Command line: ``[--quick] [--arrivals N] [--class-size C] [--rate R] [--jobs J]
    [--profile FILE] [--out FILE]``; returns the results' markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="6 arrivals of 3 variants, a class of 50: a smoke run"
    )
    parser.add_argument("--arrivals", type=int, default=60, help="submissions dropped in (default 60)")
    parser.add_argument(
        "--class-size", type=int, default=2000, help="students already finished (default 2000)"
    )
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="arrivals per second (default 10)")
    parser.add_argument("--jobs", type=int, default=2, help="local worker processes (default 2)")
    parser.add_argument("--profile", type=Path, help="write the watcher's cProfile stats here")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "WATCH.md")
    args = parser.parse_args(argv)
    arrivals, class_size = (6, 50) if args.quick else (args.arrivals, args.class_size)
    info = machine_info()
    cache = os.environ.get("ADCOURSE_CACHE")
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        work = Path(tmp)
        os.environ["ADCOURSE_CACHE"] = str(work / "cache")  # the key's runs: made here, for both
        try:
            table = measure(work, args, arrivals, class_size, say)
        finally:
            if cache is None:
                os.environ.pop("ADCOURSE_CACHE", None)
            else:
                os.environ["ADCOURSE_CACHE"] = cache
    text = write_results(args.out, [table], info, args.quick, METHOD)
    say(text)
    return text


def measure(
    work: Path, args: argparse.Namespace, arrivals: int, class_size: int, say: Callable[[str], None] = print
) -> Table:
    """Both contenders on copies of one course made in ``work``; the result table."""
    base, variants = make_course(work, args.quick)
    templates, variant_of = variants_of(variants, arrivals)
    finished_class(base, variants, class_size)
    limits = Limits(cell_timeout=cell_timeout(base), sandbox=False)
    watched, batched = work / "watched", work / "batched"
    for copy in (watched, batched):
        shutil.copytree(base.parent, copy, symlinks=True)
        warm(copy / "course", limits)
    say(f"class of {class_size} finished; {arrivals} arrivals at {args.rate:g}/s")
    watch = watch_run(watched / "course", templates, args.rate, args.jobs, limits, args.profile)
    say(f"watch: {watch.client_per:.3f} client CPU s per arrival, latency p50 {watch.latency(0.5):.1f} s")
    batch = batch_run(batched / "course", templates, args.jobs, limits)
    say(f"autograde --feedback: {batch.client_per:.3f} client CPU s per submission")
    check_scores(watch, batch, variant_of, batch.max_score)
    table = watch_table(watch, batch, class_size, args.rate, args.jobs, len(variants))
    if args.profile:
        table.notes.append(f"Profiled (cProfile in the watcher, to {args.profile}): its CPU is inflated.")
    return table


if __name__ == "__main__":
    main()
