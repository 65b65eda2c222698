"""Where the course lives: the repository's course root, source assignments and test corpora."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class CourseError(ValueError):
    """A course folder, assignment or submission that is not what the command needs."""


def course_root(path: str | os.PathLike[str] | None = None) -> Path:
    """The nbgrader course root: ``path`` if given, else ``$ADCOURSE_ROOT``, else the kit's ``course/``."""
    root = Path(path or os.environ.get("ADCOURSE_ROOT") or REPO_ROOT / "course").resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise CourseError(f"{root} is not a course folder: it has no nbgrader_config.py")
    return root


def source_root(course: Path) -> Path:
    """The folder of source assignments that ``course``'s config points at (``../assignments``)."""
    return (course.parent / "assignments").resolve()


def assignment_names(course: Path) -> list[str]:
    """Every assignment in the course's source folder, sorted."""
    src = source_root(course)
    return (
        sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))) if src.is_dir() else []
    )


def assignment_dir(course: Path, name: str) -> Path:
    """The source folder of assignment ``name``; a clear error when there is none."""
    folder = source_root(course) / name
    if not folder.is_dir() or not any(folder.glob("*.ipynb")):
        known = ", ".join(assignment_names(course)) or "none"
        raise CourseError(f"unknown assignment {name!r} (known: {known})")
    return folder


def mutants_file(name: str) -> Path:
    """The corpus of typical wrong submissions for assignment ``name``."""
    return REPO_ROOT / "tests" / "mutants" / f"{name}.toml"
