"""Recording at MOOC scale: the batched gradebook writer vs the per-result path it replaced.

Workload: a synthetic class of N graded results of ``a2_forward_mode`` (default 2,000). The
answer key (``generate_solution``) and the typical mistakes of ``tests/mutants/a2_forward_mode.toml``
(``apply_mutant``) are graded once by the engine's worker (``grade_submission``, 2 worker processes,
without the sandbox: the key and the course's own mutants are trusted code, and grading is not what
is measured); their results are replicated round-robin under new student ids ``s0001..``, every
seventh one a day late (``c.LateSubmissionPlugin.penalty_method = "zero"``, the assignment due
2030-01-01).

Contenders, recording into two copies of the same released gradebook and course folder:

* **batched**: ``record_many`` (the engine's writer: one transaction per batch of 50);
* **per result** (the peer): ``record_each``, nbgrader's own ``SaveAutoGrades`` and
  ``AssignLatePenalties`` one result at a time, a gradebook session per step and a commit per
  cell: the engine's writer before batches.

Both record the first ``--peer`` results (default 200) in interleaved rounds of 50 (per result,
then batched, the same 50), so load on the shared machine hits both; the batched writer then
records the rest of the class alone. Before any speed is reported the two gradebooks must hold the
same rows (every grade, comment, submitted notebook and submission of the peer's students, matched
by student and cell): otherwise ``BenchmarkMismatch``. Results/s = results / seconds of recording
(gradebook, autograded notebooks and status files). On SQLite, and on PostgreSQL when its server
binaries are on the machine (a throwaway server, as the tests start: ``tests/helpers/pgserver.py``).

Then the report and the feedback of the whole class, and of the peer's students, each against
stock nbgrader (``_scale_class.py``: ``adcourse report`` vs ``nbgrader export``, ``adcourse
feedback`` vs ``nbgrader generate_feedback``, with the same rows and pages, and the peak memory of
each at both class sizes).

Not part of ``run_all.py``: the full run takes minutes.

    .venv/bin/python benchmarks/bench_scale.py [--quick] [--students 2000] [--peer 200] \\
        [--out benchmarks/SCALE.md]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nbformat
from _report import Table, machine_info, write_results
from _scale_class import (
    ClassTiming,
    class_table,
    time_feedback,
    time_feedback_again,
    time_feedback_cluster,
    time_report,
)

REPO = Path(__file__).resolve().parents[1]
for path in (REPO, REPO / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from autograder.check import scratch_course  # noqa: E402
from autograder.config import cell_timeout, db_url, load_config  # noqa: E402
from autograder.engine.backends import default_jobs, grade  # noqa: E402
from autograder.engine.bundle import build_bundle  # noqa: E402
from autograder.engine.limits import Limits  # noqa: E402
from autograder.engine.results import SubmissionResult  # noqa: E402
from autograder.engine.submission import find_submissions  # noqa: E402
from autograder.engine.writer import record_each, record_many  # noqa: E402
from autograder.mutants import apply_mutant, load_mutants  # noqa: E402
from autograder.nbgrader_cli import run_nbgrader  # noqa: E402
from autograder.paths import course_root  # noqa: E402
from autograder.solutions import generate_solution  # noqa: E402

ASSIGNMENT = "a2_forward_mode"
GOAL = 50.0  # results/s
ROUND = 50  # results per interleaved round, and per record_many batch (the engine's BATCH)
DUE = "2030-01-01 00:00:00"
LATE = "2030-01-02 00:00:00 UTC"

METHOD = (
    "Written by `python benchmarks/bench_scale.py`: the same graded results recorded both ways, "
    "interleaved in rounds of 50, then the class's report and feedback against stock nbgrader "
    "(see the script's docstring)."
)


class BenchmarkMismatch(AssertionError):
    """The two writers left different gradebooks: no speed is reported."""


@dataclass(frozen=True)
class ScaleTiming:
    """Seconds of each writer; ``peer_n`` results recorded by both, ``n`` by the batched one."""

    database: str
    n: int
    peer_n: int
    variants: int
    peer_seconds: float  # per result, the first peer_n
    batched_peer_seconds: float  # batched, the same peer_n results (interleaved)
    batched_seconds: float  # batched, all n
    round_ratios: tuple[float, ...]

    @property
    def batched_rate(self) -> float:
        return self.n / self.batched_seconds

    @property
    def peer_rate(self) -> float:
        return self.peer_n / self.peer_seconds

    @property
    def ratio(self) -> float:
        """The median over rounds of (per-result seconds / batched seconds)."""
        return statistics.median(self.round_ratios)


# ---------------------------------------------------------------- the graded variants, made once


@dataclass(frozen=True)
class PageCost:
    """Seconds of grading the same submissions without and with the worker's feedback pages."""

    submissions: int
    plain_seconds: float
    pages_seconds: float
    pages: int  # submissions the worker made pages for

    @property
    def extra(self) -> float:
        return (self.pages_seconds - self.plain_seconds) / self.submissions


