"""Which feedback pages are up to date: a fingerprint of everything a page is made from.

A student's feedback page is a function of

* the files of ``autograded/<student>/<assignment>/`` (the graded notebooks nbconvert renders),
* what nbgrader's ``GetGrades`` reads from the gradebook for that submission: every grade
  (``auto_score``, ``manual_score``, ``extra_credit``, the cell's ``max_score``), every comment
  (``auto_comment``, ``manual_comment``) and each notebook's ``late_submission_penalty``,
* how pages are made: the course's ``nbgrader_config.py``, nbgrader's and nbconvert's versions and
  the kit's own feedback code (``feedback.py``, ``hidden.py``).

:func:`gradebook_inputs` reads the gradebook part for a whole class in three set-based queries;
:class:`FeedbackState` keeps, per student, the fingerprint a page was written from and the
SHA-256 of the pages written, in ``course/.adcourse/feedback/<assignment>/<student>.json``. A page
is current when both still match: a changed grade, a re-graded notebook, a new nbgrader, or a page
edited or removed by hand all make it stale, and it is written again.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .engine.status import write_atomic

_MADE_BY = ("feedback.py", "hidden.py")  # the kit's code that shapes a page, next to this file


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gradebook_inputs(url: str, assignment: str, students: Iterable[str] | None = None) -> dict[str, str]:
    """``{student: digest}`` of every gradebook value ``GetGrades`` reads for their submission of
    ``assignment`` (only ``students``, if given); students without a submission are absent, as
    is everyone before the course has a gradebook."""
    from nbgrader.api import (
        Assignment,
        BaseCell,
        Comment,
        Grade,
        GradeCell,
        Notebook,
        SubmittedAssignment,
        SubmittedNotebook,
        TaskCell,
    )
    from sqlalchemy import create_engine, select

    from .gradebook import gradebook_exists

    wanted = set(students) if students is not None else None
    if wanted == set() or not gradebook_exists(url):  # nothing asked, or no gradebook yet
        return {}
    sa, sn, nb, bc = (t.__table__ for t in (SubmittedAssignment, SubmittedNotebook, Notebook, BaseCell))
    gc, tc = GradeCell.__table__, TaskCell.__table__
    submissions = (
        sa.join(Assignment.__table__, sa.c.assignment_id == Assignment.__table__.c.id)
        .join(sn, sn.c.assignment_id == sa.c.id)
        .join(nb, sn.c.notebook_id == nb.c.id)
    )
    of_assignment = Assignment.__table__.c.name == assignment
    grade, comment = Grade.__table__, Comment.__table__
    queries = {
        "notebook": select(sa.c.student_id, nb.c.name, sn.c.late_submission_penalty)
        .select_from(submissions)
        .where(of_assignment),
        "grade": select(
            sa.c.student_id,
            nb.c.name,
            bc.c.name,
            grade.c.auto_score,
            grade.c.manual_score,
            grade.c.extra_credit,
            gc.c.max_score,
            tc.c.max_score,
        )
        .select_from(
            submissions.join(grade, grade.c.notebook_id == sn.c.id)
            .join(bc, grade.c.cell_id == bc.c.id)
            .outerjoin(gc, gc.c.id == bc.c.id)
            .outerjoin(tc, tc.c.id == bc.c.id)
        )
        .where(of_assignment),
        "comment": select(
            sa.c.student_id, nb.c.name, bc.c.name, comment.c.auto_comment, comment.c.manual_comment
        )
        .select_from(
            submissions.join(comment, comment.c.notebook_id == sn.c.id).join(bc, comment.c.cell_id == bc.c.id)
        )
        .where(of_assignment),
    }
    rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for kind, query in queries.items():
                for row in conn.execute(query):
                    if wanted is None or row[0] in wanted:
                        rows[row[0]].append((kind, *row[1:]))
    finally:
        engine.dispose()
    return {
        student: _sha(json.dumps(sorted(found, key=repr), default=repr).encode("utf-8"))
        for student, found in rows.items()
    }


def config_digest(course: Path) -> str:
    """Digest of the course's ``nbgrader_config.py`` (of nothing without one)."""
    config = Path(course) / "nbgrader_config.py"
    return _sha(config.read_bytes()) if config.is_file() else ""


@functools.lru_cache(maxsize=16)
def made_by(config: str) -> str:
    """Digest of how pages are made here: the course config's digest (:func:`config_digest`),
    this machine's nbgrader and nbconvert and the kit's code. A grading worker on another machine
    with other versions makes pages another way: its digest differs. Worked out once a process
    for each config digest (the versions and the kit's code do not change while it runs)."""
    import nbconvert
    import nbgrader

    here = Path(__file__).parent
    parts = [nbgrader.__version__, nbconvert.__version__, config]
    parts += [_sha((here / name).read_bytes()) for name in _MADE_BY]
    return _sha("\n".join(parts).encode("utf-8"))


def page_inputs(made: str, gradebook: str, autograded: Path) -> str:
    """The fingerprint of one student's pages: how they are made (:func:`made_by`), their gradebook
    entries (a value of :func:`gradebook_inputs`) and their autograded files."""
    return _sha("\n".join((made, gradebook, folder_digest(autograded))).encode("utf-8"))


def folder_digest(folder: Path) -> str:
    """Digest of every file under ``folder`` (names and bytes); of nothing if it does not exist."""
    h = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(folder)).encode("utf-8") + b"\0")
            h.update(_sha(path.read_bytes()).encode("ascii"))
    return h.hexdigest()


class FeedbackState:
    """The fingerprints the pages of one assignment were written from, one file per student."""

    def __init__(self, course: Path, assignment: str) -> None:
        self.folder = Path(course) / ".adcourse" / "feedback" / assignment

    def _path(self, student: str) -> Path:
        return self.folder / f"{student}.json"

    def record(self, student: str, inputs: str, pages: Path) -> None:
        """``student``'s pages in ``pages`` (a folder) were just written from ``inputs``."""
        data = {"inputs": inputs, "pages": folder_digest(pages)}
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self._path(student), (json.dumps(data) + "\n").encode("utf-8"))

    def forget(self, student: str) -> None:
        """``student`` has no current pages."""
        self._path(student).unlink(missing_ok=True)

    def is_current(self, student: str, inputs: str, pages: Path) -> bool:
        """Whether ``pages`` were written from ``inputs`` and are unchanged since."""
        try:
            data = json.loads(self._path(student).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        if not isinstance(data, dict) or data.get("inputs") != inputs:
            return False
        return pages.is_dir() and data.get("pages") == folder_digest(pages)
