"""``autograde``: every submission of an assignment, graded in parallel, recorded by one writer."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config import cell_timeout, cluster_address, db_url, load_config
from ..gradebook import check_gradebook
from ..nbgrader_cli import ensure_scripts_on_path, run_nbgrader
from ..paths import CourseError, assignment_dir
from .bundle import AssignmentBundle, Limits, build_bundle
from .fingerprint import fingerprint_of_bytes, read_timestamp, submission_files
from .status import SubmissionStatus
from .worker import SubmissionResult, grade_submission
from .writer import record


@dataclass(frozen=True)
class Submission:
    """One student's submitted folder, read into memory, with its fingerprint."""

    student: str
    files: dict[str, bytes]
    timestamp: str | None
    fingerprint: str = ""


@dataclass
class AutogradeRun:
    """What one ``autograde`` call did."""

    assignment: str
    statuses: list[SubmissionStatus] = field(default_factory=list)
    seconds: float = 0.0
    jobs: int = 1
    cluster: str | None = None

    @property
    def ungradable(self) -> list[SubmissionStatus]:
        """Submissions that did not run to the end, with their reasons."""
        return [s for s in self.statuses if s.status != "graded"]


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def find_submissions(
    course: Path, assignment: str, students: Iterable[str] | None = None
) -> list[Submission]:
    """Every ``submitted/<student>/<assignment>/`` folder (or the named students'), read into memory."""
    wanted = set(students) if students is not None else None
    found = []
    for folder in sorted((course / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        if wanted is not None and student not in wanted:
            continue
        listing, stamp = submission_files(folder)
        files = {rel: path.read_bytes() for rel, path in listing}
        timestamp = read_timestamp(stamp)
        found.append(Submission(student, files, timestamp, fingerprint_of_bytes(timestamp, files)))
    if wanted is not None and (missing := wanted - {s.student for s in found}):
        raise CourseError(f"no submission of {assignment} from {', '.join(sorted(missing))}")
    return found


def ensure_in_gradebook(course: Path, assignment: str, url: str) -> None:
    """Record the assignment in the course gradebook (nbgrader generate_assignment) if it is not there."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    run_nbgrader(course, "generate_assignment", assignment, "--force")


def _failed(bundle: AssignmentBundle, sub: Submission, exc: BaseException) -> SubmissionResult:
    from .worker import NotebookResult

    detail = f"the grading worker failed ({type(exc).__name__}: {str(exc)[:200]})"
    notebooks = tuple(NotebookResult(name, None, {}, "error", detail) for name in bundle.notebooks)
    return SubmissionResult(sub.student, bundle.assignment, notebooks, {}, sub.timestamp)


Progress = Callable[[SubmissionStatus], None]


def autograde(
    course: Path,
    assignment: str,
    *,
    jobs: int | None = None,
    students: Iterable[str] | None = None,
    limits: Limits | None = None,
    on_graded: Progress | None = None,
    cluster: str | None = None,
) -> AutogradeRun:
    """Grade every submission of ``assignment`` with ``jobs`` worker processes (default: all cores),
    or on the Dask cluster whose scheduler is at ``cluster`` (default: the course config's
    ``c.AdCourse.cluster``; ``jobs`` is then the cluster's worker count, for the record).

    Workers grade; this process alone writes the gradebook, as each result arrives. A worker
    process that dies is replaced and its submission graded again; a submission that fails twice
    is recorded as ungradable with the reason, and the rest of the class is graded regardless.
    """
    start = time.perf_counter()
    ensure_scripts_on_path()
    assignment_dir(course, assignment)
    config = load_config(course)  # read once: for the gradebook URL, the limits, the bundle, the writer
    url = db_url(course, config)
    check_gradebook(url)  # one clear sentence, before any grading, if the gradebook cannot be opened
    submissions = find_submissions(course, assignment, students)
    if not submissions:
        raise CourseError(f"no submissions of {assignment} in {course / 'submitted'}")
    jobs = max(1, min(jobs or default_jobs(), len(submissions)))
    run = AutogradeRun(assignment, jobs=jobs)

    fingerprints = {s.student: s.fingerprint for s in submissions}

    def finish(result: SubmissionResult) -> None:
        result = replace(result, fingerprint=fingerprints[result.student])  # which files this grade is of
        status = record(course, url, result, config)
        run.statuses.append(status)
        if on_graded:
            on_graded(status)

    def bundle() -> AssignmentBundle:
        ensure_in_gradebook(course, assignment, url)
        limits_ = limits or Limits(cell_timeout=cell_timeout(course, config=config))
        return build_bundle(course, assignment, url, limits_, config)

    cluster = cluster or cluster_address(course, config)
    if cluster:
        from .cluster import grade_on_cluster

        run.cluster = cluster
        run.jobs = grade_on_cluster(cluster, bundle, submissions, finish, _failed)
    elif jobs == 1:
        ready = bundle()
        for sub in submissions:
            try:
                result = grade_submission(ready, sub.student, sub.files, sub.timestamp)
            except Exception as exc:
                result = _failed(ready, sub, exc)
            finish(result)
    else:
        _grade_in_pool(bundle, submissions, jobs, finish)
    run.statuses.sort(key=lambda s: s.student)
    run.seconds = time.perf_counter() - start
    return run


def warm_up() -> None:
    """Import what grading needs, so that a new worker process is ready when its first task comes."""
    import nbclient  # noqa: F401
    import nbgrader.api
    import nbgrader.preprocessors  # noqa: F401

    from . import worker  # noqa: F401


def _grade_in_pool(
    make_bundle: Callable[[], AssignmentBundle],
    submissions: list[Submission],
    jobs: int,
    finish: Callable[[SubmissionResult], None],
) -> None:
    """Grade ``submissions`` in ``jobs`` worker processes, each result passed to ``finish`` as it comes.

    The pool starts (and its workers import nbgrader) while ``make_bundle`` runs here. A pool
    broken by a dying worker is replaced; its unfinished submissions are graded again, once.
    """
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    try:
        warming = [pool.submit(warm_up) for _ in range(jobs)]
        bundle = make_bundle()
        for future in warming:  # a worker that cannot even import shows here, before any grading
            future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pending = list(submissions)
    attempts: dict[str, int] = {}
    while pending:
        retry: list[Submission] = []
        with pool:
            futures: dict[Future[SubmissionResult], Submission] = {
                pool.submit(grade_submission, bundle, s.student, s.files, s.timestamp): s for s in pending
            }
            for future in as_completed(futures):
                sub = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool as exc:
                    attempts[sub.student] = attempts.get(sub.student, 0) + 1
                    if attempts[sub.student] < 2:
                        retry.append(sub)
                        continue
                    result = _failed(bundle, sub, exc)
                except Exception as exc:
                    result = _failed(bundle, sub, exc)
                finish(result)
        pending = retry
        if pending:
            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
