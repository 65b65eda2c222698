"""One timed class-wide task of ``bench_scale.py``, in a process of its own (for its peak memory).

    python benchmarks/_scale_task.py report COURSE ASSIGNMENT OUT
    python benchmarks/_scale_task.py feedback COURSE ASSIGNMENT OUT --jobs N

``report`` is ``adcourse report`` (:func:`autograder.report.build_report`, its files in OUT);
``feedback`` is ``adcourse feedback`` (:func:`autograder.feedback.write_class_feedback` with
``N`` worker processes; OUT unused). Prints one JSON object: ``seconds`` (wall, the task alone,
imports excluded), ``students`` (in the report, or with feedback), ``current`` (of them, whose
feedback was already up to date and left alone), ``failed`` (feedback that failed),
``rss_mib`` (this process's peak resident memory) and ``workers_rss_mib`` (the largest worker
process's, 0 without workers).

Peak memory is the kernel's high-water mark ``VmHWM`` of ``/proc/PID/status``, which a new
program starts afresh (``getrusage``'s ``ru_maxrss`` would carry over the parent's from before
``exec``); the workers' is sampled every 0.2 s while they run.
"""

from __future__ import annotations

import argparse
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
    me, found = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:  # the parent pid
            found.append(int(stat.parent.name))
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
    parser.add_argument("task", choices=["report", "feedback"])
    parser.add_argument("course", type=Path)
    parser.add_argument("assignment")
    parser.add_argument("out", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    from autograder.feedback import write_class_feedback
    from autograder.report import build_report

    workers = WorkerMemory()
    workers.start()
    start = time.perf_counter()
    if args.task == "report":
        report = build_report(args.course, args.assignment, args.out)
        students, failed, current = len(report.students), 0, 0
    else:
        done = write_class_feedback(args.course, args.assignment, jobs=args.jobs)
        students, failed = len(done.written) + len(done.current), len(done.failed)
        current = len(done.current)
    seconds = time.perf_counter() - start
    workers.done.set()
    workers.join()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "students": students,
                "failed": failed,
                "current": current,
                "rss_mib": _peak_mib(),
                "workers_rss_mib": workers.peak,
            }
        )
    )


if __name__ == "__main__":
    main()