def page_cost(course: Path, bundle: Any) -> PageCost:
    """Grade every submission of ``course`` in this process twice, alternately without and with
    the worker's feedback pages (``autograde --feedback``), and time each."""
    from autograder.engine.backends import grade_one
    from autograder.feedback_state import config_digest

    with_pages = replace(bundle, feedback_config=config_digest(course))
    plain = paged = 0.0
    made = 0
    subs = find_submissions(course, ASSIGNMENT)
    grade_one(with_pages, subs[0])  # warm: the scratch course and nbgrader's exporter, once a process
    for sub in subs:
        t = time.perf_counter()
        grade_one(bundle, sub)
        plain += time.perf_counter() - t
        t = time.perf_counter()
        made += bool(grade_one(with_pages, sub).pages)
        paged += time.perf_counter() - t
    return PageCost(len(subs), plain, paged, made)


def page_table(cost: PageCost) -> Table:
    return Table(
        f"Feedback pages made by the grading worker ({ASSIGNMENT}): grading with pages vs without",
        [
            "submissions",
            "worker-s/submission without pages",
            "with pages",
            "extra worker-s per page",
            "pages made",
            "2,000 pages on 16 / 64 workers, s",
        ],
        [
            [
                str(cost.submissions),
                f"{cost.plain_seconds / cost.submissions:.2f}",
                f"{cost.pages_seconds / cost.submissions:.2f}",
                f"{cost.extra:.2f}",
                str(cost.pages),
                f"{2000 * cost.extra / 16:.0f} / {2000 * cost.extra / 64:.0f}",
            ]
        ],
        notes=[
            "The same submissions graded in one process (no sandbox: the key and the course's mutants), "
            "each first without, then with its page; the peer is grading without pages.",
            "With `adcourse autograde --feedback` (and always in `adcourse watch`) each worker makes the "
            "page right after grading; `adcourse feedback` then finds every page up to date (the table "
            "above: 'feedback, up to date').",
        ],
    )


def graded_variants(workdir: Path, quick: bool) -> tuple[Path, list[SubmissionResult], Any]:
    """A released scratch course (its gradebook not yet written to), the graded results of the
    key and the mutants (the first two in quick mode) and the bundle they were graded with."""
    course = scratch_course(course_root(None), ASSIGNMENT, workdir / "variants")
    with (course / "nbgrader_config.py").open("a", encoding="utf-8") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    from nbgrader.api import Gradebook

    config = load_config(course)
    url = db_url(course, config)
    with Gradebook(url) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=DUE)
    released = workdir / "released.db"
    shutil.copy(course / "gradebook.db", released)

    key = generate_solution(ASSIGNMENT)
    mutants = load_mutants(REPO / "tests" / "mutants" / f"{ASSIGNMENT}.toml")
    variants = [key] + [{**key, m.notebook: apply_mutant(key[m.notebook], m)} for m in mutants]
    if quick:
        variants = variants[:3]
    for i, notebooks in enumerate(variants):
        folder = course / "submitted" / f"v{i:02d}" / ASSIGNMENT
        folder.mkdir(parents=True)
        for filename, nb in notebooks.items():
            nbformat.write(nb, folder / filename)
    limits = Limits(cell_timeout=cell_timeout(course, config=config), sandbox=False)
    bundle = build_bundle(course, ASSIGNMENT, url, limits, config)
    results: list[SubmissionResult] = []
    grade(lambda: [(ASSIGNMENT, bundle)], find_submissions(course, ASSIGNMENT), results.extend, jobs=2)
    results.sort(key=lambda r: r.student)
    bad = [(r.student, r.detail) for r in results if r.status == "error"]  # a mutant may time out
    if bad:
        raise BenchmarkMismatch(f"the variants did not grade: {bad}")
    (course / "gradebook.db").unlink()
    shutil.copy(released, course / "gradebook.db")
    return course, results, bundle


def the_class(variants: list[SubmissionResult], n: int) -> list[SubmissionResult]:
    """``n`` results: the variants round-robin under ids s0001.., every seventh a day late."""
    width = max(4, len(str(n)))
    return [
        replace(
            variants[i % len(variants)], student=f"s{i + 1:0{width}d}", timestamp=LATE if i % 7 == 6 else None
        )
        for i in range(n)
    ]


