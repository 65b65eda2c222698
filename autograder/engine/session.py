"""One assignment graded batch after batch with one bundle and one set of workers: how ``adcourse
watch`` grades.

:func:`~.run.autograde` reads the course config, builds the assignment's bundle (its gradebook
snapshot and the answer key's oracle) and starts its worker processes for each call: right for
one class, but a watcher grading a few submissions at a time would pay for all of it again with
every batch. A :class:`GradingSession` does that once (the bundle again after :meth:`refresh`,
which the watcher calls each round, so that a changed assignment or config is picked up) and
records each batch exactly as ``autograde`` does (:func:`~.run.recorder`: the same writer, the
same feedback pages, the same statuses).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from ..config import cell_timeout, cluster_address, db_url, load_config
from ..gradebook import check_gradebook
from ..nbgrader_cli import ensure_scripts_on_path
from ..paths import CourseError, assignment_dir
from .backends import WorkerPool, default_jobs, failed, serially
from .bundle import AssignmentBundle, build_bundle
from .cluster import ClusterWorkers
from .limits import Limits
from .run import AutogradeRun, Progress, ensure_in_gradebook, page_keeper, recorder
from .submission import find_submissions


@dataclass(frozen=True)
class _Setup:
    """What a session reads and builds once per :meth:`GradingSession.refresh`."""

    config: Any
    url: str
    cluster: str | None
    bundle: AssignmentBundle
    pages: Any  # a PageKeeper, or None without feedback


class GradingSession:
    """Grades batches of ``assignment``'s submissions, one after the other (a context manager).

    ``jobs`` worker processes (default: all cores; 1: this process) stay up from the first batch
    to :meth:`close`; with a Dask cluster (``cluster``, default the course config's
    ``c.AdCourse.cluster``) one connection serves every batch, each bundle sent to it once.
    ``limits`` and ``feedback`` are :func:`~.run.autograde`'s.
    """

    def __init__(
        self,
        course: Path,
        assignment: str,
        *,
        jobs: int | None = None,
        limits: Limits | None = None,
        cluster: str | None = None,
        feedback: bool = False,
    ) -> None:
        assignment_dir(course, assignment)
        self.course = course
        self.assignment = assignment
        self.jobs = jobs or default_jobs()
        self.limits = limits
        self.feedback = feedback
        self._cluster = cluster
        self._setup: _Setup | None = None
        self._pool: WorkerPool | None = None
        self._remote: ClusterWorkers | None = None
        self._run: AutogradeRun | None = None  # the batch being graded

    def __enter__(self) -> GradingSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(wait=not isinstance(exc, KeyboardInterrupt))

    def refresh(self) -> None:
        """Read the course config and build the bundle again before the next batch."""
        self._setup = None

    def close(self, wait: bool = True) -> None:
        """End the worker processes (with ``wait``, once their current submission is done)."""
        pool, self._pool = self._pool, None
        remote, self._remote = self._remote, None
        try:
            if pool is not None:
                pool.close(wait=wait)
        finally:
            if remote is not None:
                remote.close()

    def _ready(self) -> _Setup:
        """The config, gradebook URL, cluster and bundle; read and built if not yet (the workers
        start first, so they import while the bundle is built)."""
        if self._setup is not None:
            return self._setup
        ensure_scripts_on_path()
        course, assignment = self.course, self.assignment
        config = load_config(course)
        url = db_url(course, config)
        check_gradebook(url)
        cluster = self._cluster or cluster_address(course, config)
        self._workers(cluster)
        ensure_in_gradebook(course, assignment, url)
        limits = self.limits or Limits(cell_timeout=cell_timeout(course, config=config))
        bundle = build_bundle(course, assignment, url, limits, config)
        if self.feedback:
            from ..feedback_state import config_digest

            bundle = replace(bundle, feedback_config=config_digest(course))
        pages = page_keeper(course) if self.feedback else None
        self._setup = _Setup(config, url, cluster, bundle, pages)
        return self._setup

    def page_kept(self, student: str) -> bool:
        """Whether, in the batch being graded, ``student``'s feedback pages were made by the worker
        and kept (:class:`~autograder.feedback.PageKeeper`: they are up to date): for ``on_graded``."""
        return self._run is not None and student in self._run.fed_back

    def workers(self) -> int:
        """How many submissions are graded at once: the cluster's workers (connecting to it if
        need be), else ``jobs``."""
        cluster = self._cluster or cluster_address(self.course, load_config(self.course))
        return self._cluster_workers(cluster).workers if cluster else self.jobs

    def _cluster_workers(self, address: str) -> ClusterWorkers:
        """The connection to the cluster at ``address`` (made if there is none, or to another address)."""
        if self._remote is not None and self._remote.address != address:
            remote, self._remote = self._remote, None
            remote.close()
        if self._remote is None:
            self._remote = ClusterWorkers(address, failed)
        return self._remote

    def _workers(self, cluster: str | None) -> WorkerPool | None:
        """The local worker processes (started if they are not running), or None: on a cluster,
        or in this process (``jobs`` 1)."""
        if cluster or self.jobs <= 1:
            return None
        if self._pool is None:
            self._pool = WorkerPool(self.jobs)
        return self._pool

    def grade(self, students: Iterable[str], on_graded: Progress | None = None) -> AutogradeRun:
        """Grade ``students``' submissions and record them as :func:`~.run.autograde` does:
        ``on_graded`` hears of each status once its grade (and, with feedback, its page) is written."""
        start = time.perf_counter()
        setup = self._ready()
        submissions = find_submissions(self.course, self.assignment, students)
        if not submissions:
            raise CourseError(f"no submissions of {self.assignment} in {self.course / 'submitted'}")
        run = self._run = AutogradeRun(self.assignment, cluster=setup.cluster)
        fingerprints = {(s.assignment, s.student): s.fingerprint for s in submissions}
        finish = recorder(
            self.course, setup.url, setup.config, fingerprints, {self.assignment: run}, setup.pages, on_graded
        )
        bundles = [(self.assignment, setup.bundle)]
        if setup.cluster:
            remote = self._cluster_workers(setup.cluster)
            try:
                remote.grade(dict(bundles), submissions, finish)
            except BaseException:  # its tasks would be collected by the next batch: a new connection
                self._remote = None
                remote.close()
                raise
            run.jobs = remote.workers
        elif (pool := self._workers(None)) is None:
            run.jobs = serially(lambda: bundles, submissions, finish)
        else:
            try:
                pool.submit(setup.bundle, submissions)
                pool.ready()
                pool.collect(finish)
            except BaseException as exc:  # its futures would be collected by the next batch: a new pool
                self._pool = None
                pool.close(wait=not isinstance(exc, KeyboardInterrupt))
                raise
            run.jobs = pool.jobs
        run.statuses.sort(key=lambda s: s.student)
        run.seconds = time.perf_counter() - start
        return run
