"""Students' HTML feedback, by stock nbgrader's ``GenerateFeedback``, inside this process.

``FeedbackWriter.write(NAME, S)`` writes what ``nbgrader generate_feedback NAME --student S
--force`` writes, byte for byte (``tests/test_feedback.py`` compares them), with nbgrader's own
converter, preprocessors (``GetGrades``) and HTML template, but without what makes a class slow
when it is done one student at a time: a new Python per student (the CLI), or a new converter and
HTML exporter per student, whose Jinja templates are compiled anew each time (the formgrader's
``NbGraderAPI.generate_feedback``). Here one converter, with one exporter, serves every student of
the writer. :class:`PageKeeper` puts in place pages made elsewhere (by grading workers) when they
are the pages this course would make now. A whole class (worker processes, a cluster, pages
already up to date) is :mod:`.class_feedback`'s.

What a page costs is then nbconvert's: rendering the notebook (Pygments highlighting, Markdown)
and its BeautifulSoup pass over the page, a few tenths of a second per notebook and core
(``benchmarks/bench_scale.py`` measures it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import db_url, load_config
from .engine.status import write_atomic
from .feedback_state import FeedbackState, gradebook_inputs, made_by, page_inputs
from .feedback_state import config_digest as course_config_digest
from .nbgrader_cli import NbgraderError
from .paths import safe_relative

if TYPE_CHECKING:
    from .engine.results import SubmissionResult


def _feedback_app(api: Any) -> Any:
    """nbgrader's ``GenerateFeedback`` for ``api``'s course, configured as the formgrader's
    ``NbGraderAPI.generate_feedback`` configures it, whose exporter is made on its first start and
    reused by every later one (nbgrader's own run over a whole class does the same)."""
    from nbconvert.writers import FilesWriter
    from nbgrader.converters import GenerateFeedback
    from traitlets.config import Config

    class ReusedExporter(GenerateFeedback):
        """``BaseConverter.start`` with the exporter made once. The writer is new at every start,
        as in stock nbgrader: a ``FilesWriter`` makes its output folder only when its
        ``build_directory`` changes, so a reused one would not remake a folder nbgrader removed
        to write the same student's page again."""

        exporter: Any = None

        def start(self) -> None:
            self.init_notebooks()
            self.writer = FilesWriter(parent=self, config=self.config)
            if self.exporter is None:
                exporter = self.exporter_class(parent=self, config=self.config)
                for pp in self.preprocessors:
                    exporter.register_preprocessor(pp)
                self.exporter = exporter
            here = os.getcwd()
            os.chdir(self.coursedir.root)
            try:
                self.convert_notebooks()
            finally:
                os.chdir(here)

    config = Config()
    config.HTMLExporter.template_name = "feedback"
    app = ReusedExporter(coursedir=api.coursedir, parent=api)
    app.update_config(config)
    app.force = True
    return app


class FeedbackWriter:
    """Writes ``feedback/<student>/<assignment>/`` from the autograded notebooks and the gradebook."""

    def __init__(self, course: Path, config: Any = None, config_digest: str | None = None) -> None:
        """``config``: the nbgrader configuration to use instead of the course's
        ``nbgrader_config.py``, and ``config_digest`` that file's digest (a grading worker, which
        has the course's configuration but not its folder, passes both)."""
        self.course = Path(course)
        self.config_digest = course_config_digest(self.course) if config_digest is None else config_digest
        self._given_config = config
        self._api: Any = None
        self._app: Any = None

    def config(self) -> Any:
        """The nbgrader configuration, read from the course once."""
        if self._given_config is None:
            self._given_config = load_config(self.course)
        return self._given_config

    def _nbgrader(self) -> Any:
        """nbgrader's API on this course, with the course's ``nbgrader_config.py`` (built once)."""
        if self._api is None:
            from nbgrader.apps import NbGraderAPI
            from nbgrader.coursedir import CourseDirectory

            config = self.config()
            coursedir = CourseDirectory(config=config)
            coursedir.root = str(self.course)
            self._api = NbGraderAPI(coursedir=coursedir, config=config)
        return self._api

    def permissions(self) -> int:
        """The mode nbgrader gives the files it writes for feedback (``GenerateFeedback``)."""
        return 0o664 if self._nbgrader().coursedir.groupshared else 0o644

    def folder(self, assignment: str, student: str, step: str = "feedback") -> Path:
        """Where nbgrader keeps ``step`` (``feedback``, ``autograded``, ...) of this student's submission."""
        coursedir = self._nbgrader().coursedir
        directory = getattr(coursedir, f"{step}_directory")
        return Path(coursedir.format_path(directory, student, assignment))

    def inputs(self, assignment: str, students: Iterable[str]) -> dict[str, str]:
        """``{student: fingerprint}`` of everything each student's page is made from
        (:mod:`autograder.feedback_state`): the gradebook in one query for all of them."""
        students = list(students)
        made = made_by(self.config_digest)
        book = gradebook_inputs(db_url(self.course, self.config()), assignment, students)
        return {
            s: page_inputs(made, book.get(s, ""), self.folder(assignment, s, "autograded")) for s in students
        }

    def is_current(self, assignment: str, student: str, inputs: str) -> bool:
        """Whether the student's pages were written from ``inputs`` and are untouched since."""
        return FeedbackState(self.course, assignment).is_current(
            student, inputs, self.folder(assignment, student)
        )

    def write(self, assignment: str, student: str, inputs: str | None = None) -> bool:
        """Write the student's feedback, replacing any earlier one; whether there is any.

        A submission without an autograded notebook (none submitted, or none readable) has no
        feedback: an earlier feedback of that student for this assignment, which no longer matches
        the gradebook, is removed. Raises :class:`NbgraderError` with nbgrader's log if it fails.
        The pages are recorded as written from ``inputs`` (by default, :meth:`inputs` now).
        """
        from nbgrader.utils import capture_log, temp_attrs

        target = self.folder(assignment, student)
        state = FeedbackState(self.course, assignment)
        state.forget(student)  # until the new pages are whole
        if not any(self.folder(assignment, student, "autograded").glob("*.ipynb")):
            if target.exists():
                shutil.rmtree(target)
            return False
        if inputs is None:
            inputs = self.inputs(assignment, [student])[student]
        api = self._nbgrader()
        if self._app is None:
            self._app = _feedback_app(api)
        with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student, notebook_id="*"):
            result = capture_log(self._app)
        if not result.get("success"):
            tail = "\n".join((result.get("log", "") + result.get("error", "")).strip().splitlines()[-15:])
            raise NbgraderError(
                f"nbgrader generate_feedback {assignment} --student {student} failed:\n{tail}"
            )
        state.record(student, inputs, target)
        return True

    def install(self, assignment: str, student: str, pages: dict[str, bytes], inputs: str) -> None:
        """Put ``pages`` (``{path: bytes}``, made elsewhere from ``inputs``) in place of the
        student's feedback, with nbgrader's file mode, and record them as written from ``inputs``."""
        target = self.folder(assignment, student)
        state = FeedbackState(self.course, assignment)
        state.forget(student)  # until the new pages are whole
        if target.exists():
            shutil.rmtree(target)
        for rel, data in pages.items():
            if not safe_relative(rel):
                raise ValueError(f"a worker sent a page outside the feedback folder: {rel!r}")
            write_atomic(target / rel, data)
            (target / rel).chmod(self.permissions())
        state.record(student, inputs, target)


class PageKeeper:
    """Keeps the feedback pages grading workers made (``autograde --feedback``, :mod:`.engine.pages`)
    where they are the pages this course would make now: the worker's fingerprint of what it made
    them from equals this course's fingerprint of the student (same graded notebooks, gradebook
    entries, settings, nbgrader). Others are left for :func:`~.class_feedback.write_class_feedback`."""

    def __init__(self, course: Path) -> None:
        self.writer = FeedbackWriter(course)

    def keep(self, results: Iterable[SubmissionResult]) -> list[tuple[str, str]]:
        """Write the matching pages of ``results`` (already recorded); their (assignment, student)."""
        by_assignment: dict[str, list[SubmissionResult]] = {}
        for result in results:
            if result.pages and result.pages_inputs:
                by_assignment.setdefault(result.assignment, []).append(result)
        kept = []
        for assignment, found in by_assignment.items():
            inputs = self.writer.inputs(assignment, [r.student for r in found])
            for result in found:
                if inputs[result.student] != result.pages_inputs:
                    continue
                self.writer.install(assignment, result.student, result.pages, result.pages_inputs)
                kept.append((assignment, result.student))
        return kept
