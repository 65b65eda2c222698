"""Where submissions are graded: in this process, in a pool of worker processes, or on a Dask
cluster. Three small backends behind one call, :func:`grade`.

Every backend grades each submission with :func:`~.worker.grade_submission` against its
assignment's bundle, and hands the results to ``finish`` (the one gradebook writer, in this
process) as they arrive: each time, every result that has arrived since the last call (so the
writer records in batches while the workers grade on, and one at a time when results trickle
in). A submission whose grading itself fails (the worker process died twice, a cluster task was
lost for good) is handed on as a failed result with the reason: the rest of the class is graded
regardless.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from .results import SubmissionResult
from .submission import Submission, failed_result
from .worker import grade_submission

if TYPE_CHECKING:
    from .bundle import AssignmentBundle

#: Records a batch of results (those that have arrived), in this process.
Finish = Callable[[list[SubmissionResult]], None]
#: Builds the bundles: ``(assignment, bundle)`` pairs, each as soon as it is ready (called once,
#: while the workers start; grading of an assignment starts when its bundle arrives).
MakeBundles = Callable[[], Iterable[tuple[str, "AssignmentBundle"]]]


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def failed(bundle: AssignmentBundle, sub: Submission, exc: BaseException) -> SubmissionResult:
    """The result of a submission whose grading failed, with the reason."""
    return failed_result(bundle.assignment, bundle.notebooks, sub, exc)


def grade_one(bundle: AssignmentBundle, sub: Submission) -> SubmissionResult:
    """Grade one submission here; a failure of grading itself becomes a failed result."""
    try:
        return grade_submission(bundle, sub.student, sub.files, sub.timestamp)
    except Exception as exc:
        return failed(bundle, sub, exc)


def serially(make_bundles: MakeBundles, submissions: Sequence[Submission], finish: Finish) -> int:
    """Grade in this process, one submission after the other."""
    for name, bundle in make_bundles():
        for sub in submissions:
            if sub.assignment == name:
                finish([grade_one(bundle, sub)])
    return 1


def warm_up() -> None:
    """Import what grading needs, so that a new worker process is ready when its first task comes."""
    import nbclient  # noqa: F401
    import nbgrader.api
    import nbgrader.preprocessors  # noqa: F401

    from . import worker  # noqa: F401


class WorkerPool:
    """``jobs`` spawned worker processes that grade submission after submission, batch after batch.

    :meth:`submit` hands submissions to the workers (they start grading at once), :meth:`collect`
    passes their results to ``finish`` as they come. A pool broken by a dying worker is replaced;
    the submissions it had not finished are graded again, once. The workers import nbgrader while
    the first bundle is built; :meth:`close` ends them.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._context = multiprocessing.get_context("spawn")
        self._pool = self._new_pool()
        self._warming = [self._pool.submit(warm_up) for _ in range(jobs)]
        self._bundles: dict[str, AssignmentBundle] = {}
        self._futures: dict[Future[SubmissionResult], Submission] = {}

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=self._context)

    def submit(self, bundle: AssignmentBundle, subs: Iterable[Submission]) -> None:
        """Grade ``subs`` (of ``bundle``'s assignment) on the workers."""
        self._bundles[bundle.assignment] = bundle
        for s in subs:
            future = self._pool.submit(grade_submission, bundle, s.student, s.files, s.timestamp)
            self._futures[future] = s

    def ready(self) -> None:
        """Wait until every worker has imported what grading needs (a worker that cannot shows here)."""
        for future in self._warming:
            future.result()
        self._warming = []

    def collect(self, finish: Finish) -> None:
        """Pass every submitted submission's result to ``finish``, all that have arrived each time."""
        attempts: dict[tuple[str, str], int] = {}
        while self._futures:
            retry: list[Submission] = []
            pending = set(self._futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                results = []
                for future in sorted(
                    done, key=lambda f: (self._futures[f].assignment, self._futures[f].student)
                ):
                    sub = self._futures.pop(future)
                    bundle = self._bundles[sub.assignment]
                    try:
                        results.append(future.result())
                    except BrokenProcessPool as exc:
                        key = (sub.assignment, sub.student)
                        attempts[key] = attempts.get(key, 0) + 1
                        if attempts[key] < 2:
                            retry.append(sub)
                            continue
                        results.append(failed(bundle, sub, exc))
                    except Exception as exc:
                        results.append(failed(bundle, sub, exc))
                if results:
                    finish(results)
            if retry:  # a dying worker broke the pool: a new one grades the rest, once more
                self._pool.shutdown(wait=True)
                self._pool = self._new_pool()
                for sub in retry:
                    self.submit(self._bundles[sub.assignment], [sub])

    def close(self, wait: bool = True) -> None:
        """End the workers (queued submissions are dropped; with ``wait``, after their current one)."""
        self._futures.clear()
        self._pool.shutdown(wait=wait, cancel_futures=True)


def in_pool(make_bundles: MakeBundles, submissions: Sequence[Submission], finish: Finish, jobs: int) -> int:
    """Grade in ``jobs`` worker processes (a :class:`WorkerPool`), the results passed to ``finish``
    as they come.

    The pool starts (and its workers import nbgrader) while ``make_bundles`` runs here.
    """
    pool = WorkerPool(jobs)
    try:
        for name, bundle in make_bundles():  # grading starts with the first bundle ready
            pool.submit(bundle, (s for s in submissions if s.assignment == name))
        pool.ready()
    except BaseException:
        pool.close(wait=False)
        raise
    try:
        pool.collect(finish)
    finally:
        pool.close()
    return jobs


def grade(
    make_bundles: MakeBundles,
    submissions: Sequence[Submission],
    finish: Finish,
    *,
    jobs: int = 1,
    cluster: str | None = None,
) -> int:
    """Grade ``submissions`` (of one or more assignments) on the backend asked for: the Dask
    cluster at ``cluster``, else ``jobs`` worker processes (1: this process). Returns the number
    of workers that graded."""
    if cluster:
        from .cluster import on_cluster

        return on_cluster(cluster, make_bundles, submissions, finish, failed)
    if jobs <= 1:
        return serially(make_bundles, submissions, finish)
    return in_pool(make_bundles, submissions, finish, jobs)
