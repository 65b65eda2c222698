"""Students' HTML feedback, by stock nbgrader's ``GenerateFeedback``, inside this process.

``FeedbackWriter.write(NAME, S)`` does what ``nbgrader generate_feedback NAME --student S --force``
does (through nbgrader's own ``NbGraderAPI.generate_feedback``, as the formgrader calls it), without
starting a new Python for every student: after the first call, one student's feedback takes a
fraction of a second instead of seconds. :func:`write_class_feedback` does it for a whole class
(``adcourse feedback``, the demo) and keeps going past a student whose feedback fails.
"""

from __future__ import annotations

import glob
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import load_config
from .nbgrader_cli import NbgraderError


class FeedbackWriter:
    """Writes ``feedback/<student>/<assignment>/`` from the autograded notebooks and the gradebook."""

    def __init__(self, course: Path) -> None:
        self.course = course
        self._api: Any = None

    def _nbgrader(self) -> Any:
        """nbgrader's API on this course, with the course's ``nbgrader_config.py`` (built once)."""
        if self._api is None:
            from nbgrader.apps import NbGraderAPI
            from nbgrader.coursedir import CourseDirectory

            config = load_config(self.course)
            coursedir = CourseDirectory(config=config)
            coursedir.root = str(self.course)
            self._api = NbGraderAPI(coursedir=coursedir, config=config)
        return self._api

    def folder(self, assignment: str, student: str, step: str = "feedback") -> Path:
        """Where nbgrader keeps ``step`` (``feedback``, ``autograded``, ...) of this student's submission."""
        coursedir = self._nbgrader().coursedir
        directory = getattr(coursedir, f"{step}_directory")
        return Path(coursedir.format_path(directory, student, assignment))

    def write(self, assignment: str, student: str) -> bool:
        """Write the student's feedback, replacing any earlier one; whether there is any.

        A submission without an autograded notebook (none submitted, or none readable) has no
        feedback: an earlier feedback of that student for this assignment, which no longer matches
        the gradebook, is removed. Raises :class:`NbgraderError` with nbgrader's log if it fails.
        """
        target = self.folder(assignment, student)
        if not any(self.folder(assignment, student, "autograded").glob("*.ipynb")):
            if target.exists():
                shutil.rmtree(target)
            return False
        result = self._nbgrader().generate_feedback(assignment, student, force=True)
        if not result.get("success"):
            tail = "\n".join((result.get("log", "") + result.get("error", "")).strip().splitlines()[-15:])
            raise NbgraderError(
                f"nbgrader generate_feedback {assignment} --student {student} failed:\n{tail}"
            )
        return True


@dataclass
class ClassFeedback:
    """What :func:`write_class_feedback` did: who got feedback, who has none, whose failed and why."""

    written: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def students_to_feed_back(writer: FeedbackWriter, assignment: str) -> list[str]:
    """Students with an autograded copy of ``assignment``, or an earlier feedback to bring up to date."""
    found: set[str] = set()
    for step in ("autograded", "feedback"):
        pattern = writer.folder(assignment, "*", step)
        found.update(Path(folder).parent.name for folder in glob.glob(str(pattern)) if Path(folder).is_dir())
    return sorted(found)


def write_class_feedback(
    course: Path, assignment: str, students: Iterable[str] | None = None, progress: bool = False
) -> ClassFeedback:
    """Write (or refresh) the feedback of ``students`` (default: everyone graded) for ``assignment``.

    One student's failure is recorded in :attr:`ClassFeedback.failed` and the others still get
    theirs; a student without an autograded notebook gets none and loses a stale one.
    """
    writer = FeedbackWriter(course)
    todo = list(students) if students is not None else students_to_feed_back(writer, assignment)
    done = ClassFeedback()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"feedback {assignment}", unit="student")
    for student in todo:
        try:
            (done.written if writer.write(assignment, student) else done.without).append(student)
        except NbgraderError as error:
            done.failed[student] = str(error)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return done
