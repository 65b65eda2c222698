"""A whole class's feedback: ``adcourse feedback NAME``.

:func:`write_class_feedback` brings every student's pages up to date with
:class:`~autograder.feedback.FeedbackWriter`: it leaves alone a page already made from exactly what
it would be made from now (:mod:`.feedback_state`), so that a class fed back as it was graded
(``adcourse watch``, ``autograde --feedback``) costs nothing more; it shares the rest among worker
processes (``--jobs``) or a Dask cluster's workers (``--cluster``, :mod:`.feedback_cluster`), and
keeps going past a student whose feedback fails.
"""

from __future__ import annotations

import glob
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .config import cluster_address
from .feedback import FeedbackWriter
from .nbgrader_cli import NbgraderError

if TYPE_CHECKING:
    from .engine.pages import ClassPage

#: Students a worker process takes at a time (one round trip per chunk).
CHUNK = 8


#: What became of one student's feedback: ``written``, ``without`` (no autograded notebook),
#: ``current`` (already up to date) or ``failed``, with the error. With a cluster
#: (:mod:`.feedback_cluster`): ``by_worker`` if a cluster worker made the pages, else ``remade``
#: says why this process made them instead.
@dataclass(frozen=True)
class Outcome:
    kind: str
    error: str = ""
    by_worker: bool = False
    remade: str = ""


@dataclass
class ClassFeedback:
    """What :func:`write_class_feedback` did: who got feedback, who has none, whose was already up
    to date, whose failed and why."""

    written: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    by_workers: list[str] = field(default_factory=list)  # of ``written``: made by a cluster's workers
    remade: dict[str, str] = field(default_factory=dict)  # made here, not by the cluster: why

    def add(self, student: str, outcome: Outcome) -> None:
        """Record one student's outcome."""
        if outcome.kind == "failed":
            self.failed[student] = outcome.error
        else:
            getattr(self, outcome.kind).append(student)
        if outcome.by_worker:
            self.by_workers.append(student)
        if outcome.remade:
            self.remade[student] = outcome.remade


def students_to_feed_back(writer: FeedbackWriter, assignment: str) -> list[str]:
    """Students with an autograded copy of ``assignment``, or an earlier feedback to bring up to date."""
    found: set[str] = set()
    for step in ("autograded", "feedback"):
        pattern = writer.folder(assignment, "*", step)
        found.update(Path(folder).parent.name for folder in glob.glob(str(pattern)) if Path(folder).is_dir())
    return sorted(found)


# ---------------------------------------------------------------- a class, in worker processes

_WORKER: FeedbackWriter | None = None  # this worker process's writer


def _start_worker(course: str) -> None:
    global _WORKER
    _WORKER = FeedbackWriter(Path(course))


def _write_chunk(assignment: str, todo: list[tuple[str, str]]) -> list[tuple[str, Outcome]]:
    """In a worker: each ``(student, inputs)``'s outcome."""
    assert _WORKER is not None, "the worker was not started"
    return [(student, write_locally(_WORKER, assignment, student, inputs)) for student, inputs in todo]


def write_locally(writer: FeedbackWriter, assignment: str, student: str, inputs: str) -> Outcome:
    """Write the student's pages with ``writer``, in this process; the outcome."""
    try:
        return Outcome("written" if writer.write(assignment, student, inputs) else "without")
    except NbgraderError as error:
        return Outcome("failed", str(error))


def _keep_or_write(
    writer: FeedbackWriter, assignment: str, student: str, inputs: str, page: ClassPage | None, failed: str
) -> Outcome:
    """Keep the pages a cluster's worker made if they were made from ``inputs``; else make them
    here, and say why (``failed``: why the worker's whole task failed, if it did)."""
    if page is not None and not page.error and page.inputs == inputs:
        if not page.pages:  # no autograded notebook: any stale page goes, here
            return write_locally(writer, assignment, student, inputs)
        writer.install(assignment, student, page.pages, inputs)
        return Outcome("written", by_worker=True)
    if page is None:
        why = f"the cluster's task failed: {failed}"
    elif page.error:
        why = f"the worker failed: {page.error}"
    else:
        why = "the worker made it from other inputs (the gradebook or files changed, or other versions)"
    return replace(write_locally(writer, assignment, student, inputs), remade=why[:500])


def _outcomes(
    writer: FeedbackWriter,
    assignment: str,
    todo: list[tuple[str, str]],
    jobs: int,
    chunk: int,
    cluster: str | None = None,
) -> Iterator[tuple[str, Outcome]]:
    """Each ``(student, inputs)``'s outcome: from the Dask cluster at ``cluster``
    (:mod:`.feedback_cluster`, as tasks finish), else in order, here or from ``jobs`` worker
    processes that take ``chunk`` students at a time (here when there is only one chunk)."""
    if cluster:
        from .feedback_cluster import pages_on_cluster

        for student, inputs, page, failed in pages_on_cluster(cluster, writer, assignment, todo, chunk):
            yield student, _keep_or_write(writer, assignment, student, inputs, page, failed)
        return
    if jobs <= 1 or len(todo) <= chunk:
        for student, inputs in todo:
            yield student, write_locally(writer, assignment, student, inputs)
        return
    chunks = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
    context = multiprocessing.get_context("spawn")
    start = {"initializer": _start_worker, "initargs": (str(writer.course),)}
    with ProcessPoolExecutor(jobs, mp_context=context, **start) as pool:
        for outcomes in pool.map(_write_chunk, [assignment] * len(chunks), chunks):
            yield from outcomes


def write_class_feedback(
    course: Path,
    assignment: str,
    students: Iterable[str] | None = None,
    progress: bool = False,
    jobs: int = 1,
    chunk: int = CHUNK,
    on_student: Callable[[str, Outcome], None] | None = None,
    force: bool = False,
    cluster: str | None = None,
) -> ClassFeedback:
    """Bring the feedback of ``students`` (default: everyone graded) for ``assignment`` up to date.

    A page written from exactly the autograded notebooks, gradebook entries and settings it would
    be made from now, and untouched since, is left as it is (``current``) unless ``force``; the
    others are written. ``jobs`` worker processes share the class, ``chunk`` students at a time
    (``jobs=1``: all in this process). One student's failure is recorded in
    :attr:`ClassFeedback.failed` and the others still get theirs; a student without an autograded
    notebook gets none and loses a stale one. ``on_student(student, outcome)`` is called as each
    is done. ``cluster``: the Dask scheduler whose workers make the pages instead
    (:mod:`.feedback_cluster`; default: the course config's ``c.AdCourse.cluster``, if any).
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    writer = FeedbackWriter(Path(course))
    cluster = cluster or cluster_address(writer.course, writer.config())
    todo = list(students) if students is not None else students_to_feed_back(writer, assignment)
    inputs = writer.inputs(assignment, todo)
    done = ClassFeedback()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"feedback {assignment}", unit="student")

    def finish(student: str, outcome: Outcome) -> None:
        done.add(student, outcome)
        if on_student is not None:
            on_student(student, outcome)
        if bar is not None:
            bar.update()

    try:
        stale = []
        for student in todo:
            if not force and writer.is_current(assignment, student, inputs[student]):
                finish(student, Outcome("current"))
            else:
                stale.append((student, inputs[student]))
        for student, outcome in _outcomes(writer, assignment, stale, jobs, chunk, cluster):
            finish(student, outcome)
    finally:
        if bar is not None:
            bar.close()
    return done
