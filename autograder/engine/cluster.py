"""Grading on a Dask ``distributed`` cluster: one task per submission, the client the one writer.

Each task is :func:`~.worker.grade_submission` run on a cluster worker, so a task carries
everything it needs and nothing from a shared filesystem: the assignment's bundle (its gradebook
snapshot, its files and its limits) and that one student's files. The bundle travels to the
scheduler once, as a task of its own that the grading tasks depend on; because it is a task (not
scattered data), the scheduler can recompute it if the worker holding it dies.

A worker that dies mid-task is Dask's business: the scheduler gives the task to another worker
(up to ``distributed.scheduler.allowed-failures`` deaths, then ``KilledWorker``). The client
records each finished task exactly once, in the order tasks finish, so a submission is never
lost nor recorded twice. Workers need the kit installed (``pip install adlib-course-kit``-style:
this repository with ``pip install -e .[course]``) and bubblewrap, like any grading machine.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..paths import CourseError
from .results import SubmissionResult
from .submission import Submission
from .worker import grade_submission

if TYPE_CHECKING:
    from .bundle import AssignmentBundle

#: How long to wait for the scheduler to answer before giving up, in seconds.
CONNECT_TIMEOUT = 20


def _the_bundle(bundle: AssignmentBundle) -> AssignmentBundle:
    """A task whose result is ``bundle``: the bundle reaches workers through the scheduler."""
    return bundle


def connect(address: str):
    """A ``distributed.Client`` for the scheduler at ``address`` (``tcp://HOST:PORT``).

    Raises :class:`~autograder.paths.CourseError` naming the address when nothing answers there.
    """
    from distributed import Client

    if not address or "://" not in address:
        raise CourseError(f"a Dask scheduler address looks like tcp://HOST:PORT, got {address!r}")
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise CourseError(
            f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT} s "
            f"(start one with `adcourse cluster` or `dask scheduler`): {exc}"
        ) from exc


def scheduler_workers(client) -> int:
    """How many workers the client's cluster has, once it has one (at most ``CONNECT_TIMEOUT``
    seconds' wait)."""
    workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    if workers == 0:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
    return workers


class ClusterWorkers:
    """A connection to the scheduler at ``address`` that grades batch after batch (a context
    manager): each bundle is sent once, as a task, and the grading tasks of every batch depend on it.

    ``failed`` turns a task that failed for good (``KilledWorker`` after repeated worker deaths,
    or an error inside grading) into a result that records why.
    """

    def __init__(
        self,
        address: str,
        failed: Callable[[AssignmentBundle, Submission, BaseException], SubmissionResult],
    ) -> None:
        self.address = address
        self.client = connect(address)
        self._failed = failed
        self._bundles: dict[str, tuple[AssignmentBundle, Any]] = {}  # by assignment: the bundle, its task
        try:
            self.workers = scheduler_workers(self.client)
        except BaseException:
            self.client.close()
            raise

    def __enter__(self) -> ClusterWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bundle_task(self, bundle: AssignmentBundle) -> Any:
        """The task holding ``bundle`` (sent now unless this very bundle was sent before)."""
        known = self._bundles.get(bundle.assignment)
        if known and known[0] is bundle:
            return known[1]
        if known:
            known[1].release()
        task = self.client.submit(
            _the_bundle, bundle, key=f"bundle-{bundle.assignment}-{uuid.uuid4().hex[:12]}"
        )
        self._bundles[bundle.assignment] = (bundle, task)
        return task

    def grade(
        self,
        bundles: dict[str, AssignmentBundle],
        submissions: Iterable[Submission],
        finish: Callable[[list[SubmissionResult]], None],
    ) -> None:
        """Grade ``submissions`` against ``bundles`` (by assignment); pass the results to ``finish``
        as they finish (every task finished since the last call)."""
        from distributed import as_completed

        tasks = {name: self._bundle_task(bundle) for name, bundle in bundles.items()}
        run_id = uuid.uuid4().hex[:12]
        subs = {}
        for sub in submissions:
            future = self.client.submit(
                grade_submission,
                tasks[sub.assignment],
                sub.student,
                sub.files,
                sub.timestamp,
                key=f"grade-{sub.assignment}-{sub.student}-{run_id}",
                retries=1,
            )
            subs[future.key] = (future, sub)
        with self.client.as_current():
            for done in as_completed([f for f, _ in subs.values()]).batches():  # all that have finished
                results = []
                for future in done:
                    sub = subs[future.key][1]
                    try:
                        results.append(future.result())
                    except Exception as exc:  # KilledWorker, or grading itself failed twice
                        results.append(self._failed(bundles[sub.assignment], sub, exc))
                finish(results)
                for future in done:
                    future.release()

    def close(self) -> None:
        """Release the bundles' tasks and close the connection."""
        try:
            for _, task in self._bundles.values():
                task.release()
            self._bundles.clear()
        finally:
            self.client.close()


def on_cluster(
    address: str,
    make_bundles: Callable[[], Iterable[tuple[str, AssignmentBundle]]],
    submissions: Iterable[Submission],
    finish: Callable[[list[SubmissionResult]], None],
    failed: Callable[[AssignmentBundle, Submission, BaseException], SubmissionResult],
) -> int:
    """Grade ``submissions`` on the cluster at ``address`` (one :class:`ClusterWorkers`); pass the
    results to ``finish`` as they finish. Returns the number of workers the cluster had when
    grading started."""
    with ClusterWorkers(address, failed) as cluster:
        cluster.grade(dict(make_bundles()), submissions, finish)
        return cluster.workers


def wait_forever(cluster, say: Callable[[str], None] = print) -> None:
    """Keep ``cluster`` running until Ctrl-C or SIGTERM."""
    import signal

    stop = False

    def handler(signum, frame) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handler)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    say("stopping the cluster")


def local_cluster(workers: int, port: int, host: str = "127.0.0.1"):
    """A Dask ``LocalCluster`` for a try-out: ``workers`` single-threaded worker processes.

    Each worker grades one submission at a time (its kernel has its own limits, so Dask's memory
    manager is switched off for the workers: it would count only the worker, not the kernel).
    """
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host=host,
        scheduler_port=port,
        dashboard_address=None,
        memory_limit=0,
    )
