"""Releasing assignments with stock nbgrader, inside this process.

:class:`Releaser` runs nbgrader's own apps through its ``NbGraderAPI`` (as the formgrader does),
so a course's assignments are released by one Python process instead of one ``nbgrader``
subprocess per step and assignment:

* :meth:`Releaser.generate` is ``nbgrader generate_assignment NAME --force`` (the student version
  in ``release/NAME/`` and the assignment's definition in the gradebook);
* :meth:`Releaser.publish` is ``nbgrader release_assignment NAME --force`` (the student version
  copied into the course's exchange, where students' Assignments list finds it and the
  formgrader shows the assignment as *released* rather than *draft*);
* :meth:`Releaser.solution` is ``nbgrader generate_solution NAME --force`` without running the
  notebook: nbgrader's generate_solution executes the answer key in a kernel to fill in its
  outputs, which a grader that executes every submission itself does not need.

:func:`ensure_exchange` creates the exchange folder the way ``nbgrader release_assignment`` does
(world-writable, as nbgrader's file-system exchange requires), so that the formgrader does not
warn that it is missing.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any

import nbformat

from .config import load_config
from .nbgrader_cli import NbgraderError, ensure_scripts_on_path

#: The exchange's permissions, as ``nbgrader release_assignment`` creates it (rwx for everyone).
EXCHANGE_MODE = stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO


def exchange_root(course: Path) -> Path:
    """The exchange folder of ``course``, ``c.Exchange.root`` (default: ``/srv/nbgrader/exchange``)."""
    root = load_config(course).get("Exchange", {}).get("root") or "/srv/nbgrader/exchange"
    return Path(course, root).resolve()


def ensure_exchange(course: Path) -> tuple[Path, bool]:
    """Create the course's exchange folder if it is missing; ``(its path, whether it was created)``.

    Raises :class:`NbgraderError` naming the folder when it cannot be created.
    """
    root = exchange_root(course)
    if root.is_dir():
        return root, False
    try:
        root.mkdir(parents=True)
        os.chmod(root, EXCHANGE_MODE)  # mkdir's mode is masked by the umask; nbgrader chmods too
    except OSError as err:
        raise NbgraderError(f"cannot create the exchange folder {root}: {err.strerror or err}") from err
    return root, True


def _check(result: dict[str, Any], what: str) -> None:
    """Raise NbgraderError with the end of nbgrader's log when ``result`` reports a failure."""
    log = (result.get("log") or "") + (result.get("error") or "")
    if not result.get("success") or "[ERROR]" in log or "| ERROR]" in log:
        tail = "\n".join(log.strip().splitlines()[-25:])
        raise NbgraderError(f"nbgrader {what} failed:\n{tail}")


class Releaser:
    """Generates, releases and makes the answer keys of a course's assignments with nbgrader's API."""

    def __init__(self, course: Path) -> None:
        self.course = Path(course)
        self._api: Any = None

    def _nbgrader(self) -> Any:
        if self._api is None:
            from nbgrader.apps import NbGraderAPI
            from nbgrader.coursedir import CourseDirectory

            ensure_scripts_on_path()  # a new gradebook runs the ``alembic`` command
            # nbgrader's API looks at the exchange when it starts (and logs a CRITICAL line when
            # it is missing); one that cannot be created is reported by publish().
            with contextlib.suppress(NbgraderError):
                ensure_exchange(self.course)
            config = load_config(self.course)
            coursedir = CourseDirectory(config=config)
            coursedir.root = str(self.course)
            self._api = NbGraderAPI(coursedir=coursedir, config=config)
        return self._api

    def generate(self, name: str) -> Path:
        """``nbgrader generate_assignment NAME --force``; the release folder."""
        _check(
            self._nbgrader().generate_assignment(name, force=True, create=True), f"generate_assignment {name}"
        )
        return self.course / "release" / name

    def publish(self, name: str) -> Path:
        """``nbgrader release_assignment NAME --force``; the assignment's folder in the exchange."""
        from nbgrader.utils import capture_log, temp_attrs

        ensure_exchange(self.course)
        api = self._nbgrader()
        with temp_attrs(api.coursedir, assignment_id=name):
            app = api.exchange.ReleaseAssignment(
                coursedir=api.coursedir, authenticator=api.authenticator, parent=api
            )
            app.force = True
            _check(capture_log(app), f"release_assignment {name}")
        return exchange_root(self.course) / api.coursedir.course_id / "outbound" / name

    def solution(self, name: str) -> dict[str, nbformat.NotebookNode]:
        """The answer key of ``name`` as ``nbgrader generate_solution`` makes it, without its outputs.

        The assignment must be generated first (nbgrader makes solutions only of assignments in
        the gradebook). The key is also written to ``solution/NAME/``.
        """
        from nbgrader.converters import GenerateSolution
        from nbgrader.preprocessors import Execute
        from nbgrader.utils import capture_log, temp_attrs

        api = self._nbgrader()
        with temp_attrs(api.coursedir, assignment_id=name):
            app = GenerateSolution(coursedir=api.coursedir, parent=api)
            app.force = True
            app.preprocessors = [p for p in app.preprocessors if p is not Execute]
            _check(capture_log(app), f"generate_solution {name}")
        folder = self.course / "solution" / name
        return {p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))}
