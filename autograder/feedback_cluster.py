"""``adcourse feedback --cluster``: a class's feedback pages made by a Dask cluster's workers.

A page costs nbconvert a few tenths of a core-second, so a first feedback of 2,000 students takes
minutes on a client's few cores; the workers that grade the class can make its pages as fast as
they can grade. Each task carries everything it needs, as grading tasks do
(:mod:`autograder.engine.cluster`): the class's :class:`~autograder.engine.pages.ClassBook` (a
snapshot of the gradebook's rows for the assignment and the course's nbgrader config, sent to the
scheduler once, as a task the others depend on) and a chunk of students' autograded files. A worker
makes the pages with stock nbgrader in a scratch course (:func:`~autograder.engine.pages.make_class_pages`)
and sends them back with the fingerprint of what they were made from.

The client keeps a page only where that fingerprint equals its own (same autograded files,
gradebook entries, settings, nbgrader and nbconvert, kit): otherwise (a grade changed since the
snapshot, other versions on the worker, an error there) it makes the page itself, as without a
cluster. So the pages are stock nbgrader's whichever machine makes them. At most
``IN_FLIGHT`` chunks per worker are read and sent at a time: the client's memory does not grow
with the class.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .config import db_url
from .engine.cluster import connect, scheduler_workers
from .engine.pages import ClassBook, ClassPage, files_under, make_class_pages
from .engine.snapshot import snapshot_class

if TYPE_CHECKING:
    from .feedback import FeedbackWriter

#: Chunks of students in flight per worker (one being made, one waiting).
IN_FLIGHT = 2


def _the_book(book: ClassBook) -> ClassBook:
    """A task whose result is ``book``: it reaches the workers through the scheduler."""
    return book


def class_book(writer: FeedbackWriter, assignment: str) -> ClassBook:
    """The class of ``assignment`` as workers need it to make any student's pages."""
    config = writer.config()
    sections = {k: dict(v) for k, v in config.items() if isinstance(v, dict)}
    gradebook = snapshot_class(db_url(writer.course, config), assignment)
    return ClassBook(assignment, gradebook, sections, writer.config_digest)


def pages_on_cluster(
    address: str, writer: FeedbackWriter, assignment: str, todo: list[tuple[str, str]], chunk: int
) -> Iterator[tuple[str, str, ClassPage | None, str]]:
    """``(student, inputs, page, failed)`` of each ``(student, inputs)`` of ``todo``, in the order
    the cluster at ``address`` makes them, ``chunk`` students a task: the worker's
    :class:`~autograder.engine.pages.ClassPage` (not yet checked against ``inputs``), or ``None``
    and why (``failed``) if the whole task failed for good."""
    from distributed import as_completed

    if not todo:
        return
    client = connect(address)
    try:
        workers = max(1, scheduler_workers(client))
        run_id = uuid.uuid4().hex[:12]
        book = client.submit(_the_book, class_book(writer, assignment), key=f"class-{assignment}-{run_id}")
        parts = iter([todo[i : i + chunk] for i in range(0, len(todo), chunk)])
        sent: dict[str, list[tuple[str, str]]] = {}
        numbers = itertools.count()

        def send():
            part = next(parts, None)
            if part is None:
                return None
            files = [(s, files_under(writer.folder(assignment, s, "autograded"))) for s, _ in part]
            key = f"feedback-{assignment}-{next(numbers)}-{run_id}"
            future = client.submit(make_class_pages, book, files, key=key, retries=1)
            sent[future.key] = part
            return future

        with client.as_current():
            first = [f for f in (send() for _ in range(IN_FLIGHT * workers)) if f is not None]
            running = as_completed(first)
            for future in running:
                part = sent.pop(future.key)
                failed = ""
                try:
                    pages = {page.student: page for page in future.result()}
                except Exception as exc:  # failed for good (KilledWorker, ...): made here instead
                    pages, failed = {}, f"{type(exc).__name__}: {exc}"
                future.release()
                following = send()
                if following is not None:
                    running.add(following)
                for student, inputs in part:
                    yield student, inputs, pages.get(student), failed
        book.release()
    finally:
        client.close()