# ---------------------------------------------------------------- the gradebook rows, compared


def gradebook_rows(url: str, students: set[str]) -> dict[str, dict[Any, tuple[Any, ...]]]:
    """The rows of ``students``' submissions, keyed by student, notebook and cell (not by the ids,
    which each gradebook makes anew)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:

            def rows(sql: str) -> list[Any]:
                return [r for r in conn.execute(text(sql)) if r[0] in students]

            base = "FROM submitted_assignment sa JOIN submitted_notebook sn ON sn.assignment_id = sa.id "
            return {
                "submitted_assignment": {
                    r[0]: tuple(r[1:])
                    for r in rows(
                        "SELECT student_id, assignment_id, timestamp, extension FROM submitted_assignment"
                    )
                },
                "submitted_notebook": {
                    (r[0], r[1]): tuple(r[2:])
                    for r in rows(
                        f"SELECT sa.student_id, sn.notebook_id, sn.flagged, sn.late_submission_penalty {base}"
                    )
                },
                "grade": {
                    (r[0], r[1], r[2]): tuple(r[3:])
                    for r in rows(
                        "SELECT sa.student_id, sn.notebook_id, g.cell_id, g.auto_score, g.manual_score, "
                        f"g.extra_credit, g.needs_manual_grade {base}JOIN grade g ON g.notebook_id = sn.id"
                    )
                },
                "comment": {
                    (r[0], r[1], r[2]): tuple(r[3:])
                    for r in rows(
                        "SELECT sa.student_id, sn.notebook_id, c.cell_id, c.auto_comment, c.manual_comment "
                        f"{base}JOIN comment c ON c.notebook_id = sn.id"
                    )
                },
            }
    finally:
        engine.dispose()


# ---------------------------------------------------------------- timing


def measure(
    database: str, course: Path, results: list[SubmissionResult], peer_n: int, variants: int, url_of
) -> ScaleTiming:
    """Record ``results`` into two fresh copies of ``course`` (gradebook at ``url_of(copy)``)."""
    config = load_config(course)
    copies = {}
    for name in ("peer", "batched"):
        dest = course.parent / f"{database}-{name}"
        shutil.copytree(course, dest, ignore=shutil.ignore_patterns("submitted", "autograded", ".adcourse"))
        copies[name] = (dest, url_of(dest))
    (peer_course, peer_url), (batched_course, batched_url) = copies["peer"], copies["batched"]
    peer_n = min(peer_n, len(results))
    peer_seconds = batched_peer = 0.0
    ratios = []
    for start in range(0, peer_n, ROUND):
        chunk = results[start : min(start + ROUND, peer_n)]
        t = time.perf_counter()
        for r in chunk:
            record_each(peer_course, peer_url, r, config)
        each = time.perf_counter() - t
        t = time.perf_counter()
        record_many(batched_course, batched_url, chunk, config)
        many = time.perf_counter() - t
        peer_seconds, batched_peer = peer_seconds + each, batched_peer + many
        ratios.append(each / many)
    rest = batched_peer
    for start in range(peer_n, len(results), ROUND):
        t = time.perf_counter()
        record_many(batched_course, batched_url, results[start : start + ROUND], config)
        rest += time.perf_counter() - t
    students = {r.student for r in results[:peer_n]}
    want, got = gradebook_rows(peer_url, students), gradebook_rows(batched_url, students)
    if want != got or len(want["submitted_assignment"]) != len(students):
        differ = [(t, k) for t in want for k in {*want[t], *got[t]} if want[t].get(k) != got[t].get(k)]
        raise BenchmarkMismatch(f"{database}: the two writers' gradebooks differ, e.g. at {differ[:5]}")
    if len(gradebook_rows(batched_url, {r.student for r in results})["submitted_assignment"]) != len(results):
        raise BenchmarkMismatch(f"{database}: the batched writer did not record every result")
    return ScaleTiming(
        database, len(results), peer_n, variants, peer_seconds, batched_peer, rest, tuple(ratios)
    )


def measure_classes(course: Path, jobs: int) -> list[ClassTiming]:
    """Report and feedback of the SQLite classes :func:`measure` left: the peer's students, then
    (if it is larger) the whole class."""
    small, big = (course.parent / f"SQLite-{name}" for name in ("peer", "batched"))
    sizes = [small] + ([big] if _students(big) > _students(small) else [])
    timings: list[ClassTiming] = []
    peer_feedback = None
    for folder in sizes:
        work = Path(tempfile.mkdtemp(prefix="class-", dir=course.parent))
        first = len(timings)
        timings.append(time_report(folder, ASSIGNMENT, work))
        timings.append(time_feedback(folder, ASSIGNMENT, work, jobs, peer_feedback))
        peer_feedback = peer_feedback or timings[-1]
        if folder == sizes[-1]:
            timings.append(time_feedback_again(folder, ASSIGNMENT, work, jobs, peer_feedback))
            timings.append(time_feedback_cluster(folder, ASSIGNMENT, work, jobs, peer_feedback))
        for t in timings[first:]:
            print(f"{t.task} of {t.students}: {t.seconds:.1f} s, peak {t.rss_mib:.0f} MiB", flush=True)
    return timings


def _students(course: Path) -> int:
    return sum(1 for p in (course / "autograded").glob(f"*/{ASSIGNMENT}") if p.is_dir())


def postgres_url_maker():
    """A throwaway PostgreSQL server and a maker of databases (a copy of the released gradebook),
    or ``(None, None)`` without PostgreSQL's server binaries."""
    from helpers.pgserver import PgServer, PgServerError, copy_gradebook

    try:
        server = PgServer().start()
    except PgServerError as exc:
        print(f"PostgreSQL skipped: {exc}")
        return None, None

    def url_of(course: Path) -> str:
        url = server.create_database()
        copy_gradebook(f"sqlite:///{course / 'gradebook.db'}", url)
        return url

    return server, url_of


