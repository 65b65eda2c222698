"""One timed class-wide task of ``bench_scale.py``, in a process of its own (for its peak memory).

    python benchmarks/_scale_task.py report COURSE ASSIGNMENT OUT
    python benchmarks/_scale_task.py feedback COURSE ASSIGNMENT OUT --jobs N
    python benchmarks/_scale_task.py feedback-cluster COURSE ASSIGNMENT OUT --jobs N

``report`` is ``adcourse report`` (:func:`autograder.report.build_report`, its files in OUT);
``feedback`` is ``adcourse feedback`` (:func:`autograder.class_feedback.write_class_feedback` with
``N`` worker processes; OUT unused); ``feedback-cluster`` is ``adcourse feedback --force
--cluster`` on a Dask LocalCluster of ``N`` workers started first (not timed). Prints one JSON
object: ``seconds`` (wall, the task alone, imports excluded), ``students`` (in the report, or with
feedback), ``current`` (of them, whose feedback was already up to date and left alone),
``failed`` (feedback that failed), ``by_workers`` (pages a cluster's workers made),
``client_cpu`` (this process's CPU seconds in the task: with a LocalCluster, its scheduler's too),
``rss_mib`` (this process's peak resident memory) and ``workers_rss_mib`` (the largest worker
process's, 0 without workers).

Peak memory is the kernel's high-water mark ``VmHWM`` of ``/proc/PID/status``, which a new
program starts afresh (``getrusage``'s ``ru_maxrss`` would carry over the parent's from before
``exec``); the workers' is sampled every 0.2 s while they run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _peak_mib(pid: int | str = "self") -> float:
    """The high-water mark of ``pid``'s resident memory in MiB (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kib = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), "0")
    return int(kib) / 1024


def _children() -> list[int]:
    """Every process descended from this one (a LocalCluster's workers are its nannies' children)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found, frontier = [], {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier}
        found.extend(frontier)
    return found


class WorkerMemory(threading.Thread):
    """Samples the peak memory of this process's children until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            for pid in _children():
                self.peak = max(self.peak, _peak_mib(pid))


def main(argv: list[str] | None = None) -> None:
    """Command line: ``TASK COURSE ASSIGNMENT OUT [--jobs N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["report", "feedback", "feedback-cluster"])
    parser.add_argument("course", type=Path)
    parser.add_argument("assignment")
    parser.add_argument("out", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    from autograder.class_feedback import write_class_feedback
    from autograder.report import build_report

    workers = WorkerMemory()
    workers.start()
    with contextlib.ExitStack() as stack:
        cluster = None
        if args.task == "feedback-cluster":
            from autograder.engine.cluster import local_cluster

            cluster = stack.enter_context(local_cluster(args.jobs, 0)).scheduler_address
        start, cpu = time.perf_counter(), time.process_time()
        by_workers = 0
        if args.task == "report":
            report = build_report(args.course, args.assignment, args.out)
            students, failed, current = len(report.students), 0, 0
        else:
            done = write_class_feedback(
                args.course, args.assignment, jobs=args.jobs, cluster=cluster, force=cluster is not None
            )
            students, failed = len(done.written) + len(done.current), len(done.failed)
            current, by_workers = len(done.current), len(done.by_workers)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    workers.done.set()
    workers.join()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "students": students,
                "failed": failed,
                "current": current,
                "by_workers": by_workers,
                "client_cpu": cpu,
                "rss_mib": _peak_mib(),
                "workers_rss_mib": workers.peak,
            }
        )
    )


if __name__ == "__main__":
    main()
