"""``bench_scale.py``'s second half: the report and the feedback of a whole class, vs stock nbgrader.

For each class size (the peer's students, then the whole class) on the SQLite gradebooks the
writers filled:

* **report**: ``adcourse report`` (``build_report``: grades.csv, report.md, histogram.png) vs the
  peer ``nbgrader export`` (stock nbgrader's CSV of the same gradebook: the part of a report stock
  nbgrader has). The two CSVs must hold the same rows, or no time is reported.
* **feedback**: ``adcourse feedback --jobs N`` (every core) vs the peer stock ``nbgrader
  generate_feedback NAME --force`` (the whole class in one process) on a copy of the smaller class
  only (the peer needs minutes for the larger one; its per-student rate is used there). Every page
  must be byte for byte the peer's, or no time is reported.

Each of ours runs in a process of its own (``_scale_task.py``) so that its peak resident memory
is its own; memory is flat in the class size when the larger class's peak stays within
``RSS_SLACK`` of the smaller's.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _report import Table

from autograder.nbgrader_cli import run_nbgrader

GOAL_SECONDS = 60.0  # for 2,000 students, each task
RSS_SLACK = 1.25  # the larger class's peak memory / the smaller's, at most
TASK = Path(__file__).with_name("_scale_task.py")


class ClassMismatch(AssertionError):
    """Ours and stock nbgrader disagree (grades or pages): no time is reported."""


@dataclass(frozen=True)
class ClassTiming:
    """One task on one class: ours, and the peer's seconds for ``peer_students`` of the same kind."""

    task: str
    students: int
    jobs: int
    seconds: float
    rss_mib: float
    workers_rss_mib: float
    peer: str
    peer_students: int
    peer_seconds: float
    peer_measured_here: bool  # False: the peer's rate comes from the smaller class
    client_cpu: float = 0.0  # CPU seconds of our task's own process

    @property
    def ratio(self) -> float:
        """Peer seconds per student / ours."""
        return (self.peer_seconds / self.peer_students) / (self.seconds / self.students)


