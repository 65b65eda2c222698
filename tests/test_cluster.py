"""Autograding on a real Dask ``distributed`` cluster: 2 worker processes over TCP on loopback.

The class is the toy class of :mod:`helpers.toycourse` (its docstring works the points out by hand):
the four good students, a student whose kernel dies and one in an endless loop (3 s cell limit).
The cluster's grades must be the hand-worked ones, which are also the sequential engine's and
stock nbgrader's (``test_engine`` shows those two agree). Then a worker process is killed with
SIGKILL while it grades: every submission must still be recorded, exactly once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from helpers import toycourse
from helpers.processes import Lines, stop
from helpers.toycourse import gradebook_points

from autograder.config import cluster_address
from autograder.engine import Limits, autograde
from autograder.engine.cluster import connect
from autograder.paths import CourseError

STUDENTS = (*toycourse.GOOD, "loop", "died")
LIMITS = Limits(cell_timeout=3)


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 single-threaded worker processes, listening on 127.0.0.1 only."""
    from autograder.engine.cluster import local_cluster

    with local_cluster(workers=2, port=0) as lc:
        assert lc.scheduler_address.startswith("tcp://127.0.0.1:")
        yield lc


def _submissions_in_gradebook(course: Path) -> Counter[str]:
    with sqlite3.connect(course / "gradebook.db") as db:
        rows = db.execute("SELECT student_id FROM submitted_assignment").fetchall()
    return Counter(r[0] for r in rows)


def test_the_cluster_grades_like_the_hand_worked_table(cluster, toy: toycourse.Toy, tmp_path: Path) -> None:
    course = toy.copy(tmp_path / "c", STUDENTS)
    run = autograde(course, "toy", limits=LIMITS, cluster=cluster.scheduler_address)
    assert run.cluster == cluster.scheduler_address
    assert run.jobs == 2  # the cluster's workers
    assert gradebook_points(course) == {s: dict(toycourse.EXPECTED[s][0]) for s in STUDENTS}
    assert {s.student: s.status for s in run.statuses} == {s: toycourse.EXPECTED[s][1] for s in STUDENTS}
    assert _submissions_in_gradebook(course) == Counter(STUDENTS)
    # the graded notebooks came back from the workers and were written here, by the client
    for student in STUDENTS:
        assert (course / "autograded" / student / "toy" / "toy.ipynb").is_file()


def test_a_grading_session_sends_each_bundle_once_over_one_connection(
    cluster, toy: toycourse.Toy, tmp_path: Path
) -> None:
    """What ``adcourse watch`` grades with: batch after batch on one connection; the bundle is sent
    again only after :meth:`refresh` rebuilt it; batches are sized by the cluster's workers."""
    from autograder.engine.session import GradingSession

    course = toy.copy(tmp_path / "c", toycourse.GOOD)
    first, rest = toycourse.GOOD[0], list(toycourse.GOOD[1:])
    with GradingSession(course, "toy", limits=LIMITS, cluster=cluster.scheduler_address) as session:
        assert session.workers() == 2
        remote = session._remote
        one = session.grade([first])
        task = remote._bundles["toy"][1]
        two = session.grade(rest[:1])
        assert session._remote is remote and remote._bundles["toy"][1] is task  # sent once
        session.refresh()
        three = session.grade(rest[1:])
        assert session._remote is remote and remote._bundles["toy"][1] is not task  # the new bundle
    assert session._remote is None and remote.client.status == "closed"
    statuses = [*one.statuses, *two.statuses, *three.statuses]
    assert {s.student: s.status for s in statuses} == {s: toycourse.EXPECTED[s][1] for s in toycourse.GOOD}
    assert gradebook_points(course) == {s: dict(toycourse.EXPECTED[s][0]) for s in toycourse.GOOD}
    assert one.jobs == 2 and _submissions_in_gradebook(course) == Counter(toycourse.GOOD)


def test_a_worker_killed_mid_run_loses_and_doubles_nothing(
    cluster, toy: toycourse.Toy, tmp_path: Path
) -> None:
    students = (*toycourse.GOOD, "loop")
    course = toy.copy(tmp_path / "c", students)
    client = connect(cluster.scheduler_address)
    killed: list[int] = []
    recorded: Counter[str] = Counter()

    def kill_a_busy_worker(status) -> None:
        recorded[status.student] += 1
        if killed:
            return
        busy = [
            w for w, tasks in client.processing().items() if any(str(t).startswith("grade-") for t in tasks)
        ]
        if busy:
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    try:
        run = autograde(
            course, "toy", limits=LIMITS, cluster=cluster.scheduler_address, on_graded=kill_a_busy_worker
        )
    finally:
        client.close()
    assert killed, "no worker was busy when the first result came back: nothing was tested"
    assert recorded == Counter(students)  # each recorded once
    assert _submissions_in_gradebook(course) == Counter(students)
    assert gradebook_points(course) == {s: dict(toycourse.EXPECTED[s][0]) for s in students}
    assert {s.student: s.status for s in run.statuses} == {s: toycourse.EXPECTED[s][1] for s in students}
    cluster.wait_for_workers(2)  # the nanny restarts the killed worker, for the next test


def test_an_address_where_no_scheduler_listens_is_a_clear_error(toy: toycourse.Toy, tmp_path: Path) -> None:
    course = toy.copy(tmp_path / "c", ("key",))
    with pytest.raises(CourseError, match=r"no Dask scheduler answered at tcp://127\.0\.0\.1:9"):
        autograde(course, "toy", cluster="tcp://127.0.0.1:9")
    with pytest.raises(CourseError, match="tcp://HOST:PORT"):
        autograde(course, "toy", cluster="127.0.0.1:8786")


def test_the_course_config_can_name_the_cluster(toy: toycourse.Toy, tmp_path: Path) -> None:
    course = toy.copy(tmp_path / "c", ())
    assert cluster_address(course) is None
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write('\nc.AdCourse.cluster = "tcp://10.0.0.7:8786"\n')
    assert cluster_address(course) == "tcp://10.0.0.7:8786"


def test_adcourse_cluster_starts_a_scheduler_that_grades(toy: toycourse.Toy, tmp_path: Path) -> None:
    """``adcourse cluster`` prints its address; ``adcourse autograde --cluster`` grades on it."""
    course = toy.copy(tmp_path / "c", ("key", "wrong"))
    adcourse = [sys.executable, "-m", "autograder.cli"]
    proc = subprocess.Popen(
        [*adcourse, "cluster", "--workers", "1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = Lines(proc.stdout, "adcourse cluster").wait_for(lambda line: "tcp://" in line, timeout=120)
        address = "tcp://" + line.split("tcp://")[1].split()[0]
        done = subprocess.run(
            [*adcourse, "--course", str(course), "autograde", "toy", "--cluster", address],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert f"on the Dask cluster at {address}" in done.stdout
        assert gradebook_points(course) == {s: dict(toycourse.EXPECTED[s][0]) for s in ("key", "wrong")}
    finally:
        stop(proc)  # SIGTERM, SIGKILL after a minute
    assert proc.returncode == 0
