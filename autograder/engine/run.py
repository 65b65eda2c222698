"""``autograde``: every submission of an assignment (or of several), graded in parallel, recorded
by one writer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import cell_timeout, cluster_address, db_url, load_config
from ..gradebook import check_gradebook
from ..nbgrader_cli import ensure_scripts_on_path, run_nbgrader
from ..paths import CourseError, assignment_dir
from .backends import default_jobs, grade
from .bundle import AssignmentBundle, build_bundle
from .limits import Limits
from .results import SubmissionResult
from .status import SubmissionStatus
from .submission import Submission, find_submissions
from .writer import record_many

__all__ = ["AutogradeRun", "Submission", "autograde", "autograde_class", "default_jobs", "find_submissions"]


@dataclass
class AutogradeRun:
    """What one ``autograde`` call did for one assignment."""

    assignment: str
    statuses: list[SubmissionStatus] = field(default_factory=list)
    seconds: float = 0.0
    jobs: int = 1
    cluster: str | None = None
    #: Students whose feedback pages the workers made and this process kept (``feedback=True``).
    fed_back: list[str] = field(default_factory=list)
    #: Students whose pages the workers failed to make, with why (``feedback=True``).
    pages_failed: dict[str, str] = field(default_factory=dict)

    @property
    def ungradable(self) -> list[SubmissionStatus]:
        """Submissions that did not run to the end, with their reasons."""
        return [s for s in self.statuses if s.status != "graded"]


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


Progress = Callable[[SubmissionStatus], None]

#: The most results the writer records in one transaction: it records what has arrived, in
#: batches of up to this many, so that progress shows while the workers grade on.
BATCH = 50


def page_keeper(course: Path) -> Any:
    """The :class:`~autograder.feedback.PageKeeper` of ``course`` (imported only when asked for)."""
    from ..feedback import PageKeeper

    return PageKeeper(course)


def recorder(
    course: Path,
    url: str,
    config: Any,
    fingerprints: dict[tuple[str, str], str],
    runs: dict[str, AutogradeRun],
    pages: Any,
    on_graded: Progress | None,
) -> Callable[[list[SubmissionResult]], None]:
    """The one writer's ``finish``: records the results that have arrived (each with the
    ``fingerprints`` of its files) in transactions of up to :data:`BATCH`, keeps the workers'
    feedback pages (``pages``, a :class:`~autograder.feedback.PageKeeper`, or None) and notes
    those they failed to make, adds each status to its assignment's run in ``runs`` and tells
    ``on_graded``."""

    def finish(results: list[SubmissionResult]) -> None:
        results = [replace(r, fingerprint=fingerprints[(r.assignment, r.student)]) for r in results]
        for start in range(0, len(results), BATCH):
            batch = results[start : start + BATCH]
            statuses = record_many(course, url, batch, config)
            for assignment, student in pages.keep(batch) if pages else []:
                runs[assignment].fed_back.append(student)
            for r in batch:
                if r.pages_error:
                    runs[r.assignment].pages_failed[r.student] = r.pages_error
            for status in statuses:
                runs[status.assignment].statuses.append(status)
                if on_graded:
                    on_graded(status)

    return finish


def autograde_class(
    course: Path,
    assignments: Sequence[str],
    *,
    jobs: int | None = None,
    students: Iterable[str] | None = None,
    limits: Limits | None = None,
    on_graded: Progress | None = None,
    cluster: str | None = None,
    feedback: bool = False,
) -> dict[str, AutogradeRun]:
    """Grade every submission of every assignment in ``assignments`` in one go: one pool of ``jobs``
    worker processes (default: all cores) or the Dask cluster at ``cluster`` (default: the course
    config's ``c.AdCourse.cluster``) grades them all, mixed, while this process alone writes the
    gradebook as results arrive (what has arrived, in one transaction of up to :data:`BATCH`).
    With ``feedback``, the workers also make each student's feedback pages, which are kept where
    they match what this process would make (:class:`~autograder.feedback.PageKeeper`), after the
    grade is recorded and before ``on_graded`` hears of it. Returns each assignment's run.

    A worker process that dies is replaced and its submission graded again; a submission that fails
    twice is recorded as ungradable with the reason, and the rest of the class is graded regardless.
    """
    start = time.perf_counter()
    ensure_scripts_on_path()
    for assignment in assignments:
        assignment_dir(course, assignment)
    config = load_config(course)  # read once: for the gradebook URL, the limits, the bundles, the writer
    url = db_url(course, config)
    check_gradebook(url)  # one clear sentence, before any grading, if the gradebook cannot be opened
    wanted = list(students) if students is not None else None
    submissions: list[Submission] = []
    for assignment in assignments:
        found = find_submissions(course, assignment, wanted)
        if not found:
            raise CourseError(f"no submissions of {assignment} in {course / 'submitted'}")
        submissions += found
    jobs = max(1, min(jobs or default_jobs(), len(submissions)))
    runs = {a: AutogradeRun(a, jobs=jobs) for a in assignments}
    fingerprints = {(s.assignment, s.student): s.fingerprint for s in submissions}

    pages = page_keeper(course) if feedback else None
    finish = recorder(course, url, config, fingerprints, runs, pages, on_graded)

    def bundles() -> Iterator[tuple[str, AssignmentBundle]]:
        """Each assignment's bundle, in order, built ``jobs`` at a time: the answer keys' trusted
        runs are kernels of their own, so building overlaps (and the first grading starts early)."""
        limits_ = limits or Limits(cell_timeout=cell_timeout(course, config=config))

        from ..feedback_state import config_digest

        made = config_digest(course) if feedback else None

        def build(assignment: str) -> AssignmentBundle:
            ensure_in_gradebook(course, assignment, url)
            return replace(build_bundle(course, assignment, url, limits_, config), feedback_config=made)

        with ThreadPoolExecutor(max_workers=min(jobs, len(assignments))) as builders:
            yield from zip(assignments, builders.map(build, assignments), strict=True)

    cluster = cluster or cluster_address(course, config)
    workers = grade(bundles, submissions, finish, jobs=jobs, cluster=cluster)
    seconds = time.perf_counter() - start
    for run in runs.values():
        run.statuses.sort(key=lambda s: s.student)
        run.seconds, run.jobs, run.cluster = seconds, workers, cluster
    return runs


def autograde(
    course: Path,
    assignment: str,
    *,
    jobs: int | None = None,
    students: Iterable[str] | None = None,
    limits: Limits | None = None,
    on_graded: Progress | None = None,
    cluster: str | None = None,
    feedback: bool = False,
) -> AutogradeRun:
    """Grade every submission of ``assignment`` (:func:`autograde_class` with one assignment); with
    ``cluster``, ``jobs`` of the returned run is the cluster's worker count, for the record."""
    runs = autograde_class(
        course,
        [assignment],
        jobs=jobs,
        students=students,
        limits=limits,
        on_graded=on_graded,
        cluster=cluster,
        feedback=feedback,
    )
    return runs[assignment]