def run_task(task: str, course: Path, assignment: str, out: Path, jobs: int = 1) -> dict:
    """Run ``_scale_task.py`` in a new Python; its JSON answer (ClassMismatch if anything failed)."""
    cmd = [sys.executable, str(TASK), task, str(course), assignment, str(out), "--jobs", str(jobs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ClassMismatch(f"{task} on {course} failed:\n{proc.stderr[-3000:]}")
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    if answer["failed"]:
        raise ClassMismatch(f"{task} on {course}: {answer['failed']} student(s) failed")
    return answer


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return sorted(csv.DictReader(fh), key=lambda row: (row["assignment"], row["student_id"]))


def _page_digests(course: Path) -> dict[str, str]:
    root = course / "feedback"
    pages = sorted(root.rglob("*.html"))
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in pages}


def time_report(course: Path, assignment: str, workdir: Path) -> ClassTiming:
    """``adcourse report`` and ``nbgrader export`` on ``course``; the same rows, or ClassMismatch."""
    ours = run_task("report", course, assignment, workdir / "report")
    stock_csv = workdir / "stock-grades.csv"
    start = time.perf_counter()
    run_nbgrader(course, "export", "--to", str(stock_csv))
    peer = time.perf_counter() - start
    if _csv_rows(workdir / "report" / "grades.csv") != _csv_rows(stock_csv):
        raise ClassMismatch(f"{course}: grades.csv differs from nbgrader export's")
    n = ours["students"]
    return ClassTiming(
        "report", n, 1, ours["seconds"], ours["rss_mib"], 0.0, "nbgrader export", n, peer, True
    )


def time_feedback(
    course: Path, assignment: str, workdir: Path, jobs: int, peer: ClassTiming | None
) -> ClassTiming:
    """``adcourse feedback --jobs`` on ``course``; with ``peer=None`` also stock nbgrader on a copy
    of it (every page byte for byte the same, or ClassMismatch), else ``peer``'s rate."""
    ours = run_task("feedback", course, assignment, workdir / "unused", jobs)
    n = ours["students"]
    if peer is None:
        copy = workdir / "stock-feedback"
        shutil.copytree(course, copy, ignore=shutil.ignore_patterns("feedback"))
        start = time.perf_counter()
        run_nbgrader(copy, "generate_feedback", assignment, "--force")
        seconds = time.perf_counter() - start
        mine, stock = _page_digests(course), _page_digests(copy)
        if mine != stock or len(mine) != n:
            differ = sorted(k for k in {*mine, *stock} if mine.get(k) != stock.get(k))
            raise ClassMismatch(f"{course}: {len(differ)} page(s) differ from stock, e.g. {differ[:3]}")
        shutil.rmtree(copy)
        peer_students, measured = n, True
    else:
        seconds, peer_students, measured = peer.peer_seconds, peer.peer_students, False
    return ClassTiming(
        "feedback",
        n,
        jobs,
        ours["seconds"],
        ours["rss_mib"],
        ours["workers_rss_mib"],
        "nbgrader generate_feedback --force",
        peer_students,
        seconds,
        measured,
    )


def time_feedback_again(
    course: Path, assignment: str, workdir: Path, jobs: int, peer: ClassTiming
) -> ClassTiming:
    """``adcourse feedback`` once more on ``course``, every page already up to date (left alone)."""
    ours = run_task("feedback", course, assignment, workdir / "unused", jobs)
    if ours["current"] != ours["students"]:
        raise ClassMismatch(f"{course}: {ours['students'] - ours['current']} page(s) written again")
    return _against_peer("feedback, up to date", ours, 1, peer)


def _against_peer(task: str, ours: dict, processes: int, peer: ClassTiming) -> ClassTiming:
    """Our ``task``'s answer (:func:`run_task`), judged against ``peer``'s rate."""
    return ClassTiming(
        task,
        ours["students"],
        processes,
        ours["seconds"],
        ours["rss_mib"],
        ours["workers_rss_mib"],
        peer.peer,
        peer.peer_students,
        peer.peer_seconds,
        False,
        ours["client_cpu"],
    )


def time_feedback_cluster(
    course: Path, assignment: str, workdir: Path, workers: int, peer: ClassTiming
) -> ClassTiming:
    """``adcourse feedback --force --cluster`` on ``course`` (every page already written by
    :func:`time_feedback`), on a LocalCluster of ``workers``: every page made by a worker, and
    byte for byte the page there was (ClassMismatch otherwise)."""
    before = _page_digests(course)
    ours = run_task("feedback-cluster", course, assignment, workdir / "unused", workers)
    if ours["by_workers"] != ours["students"] or _page_digests(course) != before:
        raise ClassMismatch(
            f"{course}: {ours['students'] - ours['by_workers']} page(s) not made by the cluster's "
            "workers, or pages differ from the ones made here"
        )
    return _against_peer("feedback, on a cluster", ours, workers, peer)


def class_table(timings: list[ClassTiming], assignment: str, cores: int) -> Table:
    """The table of every task and class size, judged against the 2,000-student goals."""
    rows = []
    for t in timings:
        peer_rate = f"{t.peer_students / t.peer_seconds:.1f}" + ("" if t.peer_measured_here else " *")
        workers = f" (+ {t.workers_rss_mib:.0f} per worker)" if t.workers_rss_mib else ""
        rows.append(
            [
                t.task,
                str(t.students),
                str(t.jobs),
                f"{t.seconds:.1f}",
                f"{t.students / t.seconds:.1f}",
                f"{t.rss_mib:.0f}{workers}",
                t.peer,
                peer_rate,
                f"{t.ratio:.1f}x",
            ]
        )
    met = True
    notes = []
    for task in ("report", "feedback"):
        mine = sorted((t for t in timings if t.task == task), key=lambda t: t.students)
        if not mine:
            continue
        big = mine[-1]
        at_2000 = big.seconds * 2000 / big.students
        flat = len(mine) < 2 or big.rss_mib <= RSS_SLACK * mine[0].rss_mib
        met = met and at_2000 <= GOAL_SECONDS and flat
        notes.append(
            f"{task}: {at_2000:.0f} s for 2,000 students at the rate measured for {big.students}; "
            + (
                f"peak memory {mine[0].rss_mib:.0f} MiB for {mine[0].students} and {big.rss_mib:.0f} MiB "
                f"for {big.students} students ({'flat' if flat else 'NOT flat'})."
                if len(mine) > 1
                else "one class size only (quick run)."
            )
        )
    feedback = [t for t in timings if t.task == "feedback"]
    if feedback:
        big = max(feedback, key=lambda t: t.students)
        core_seconds = big.seconds * big.jobs / big.students
        notes.append(
            f"feedback costs {core_seconds:.2f} core-seconds a page here (nbconvert's HTML rendering and "
            f"its BeautifulSoup pass, in stock nbgrader's exporter); 2,000 pages in 60 s take about "
            f"{2000 * core_seconds / GOAL_SECONDS:.0f} cores (this machine: {cores})."
        )
    for t in (t for t in timings if t.task == "feedback, on a cluster"):
        worker_seconds, client = t.seconds * t.jobs / t.students, t.client_cpu / t.students
        notes.append(
            f"feedback, on a cluster (`adcourse feedback --cluster`, a Dask LocalCluster of {t.jobs} "
            f"workers on this machine, every page remade): {worker_seconds:.2f} worker-seconds a page, "
            f"so 2,000 pages in 60 s take about {2000 * worker_seconds / GOAL_SECONDS:.0f} workers; the "
            f"client's own CPU is {client * 1000:.0f} ms a page (the LocalCluster's scheduler included), "
            f"{1 / client:.0f} pages/s on one client core."
        )
    notes += [
        "report peer: `nbgrader export` writes only the CSV; its rows equal those of the report's "
        "grades.csv. feedback peer: stock `nbgrader generate_feedback NAME --force` over the class in "
        "one process; every page of ours is byte for byte the same as its page.",
        "* the peer's rate measured on the smaller class (it needs minutes for the larger one).",
        "feedback, up to date: `adcourse feedback` again on the larger class, every page made from "
        "exactly its current inputs (the autograded files, the student's gradebook entries, the "
        "settings), so none is written: the case of a class fed back as it was graded (adcourse watch).",
        "Peak memory: the task's own process (a new Python); feedback's worker processes each "
        "hold one student at a time.",
    ]
    return Table(
        f"Report and feedback of a class of {assignment} (SQLite): adcourse vs stock nbgrader",
        [
            "task",
            "students",
            "processes",
            "seconds",
            "students/s",
            "peak RSS MiB",
            "peer",
            "peer students/s",
            "speed-up vs peer",
        ],
        rows,
        goal=f"each <= {GOAL_SECONDS:.0f} s for 2,000 students, memory flat in the class size",
        met=met,
        notes=notes,
    )
