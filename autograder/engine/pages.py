"""Feedback pages made where the grading is done (``adcourse autograde --feedback``, ``watch``), or
on a cluster's workers (``adcourse feedback --cluster``).

A page costs a few tenths of a core-second (nbconvert's rendering); made by the client after
grading, a 2,000-student class's pages take minutes on its few cores. Made by the worker right
after it grades, they cost what grading costs, spread over every worker of the pool or cluster.

The worker has no course folder and no course gradebook, so it makes pages in a scratch course of
its own (one per process, assignment and kind, reused so that nbgrader's exporter and its compiled
templates are made once) with the course's nbgrader configuration:

* :func:`make_pages` (with the grade): the bundle's gradebook snapshot with this one result
  recorded by the client's own writer code (:mod:`.gradebook_writes`, nbgrader's rows), and the
  graded notebooks as the client writes them;
* :func:`make_class_pages` (a class already graded): a snapshot of the class's gradebook
  (:func:`~.snapshot.snapshot_class`: grades, manual grades, comments as they are now) and each
  student's autograded files as the client has them.

Each page comes back with the fingerprint of what it was made from (:mod:`autograder.feedback_state`).
The client keeps it only where its own fingerprint of that student is the same: a manual grade
since, an extension or another nbgrader on the worker makes the fingerprints differ, and the client
makes that page itself.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..paths import safe_relative
from .gradebook_writes import write_gradebook
from .graded_notebooks import prepare
from .writer import write_autograded

if TYPE_CHECKING:
    from ..feedback import FeedbackWriter
    from .bundle import AssignmentBundle
    from .results import SubmissionResult

Sections = dict[str, dict[str, Any]]  # an nbgrader configuration as plain {section: {name: value}}

#: This process's scratch courses: (kind, assignment, config digest) -> (folder, writer, config).
_SCRATCH: dict[tuple[str, str, str], tuple[Path, FeedbackWriter, Any]] = {}
#: The digest of the class gradebook each class scratch course holds now.
_LOADED: dict[Path, str] = {}


def _scratch(kind: str, assignment: str, sections: Sections, digest: str) -> tuple[Path, FeedbackWriter, Any]:
    from traitlets.config import Config

    from ..feedback import FeedbackWriter

    key = (kind, assignment, digest)
    if key not in _SCRATCH:
        root = Path(tempfile.mkdtemp(prefix=f"adpages-{assignment}-"))
        atexit.register(shutil.rmtree, root, True)
        config = Config({section: dict(values) for section, values in sections.items()})
        config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
        _SCRATCH[key] = (root, FeedbackWriter(root, config, digest), config)
    return _SCRATCH[key]


def files_under(folder: Path) -> dict[str, bytes]:
    """``{relative path: bytes}`` of every file under ``folder`` (none if there is no such folder)."""
    if not folder.is_dir():
        return {}
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def make_pages(bundle: AssignmentBundle, result: SubmissionResult) -> tuple[dict[str, bytes], str]:
    """The student's feedback pages for ``result`` (``{path: bytes}``) and their fingerprint;
    ``({}, "")`` for a result without a graded notebook. Raises what making them raised."""
    assert bundle.feedback_config is not None
    root, writer, config = _scratch("graded", bundle.assignment, bundle.config, bundle.feedback_config)
    for step in ("autograded", "feedback", ".adcourse"):
        shutil.rmtree(root / step, ignore_errors=True)
    (root / "gradebook.db").write_bytes(bundle.gradebook)
    prepared = prepare(result)
    write_gradebook(config.CourseDirectory.db_url, [prepared], config)
    write_autograded(root, prepared)
    inputs = writer.inputs(result.assignment, [result.student])[result.student]
    if not writer.write(result.assignment, result.student, inputs):
        return {}, ""
    return files_under(writer.folder(result.assignment, result.student)), inputs


# ---------------------------------------------------------------- a class already graded


@dataclass(frozen=True)
class ClassBook:
    """What a worker needs to make any page of one assignment's class."""

    assignment: str
    gradebook: bytes  # snapshot_class: the definition, every submission, grade and comment
    config: Sections  # the course's nbgrader configuration
    config_digest: str  # the digest of the course's nbgrader_config.py (feedback_state.config_digest)


@dataclass(frozen=True)
class ClassPage:
    """One student's pages made by a worker: ``{path: bytes}`` (none: no autograded notebook) and
    the fingerprint they were made from, or ``error`` (and nothing else) if making them failed."""

    student: str
    pages: dict[str, bytes]
    inputs: str
    error: str = ""


def make_class_pages(book: ClassBook, students: list[tuple[str, dict[str, bytes]]]) -> list[ClassPage]:
    """Each ``(student, {path: bytes of their autograded files})``'s pages, made with ``book``.

    One student's failure is that student's :class:`ClassPage` ``error``; the others still get theirs.
    """
    root, writer, _ = _scratch("class", book.assignment, book.config, book.config_digest)
    digest = hashlib.sha256(book.gradebook).hexdigest()
    if _LOADED.get(root) != digest:
        (root / "gradebook.db").write_bytes(book.gradebook)
        _LOADED[root] = digest
    made: dict[str, ClassPage] = {}
    placed = []
    try:
        for student, files in students:
            try:
                for rel, data in files.items():
                    if not safe_relative(rel):
                        raise ValueError(f"an autograded file outside the student's folder: {rel!r}")
                    target = writer.folder(book.assignment, student, "autograded") / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                placed.append(student)
            except Exception as exc:  # this student only: the client makes the page itself
                made[student] = ClassPage(student, {}, "", f"{type(exc).__name__}: {exc}")
        try:  # the gradebook's part for the whole chunk in one set of queries
            inputs = writer.inputs(book.assignment, placed)
        except Exception as exc:
            inputs = {}
            made.update({s: ClassPage(s, {}, "", f"{type(exc).__name__}: {exc}") for s in placed})
        for student in inputs:
            try:
                written = writer.write(book.assignment, student, inputs[student])
                pages = files_under(writer.folder(book.assignment, student)) if written else {}
                made[student] = ClassPage(student, pages, inputs[student])
            except Exception as exc:
                made[student] = ClassPage(student, {}, "", f"{type(exc).__name__}: {exc}")
    finally:
        for student, _ in students:
            for step in ("autograded", "feedback"):
                shutil.rmtree(writer.folder(book.assignment, student, step), ignore_errors=True)
        shutil.rmtree(root / ".adcourse", ignore_errors=True)
    return [made[student] for student, _ in students]