def scale_table(timings: list[ScaleTiming]) -> Table:
    rows = [
        [
            t.database,
            str(t.n),
            f"{t.batched_rate:.0f}",
            str(t.peer_n),
            f"{t.peer_rate:.1f}",
            f"{t.peer_n / t.batched_peer_seconds:.0f}",
            f"{t.ratio:.1f}x",
            f"{12000 / t.batched_rate / 60:.1f}",
        ]
        for t in timings
    ]
    met = all(t.batched_rate >= GOAL for t in timings)
    n_variants = timings[0].variants if timings else 0
    return Table(
        f"Recording graded results of {ASSIGNMENT}: batched record_many vs per-result nbgrader steps",
        [
            "gradebook",
            "results",
            "batched results/s",
            "peer results",
            "per-result results/s (peer)",
            "batched results/s (same results)",
            "speed-up (median of rounds)",
            "minutes to record 12,000",
        ],
        rows,
        goal=f">= {GOAL:.0f} results/s on SQLite and on PostgreSQL",
        met=met,
        notes=[
            f"{n_variants} graded variants (the answer key and mutants of tests/mutants/{ASSIGNMENT}.toml), "
            "replicated round-robin under new student ids; every seventh a day late (penalty 'zero').",
            "Recording = the gradebook rows, the autograded notebook and the status file of each result. "
            f"Both writers recorded the first results in interleaved rounds of {ROUND}, then the batched one "
            "the rest of the class; both gradebooks held the same rows for those students before any "
            "time was reported.",
            "Minutes to record 12,000: a 2,000-student MOOC's six assignments, at the batched rate.",
        ],
    )


def say(t: ScaleTiming) -> None:
    print(f"{t.database}: {t.batched_rate:.0f} results/s batched, {t.peer_rate:.1f} per result", flush=True)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``[--quick] [--students N] [--peer P] [--no-postgres] [--out FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 results, 3 variants: a smoke run")
    parser.add_argument("--students", type=int, default=2000, help="results recorded (default 2000)")
    parser.add_argument(
        "--peer", type=int, default=200, help="of them recorded by the peer too (default 200)"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "SCALE.md")
    args = parser.parse_args(argv)
    n, peer = (60, 60) if args.quick else (args.students, args.peer)
    info = machine_info()
    timings = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        course, variants, bundle = graded_variants(Path(tmp), args.quick)
        cost = page_cost(course, bundle)
        print(f"pages: {cost.extra:.2f} extra worker-s per submission", flush=True)
        results = the_class(variants, n)
        timings.append(
            measure(
                "SQLite", course, results, peer, len(variants), lambda c: f"sqlite:///{c / 'gradebook.db'}"
            )
        )
        say(timings[-1])
        jobs = default_jobs()
        class_timings = measure_classes(course, jobs)
        if not args.no_postgres:
            server, url_of = postgres_url_maker()
            if server is not None:
                try:
                    timings.append(measure("PostgreSQL", course, results, peer, len(variants), url_of))
                    say(timings[-1])
                finally:
                    server.stop()
    tables = [scale_table(timings), class_table(class_timings, ASSIGNMENT, jobs)]
    tables.append(page_table(cost))
    print(write_results(args.out, tables, info, args.quick, METHOD))


if __name__ == "__main__":
    main()
