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


def in_pool(make_bundles: MakeBundles, submissions: Sequence[Submission], finish: Finish, jobs: int) -> int:
    """Grade in ``jobs`` worker processes, the results passed to ``finish`` as they come.

    The pool starts (and its workers import nbgrader) while ``make_bundles`` runs here. A pool
    broken by a dying worker is replaced; its unfinished submissions are graded again, once.
    """
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    bundles: dict[str, AssignmentBundle] = {}
    futures: dict[Future[SubmissionResult], Submission] = {}

    def submit(subs: Iterable[Submission]) -> None:
        for s in subs:
            futures[pool.submit(grade_submission, bundles[s.assignment], s.student, s.files, s.timestamp)] = s

    try:
        warming = [pool.submit(warm_up) for _ in range(jobs)]
        for name, bundle in make_bundles():  # grading starts with the first bundle ready
            bundles[name] = bundle
            submit(s for s in submissions if s.assignment == name)
        for future in warming:  # a worker that cannot even import shows here
            future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    attempts: dict[tuple[str, str], int] = {}
    while futures:
        retry: list[Submission] = []
        with pool:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                results = []
                for future in sorted(done, key=lambda f: (futures[f].assignment, futures[f].student)):
                    sub = futures.pop(future)
                    try:
                        results.append(future.result())
                    except BrokenProcessPool as exc:
                        key = (sub.assignment, sub.student)
                        attempts[key] = attempts.get(key, 0) + 1
                        if attempts[key] < 2:
                            retry.append(sub)
                            continue
                        results.append(failed(bundles[sub.assignment], sub, exc))
                    except Exception as exc:
                        results.append(failed(bundles[sub.assignment], sub, exc))
                if results:
                    finish(results)
        if retry:  # a dying worker broke the pool: a new one grades the rest, once more
            futures.clear()
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
            submit(retry)
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
