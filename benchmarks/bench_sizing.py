"""Worker-seconds per submission of every assignment, and the cluster they size for a MOOC.

Workload: for each assignment of the kit's course (``autograder.paths.assignment_names``), N
submissions (default 8): the answer key (``generate_solution``) and the first K mutants (default 5)
of ``tests/mutants/<name>.toml`` (``apply_mutant``), round-robin, as
``bench_autograde.student_notebooks`` makes them, in a scratch copy of the course
(``scratch_course`` and ``nbgrader generate_assignment``, as ``bench_scale.graded_variants``). Each
is graded as ``adcourse autograde NAME --jobs 1`` grades it: ``autograder.engine.autograde(course,
NAME, jobs=1)`` with the default limits, so every kernel runs in the bubblewrap sandbox (checked
before anything is timed). With ``jobs=1`` the engine grades in this process, one submission after
the other: wall seconds are one worker's seconds.

Measured per assignment and run: the steady worker-seconds per submission, by ``bench_cluster``'s
method (``bench_cluster.Run.steady_worker_seconds``, imported): the time from the first recorded
result to the last, over the gaps between them, times the workers (1). Start-up (finding the
submissions, the gradebook check, the bundle with the answer key's trusted run, the first grading)
is outside it. In the serial backend each gap also holds the client's recording of one result; its
share is reported (``record_many`` timed, as ``bench_cluster`` times it), so the figure is an upper
bound of what a cluster worker spends. Also: the pickled bundle (sent to a Dask scheduler once per
run), the mean pickled submission files (a task's upload) and the mean graded notebook back.

Named peer: ``a2_forward_mode``, the assignment ``CLUSTER.md`` measured. Every assignment is graded
once per round, in a fresh copy of its course, for R rounds (default 3), the order rotated by one
each round, so load from other work on the shared machine is spread over all of them. Figures are
medians over rounds; each assignment's cost relative to a2's is ``_harness.Rounds.median_ratio``,
the median of the per-round ratios (assignment / a2, both from the same round). Before any time is
reported, every submission must have graded, the key must score full marks and every mutant less.

Sizing (second table), on paper: 2,000 students x the six assignments, one submission each;
grading minutes = sum over assignments of 2,000 x worker-s / W / 60 for W cluster workers, and
recording minutes = 12,000 / rate / 60 at the batched writer's measured rates, read from
``benchmarks/SCALE.md`` (``bench_scale.py``; another file with ``--scale``).

Not part of ``run_all.py``: the full run takes minutes.

    .venv/bin/python benchmarks/bench_sizing.py [--quick] [--submissions 8] [--mutants 5] \\
        [--rounds 3] [--scale benchmarks/SCALE.md] [--out benchmarks/SIZING.md]
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from _harness import Rounds
from _report import Table, machine_info, write_results
from bench_autograde import BenchmarkMismatch
from bench_cluster import Run, timed

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograder.check import scratch_course  # noqa: E402
from autograder.engine import Limits, autograde  # noqa: E402
from autograder.engine.submission import find_submissions  # noqa: E402
from autograder.mutants import apply_mutant, load_mutants  # noqa: E402
from autograder.nbgrader_cli import run_nbgrader  # noqa: E402
from autograder.paths import assignment_names, course_root, mutants_file  # noqa: E402
from autograder.solutions import generate_solution  # noqa: E402

REFERENCE = "a2_forward_mode"
CLASS_SIZE = 2000
WORKERS = (2, 16, 64, 128)
SCALE_FILE = REPO / "benchmarks" / "SCALE.md"

METHOD = (
    "Written by `python benchmarks/bench_sizing.py`: every assignment graded by the engine with "
    "jobs=1 in the bubblewrap sandbox, once per round, the order rotated each round (see the "
    "script's docstring)."
)


# ---------------------------------------------------------------- the submissions, made once


@dataclass(frozen=True)
class Template:
    """A released scratch course of one assignment with its submissions, copied for every run."""

    assignment: str
    root: Path  # holds course/ and assignments/
    students: tuple[str, ...]
    keys: frozenset[str]  # the students who handed in the answer key; the rest a mutant


def variants(assignment: str, mutants: int) -> list[dict[str, nbformat.NotebookNode]]:
    """The answer key, then its first ``mutants`` mutants: ``{notebook file: notebook}`` each."""
    key = generate_solution(assignment)
    corpus = load_mutants(mutants_file(assignment))[:mutants]
    return [key] + [{**key, m.notebook: apply_mutant(key[m.notebook], m)} for m in corpus]


def template_course(assignment: str, workdir: Path, submissions: int, mutants: int) -> Template:
    """``submissions`` students ``s01..`` of ``assignment``: the key and the mutants round-robin."""
    root = workdir / "template" / assignment
    course = scratch_course(course_root(None), assignment, root)
    run_nbgrader(course, "generate_assignment", assignment, "--force")
    made = variants(assignment, mutants)
    width = max(2, len(str(submissions)))
    students = tuple(f"s{i + 1:0{width}d}" for i in range(submissions))
    for i, student in enumerate(students):
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        for filename, nb in made[i % len(made)].items():
            nbformat.write(nb, folder / filename)
    keys = frozenset(s for i, s in enumerate(students) if i % len(made) == 0)
    return Template(assignment, root, students, keys)


# ---------------------------------------------------------------- one graded run


@dataclass(frozen=True)
class Graded:
    """One run of the engine on one assignment: its arrivals (a ``bench_cluster.Run``) and the
    bytes a task moves."""

    assignment: str
    run: Run
    bundle_bytes: int  # the pickled bundle, sent once per run
    upload_bytes: float  # mean pickled submission files: a task's input
    graded_bytes: float  # mean graded notebooks of a submission: a task's output

    @property
    def worker_seconds(self) -> float:
        """Steady worker-seconds per submission (``bench_cluster``'s method)."""
        return self.run.steady_worker_seconds

    @property
    def record_seconds(self) -> float:
        """Mean client seconds to record one result, of the results in the steady window."""
        steady = self.run.record_seconds[1:] or self.run.record_seconds
        return sum(steady) / max(1, len(steady))


def grade_once(template: Template, dest: Path) -> Graded:
    """Copy ``template`` to ``dest`` and grade it as ``adcourse autograde NAME --jobs 1`` does.

    ``record_many`` and ``build_bundle`` of the engine's run module are wrapped, to time the
    client's recording (as ``bench_cluster`` does) and to keep the bundle for its size.
    """
    import autograder.engine.run as run_module

    assignment = template.assignment
    shutil.copytree(template.root, dest)
    course = dest / "course"
    arrivals: list[float] = []
    record_times: list[float] = []
    bundles: list = []
    record_many, build_bundle = run_module.record_many, run_module.build_bundle

    def kept_bundle(*args, **kwargs):
        bundles.append(build_bundle(*args, **kwargs))
        return bundles[-1]

    run_module.record_many, run_module.build_bundle = timed(record_many, record_times), kept_bundle
    start = time.perf_counter()
    try:
        run = autograde(
            course, assignment, jobs=1, on_graded=lambda _: arrivals.append(time.perf_counter() - start)
        )
    finally:
        run_module.record_many, run_module.build_bundle = record_many, build_bundle
    seconds = time.perf_counter() - start
    check(template, run, bundles)
    sent = [len(pickle.dumps(s.files)) for s in find_submissions(course, assignment)]
    back: dict[str, int] = {}
    for path in (course / "autograded").glob(f"*/{assignment}/*.ipynb"):
        back[path.parent.parent.name] = back.get(path.parent.parent.name, 0) + path.stat().st_size
    return Graded(
        assignment,
        Run("local processes", 1, seconds, tuple(arrivals), tuple(record_times)),
        len(pickle.dumps(bundles[0])),
        sum(sent) / len(sent),
        sum(back.values()) / max(1, len(back)),
    )


def check(template: Template, run, bundles: list) -> None:
    """Every submission graded, by one sandboxed worker; the key full marks, every mutant less."""
    name = template.assignment
    if run.ungradable:
        raise BenchmarkMismatch(f"{name}: could not grade {[(s.student, s.status) for s in run.ungradable]}")
    if run.jobs != 1 or len(bundles) != 1 or not isinstance(bundles[0].limits, Limits):
        raise BenchmarkMismatch(f"{name}: expected one worker and one bundle, got {run.jobs}, {len(bundles)}")
    if not bundles[0].limits.sandbox:
        raise BenchmarkMismatch(f"{name}: graded without the bubblewrap sandbox")
    scores = {s.student: (s.score, s.max_score) for s in run.statuses}
    if sorted(scores) != list(template.students):
        raise BenchmarkMismatch(f"{name}: graded {sorted(scores)}, expected {list(template.students)}")
    worst_key = min(scores[s][0] for s in template.keys)
    if any(score != top for score, top in (scores[s] for s in template.keys)) or any(
        scores[s][0] >= worst_key for s in scores if s not in template.keys
    ):
        raise BenchmarkMismatch(f"{name}: the key must score full marks and every mutant less: {scores}")


# ---------------------------------------------------------------- rounds


def measure(
    workdir: Path, submissions: int, mutants: int, rounds: int, names: list[str] | None = None
) -> dict[str, list[Graded]]:
    """Grade every assignment once per round (the order rotated each round); the runs of each."""
    names = list(names or assignment_names(course_root(None)))
    if REFERENCE not in names:
        raise ValueError(f"the reference assignment {REFERENCE} must be measured too, got {names}")
    if submissions < 3:
        raise ValueError(f"the steady state needs at least 3 submissions, got {submissions}")
    templates = {name: template_course(name, workdir, submissions, mutants) for name in names}
    runs: dict[str, list[Graded]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            dest = workdir / f"round{r}" / name
            g = grade_once(templates[name], dest)
            shutil.rmtree(dest)
            runs[name].append(g)
            print(
                f"round {r + 1}/{rounds} {name}: {g.worker_seconds:.2f} worker-s/submission, "
                f"wall {g.run.seconds:.1f} s, load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    return runs


def ratio_to_reference(runs: dict[str, list[Graded]], name: str) -> Rounds:
    """Per round: this assignment's steady worker-s against a2's in the same round."""
    return Rounds(
        slow=name,
        fast=REFERENCE,
        slow_ms=[1e3 * g.worker_seconds for g in runs[name]],
        fast_ms=[1e3 * g.worker_seconds for g in runs[REFERENCE]],
    )


def worker_seconds(runs: dict[str, list[Graded]]) -> dict[str, float]:
    """The median over rounds of each assignment's steady worker-seconds per submission."""
    return {name: statistics.median(g.worker_seconds for g in gs) for name, gs in runs.items()}


# ---------------------------------------------------------------- the recording rates of SCALE.md


def scale_rates(path: Path) -> tuple[dict[str, float], str]:
    """``({gradebook: batched results/s}, date)`` from ``bench_scale.py``'s results file."""
    text = path.read_text(encoding="utf-8")
    date = re.search(r"^\| date \| (.+?) \|$", text, flags=re.MULTILINE)
    lines = [line for line in text.splitlines() if line.startswith("|")]
    rates: dict[str, float] = {}
    header: list[str] | None = None
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if "gradebook" in cells and "batched results/s" in cells:
            header = cells
        elif header and len(cells) == len(header) and not set(line) <= set("|-"):
            rates[cells[header.index("gradebook")]] = float(cells[header.index("batched results/s")])
    if not rates:
        raise ValueError(f"{path}: no table with the columns 'gradebook' and 'batched results/s'")
    return rates, date.group(1) if date else "unknown date"


# ---------------------------------------------------------------- tables


def cost_table(runs: dict[str, list[Graded]], submissions: int, mutants: int) -> Table:
    """Per assignment: steady worker-seconds per submission, its ratio to a2's, and the sizes."""
    ws = worker_seconds(runs)
    rows = []
    for name, gs in runs.items():
        ratio = ratio_to_reference(runs, name)
        rows.append(
            [
                name,
                f"{ws[name]:.2f}",
                " / ".join(f"{g.worker_seconds:.2f}" for g in gs),
                f"{ratio.median_ratio:.2f}x",
                f"{statistics.median(g.run.arrivals[0] for g in gs):.1f}",
                f"{1e3 * statistics.median(g.record_seconds for g in gs):.0f}",
                f"{CLASS_SIZE * ws[name] / 60:.0f}",
                f"{gs[-1].bundle_bytes / 1024:.0f}",
                f"{gs[-1].upload_bytes / 1024:.0f}",
                f"{gs[-1].graded_bytes / 1024:.0f}",
            ]
        )
    rounds = len(runs[REFERENCE])
    return Table(
        f"Steady worker-seconds per submission of every assignment, against {REFERENCE}",
        [
            "assignment",
            "steady worker-s/submission (median)",
            "per round",
            f"vs {REFERENCE} (median of rounds)",
            "first result s",
            "of a gap: client recording ms",
            f"worker-min for {CLASS_SIZE:,} submissions",
            "bundle KiB (once per run)",
            "upload KiB/submission",
            "graded notebooks KiB back",
        ],
        rows,
        notes=[
            f"{submissions} submissions per assignment: the answer key and its first {mutants} mutants "
            "(tests/mutants/NAME.toml), round-robin; graded by autograder.engine.autograde(course, NAME, "
            "jobs=1), as `adcourse autograde NAME --jobs 1`, default limits, every kernel in the "
            "bubblewrap sandbox. Every submission graded; the key scored full marks and every mutant "
            "less, in every run, before any time was reported.",
            f"Steady worker-s/submission: bench_cluster's Run.steady_worker_seconds, the time from the "
            f"first recorded result to the last over the {submissions - 1} gaps between them (one "
            "worker); start-up (the gradebook check, the bundle with the answer key's trusted run, "
            "the first grading) is the 'first result' column, outside it.",
            "With jobs=1 the engine grades in the client's process, so each gap also holds the client's "
            "recording of one result (the 'client recording' column): on a cluster the workers do not "
            "record, so the figure is an upper bound of a worker's time by that much.",
            f"{rounds} round{'s' if rounds != 1 else ''}, every assignment once per round, the order "
            "rotated by one each round; the "
            f"ratio is the median over rounds of (assignment / {REFERENCE}), both from the same round.",
            "Sizes from the last round: the bundle pickled as it goes to a Dask scheduler; the upload "
            "is the pickled submitted files of one task; back, the autograded notebooks of one submission.",
        ],
    )


def sizing_table(runs: dict[str, list[Graded]], rates: dict[str, float], source: str) -> Table:
    """On paper: 2,000 students x every assignment, grading and recording minutes per cluster size."""
    ws = worker_seconds(runs)
    subs = CLASS_SIZE * len(ws)
    total = sum(ws.values())
    record = {db: subs / rate / 60 for db, rate in rates.items()}
    rows = [
        [str(w), f"{CLASS_SIZE * total / w / 60:.1f}", *(f"{minutes:.1f}" for minutes in record.values())]
        for w in WORKERS
    ]
    crossover = {db: total / len(ws) * rate for db, rate in rates.items()}
    return Table(
        f"On paper: {CLASS_SIZE:,} students x {len(ws)} assignments = {subs:,} submissions",
        [
            "cluster workers W (1 core each)",
            "grading minutes (worker-bound)",
            *(f"recording minutes, {db} ({rate:.0f} results/s)" for db, rate in rates.items()),
        ],
        rows,
        notes=[
            f"Grading minutes = sum over the {len(ws)} assignments of {CLASS_SIZE:,} x worker-s / W / 60 "
            f"(worker-s: the median steady figures above, {total:.2f} s for one submission of each).",
            f"Recording minutes = {subs:,} results / rate / 60 whatever W, at the batched writer's "
            f"rates read from {source} (bench_scale.py, 'batched results/s').",
            "Wall time is at least the larger of the two: the workers grade while the client records. "
            "The one writer sets the pace beyond about "
            + ", ".join(f"{w:.0f} workers ({db})" for db, w in crossover.items())
            + " (mean worker-s per submission x rate).",
            "Start-up per assignment (the bundle, the workers' first task) is not included; see the "
            "'first result' column above and CLUSTER.md for a cluster's throughput against the local engine.",
        ],
    )


def main(argv: list[str] | None = None) -> str:
    """Command line: ``[--quick] [--submissions N] [--mutants K] [--rounds R] [--scale FILE]
    [--out FILE]``; returns the text written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 submissions (key + 2 mutants), 1 round: a smoke run"
    )
    parser.add_argument("--submissions", type=int, default=8, help="per assignment (default 8)")
    parser.add_argument("--mutants", type=int, default=5, help="mutants besides the key (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all assignments (default 3)")
    parser.add_argument("--scale", type=Path, default=SCALE_FILE, help="bench_scale.py's results")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "SIZING.md")
    args = parser.parse_args(argv)
    submissions, mutants, rounds = (3, 2, 1) if args.quick else (args.submissions, args.mutants, args.rounds)
    if rounds < 1 or mutants < 1:
        parser.error("--rounds and --mutants must be at least 1")
    rates, scale_date = scale_rates(args.scale)
    source = f"{_shown(args.scale)} ({scale_date})"
    info = machine_info()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-sizing-") as tmp:
        runs = measure(Path(tmp), submissions, mutants, rounds)
    info["load average 1/5/15 min at end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    info["benchmark wall time"] = f"{time.perf_counter() - start:.0f} s"
    tables = [cost_table(runs, submissions, mutants), sizing_table(runs, rates, source)]
    text = write_results(args.out, tables, info, args.quick, METHOD)
    print(text)
    return text


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    main()
