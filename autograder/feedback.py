"""Students' HTML feedback, by stock nbgrader's ``GenerateFeedback``, inside this process.

``FeedbackWriter.write(NAME, S)`` writes what ``nbgrader generate_feedback NAME --student S
--force`` writes, byte for byte (``tests/test_feedback.py`` compares them), with nbgrader's own
converter, preprocessors (``GetGrades``) and HTML template, but without what makes a class slow
when it is done one student at a time: a new Python per student (the CLI), or a new converter and
HTML exporter per student, whose Jinja templates are compiled anew each time (the formgrader's
``NbGraderAPI.generate_feedback``). Here one converter, with one exporter, serves every student of
the writer; :func:`write_class_feedback` shares a class among worker processes
(``adcourse feedback --jobs``), keeps going past a student whose feedback fails, and leaves alone
a page already made from exactly what it would be made from now (:mod:`.feedback_state`), so that
a class fed back as it was graded (``adcourse watch``) costs nothing more.

What a page costs is then nbconvert's: rendering the notebook (Pygments highlighting, Markdown)
and its BeautifulSoup pass over the page, a few tenths of a second per notebook and core
(``benchmarks/bench_scale.py`` measures it).
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .config import db_url, load_config
from .engine.status import write_atomic
from .feedback_state import FeedbackState, gradebook_inputs, made_by, page_inputs
from .feedback_state import config_digest as course_config_digest
from .nbgrader_cli import NbgraderError

if TYPE_CHECKING:
    from .engine.results import SubmissionResult

#: Students a worker process takes at a time (one round trip per chunk).
CHUNK = 8


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

    def _config(self) -> Any:
        """The nbgrader configuration, read from the course once."""
        if self._given_config is None:
            self._given_config = load_config(self.course)
        return self._given_config

    def _nbgrader(self) -> Any:
        """nbgrader's API on this course, with the course's ``nbgrader_config.py`` (built once)."""
        if self._api is None:
            from nbgrader.apps import NbGraderAPI
            from nbgrader.coursedir import CourseDirectory

            config = self._config()
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
        book = gradebook_inputs(db_url(self.course, self._config()), assignment, students)
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


class PageKeeper:
    """Keeps the feedback pages grading workers made (``autograde --feedback``, :mod:`.engine.pages`)
    where they are the pages this course would make now: the worker's fingerprint of what it made
    them from equals this course's fingerprint of the student (same graded notebooks, gradebook
    entries, settings, nbgrader). Others are left for :func:`write_class_feedback`."""

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
            state = FeedbackState(self.writer.course, assignment)
            for result in found:
                if inputs[result.student] != result.pages_inputs:
                    continue
                target = self.writer.folder(assignment, result.student)
                state.forget(result.student)
                if target.exists():
                    shutil.rmtree(target)
                for rel, data in result.pages.items():
                    if not _safe_page(rel):
                        raise ValueError(f"a worker sent a page outside the feedback folder: {rel!r}")
                    write_atomic(target / rel, data)
                    (target / rel).chmod(self.writer.permissions())
                state.record(result.student, result.pages_inputs, target)
                kept.append((assignment, result.student))
        return kept


def _safe_page(rel: str) -> bool:
    path = PurePosixPath(rel)
    return bool(rel) and not path.is_absolute() and ".." not in path.parts


#: What became of one student's feedback: ``written``, ``without`` (no autograded notebook),
#: ``current`` (already up to date) or ``failed``, with the error.
@dataclass(frozen=True)
class Outcome:
    kind: str
    error: str = ""


@dataclass
class ClassFeedback:
    """What :func:`write_class_feedback` did: who got feedback, who has none, whose was already up
    to date, whose failed and why."""

    written: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def add(self, student: str, outcome: Outcome) -> None:
        """Record one student's outcome."""
        if outcome.kind == "failed":
            self.failed[student] = outcome.error
        else:
            getattr(self, outcome.kind).append(student)


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
    return [(student, _outcome(_WORKER, assignment, student, inputs)) for student, inputs in todo]


def _outcome(writer: FeedbackWriter, assignment: str, student: str, inputs: str) -> Outcome:
    try:
        return Outcome("written" if writer.write(assignment, student, inputs) else "without")
    except NbgraderError as error:
        return Outcome("failed", str(error))


def _outcomes(
    writer: FeedbackWriter, assignment: str, todo: list[tuple[str, str]], jobs: int, chunk: int
) -> Iterator[tuple[str, Outcome]]:
    """Each ``(student, inputs)``'s outcome, in order: here, or from ``jobs`` worker processes that
    take ``chunk`` students at a time (here when there is only one chunk)."""
    if jobs <= 1 or len(todo) <= chunk:
        for student, inputs in todo:
            yield student, _outcome(writer, assignment, student, inputs)
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
) -> ClassFeedback:
    """Bring the feedback of ``students`` (default: everyone graded) for ``assignment`` up to date.

    A page written from exactly the autograded notebooks, gradebook entries and settings it would
    be made from now, and untouched since, is left as it is (``current``) unless ``force``; the
    others are written. ``jobs`` worker processes share the class, ``chunk`` students at a time
    (``jobs=1``: all in this process). One student's failure is recorded in
    :attr:`ClassFeedback.failed` and the others still get theirs; a student without an autograded
    notebook gets none and loses a stale one. ``on_student(student, outcome)`` is called as each
    is done.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    writer = FeedbackWriter(Path(course))
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
        for student, outcome in _outcomes(writer, assignment, stale, jobs, chunk):
            finish(student, outcome)
    finally:
        if bar is not None:
            bar.close()
    return done
