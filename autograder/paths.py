"""Where the course lives: the course root, source assignments and test corpora.

The course an ``adcourse`` command works on is found as nbgrader finds its config, in this order
(:func:`locate_course`):

1. the folder given with ``--course``;
2. the current folder, or the nearest parent folder, holding ``nbgrader_config.py`` (a course
   root, where stock nbgrader's commands run), or holding ``course/nbgrader_config.py`` next to
   ``assignments/`` (the root of a copy of this kit);
3. the folder named by the environment variable ``ADCOURSE_ROOT``;
4. the kit's own ``course/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The kit's own course root (the last place :func:`locate_course` looks).
KIT_COURSE = REPO_ROOT / "course"
CONFIG_FILE = "nbgrader_config.py"


class CourseError(ValueError):
    """A course folder, assignment or submission that is not what the command needs."""


@dataclass(frozen=True)
class CourseLocation:
    """A course root and how it was found (``how``: for a note to the user)."""

    root: Path
    how: str
    explicit: bool = False


def _is_course(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file()


def find_enclosing_course(start: Path) -> CourseLocation | None:
    """The course of ``start`` or of its nearest parent (rule 2 of the module docstring), or None."""
    start = start.resolve()
    for folder in (start, *start.parents):
        where = "the current folder" if folder == start else f"the parent folder {folder}"
        if _is_course(folder):
            return CourseLocation(folder, f"found in {where}")
        kit_course = folder / "course"
        if _is_course(kit_course) and (folder / "assignments").is_dir():
            kit = "this kit" if folder == REPO_ROOT.resolve() else "the kit copy"
            return CourseLocation(kit_course, f"the course of {kit} in {where}")
    return None


def locate_course(path: str | os.PathLike[str] | None = None, cwd: Path | None = None) -> CourseLocation:
    """The course root an ``adcourse`` command works on (see the module docstring for the order).

    Raises CourseError when the chosen folder holds no ``nbgrader_config.py``.
    """
    if path:
        found = CourseLocation(Path(path).resolve(), "given with --course", explicit=True)
    elif (enclosing := find_enclosing_course(cwd or Path.cwd())) is not None:
        found = enclosing
    elif os.environ.get("ADCOURSE_ROOT"):
        found = CourseLocation(Path(os.environ["ADCOURSE_ROOT"]).resolve(), "from $ADCOURSE_ROOT")
    else:
        found = CourseLocation(KIT_COURSE.resolve(), "the kit's own course")
    if not _is_course(found.root):
        raise CourseError(f"{found.root} is not a course folder: it has no {CONFIG_FILE}")
    return found


def course_root(path: str | os.PathLike[str] | None = None) -> Path:
    """The nbgrader course root: ``path`` if given, else as :func:`locate_course` finds it."""
    return locate_course(path).root


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


def safe_relative(rel: str) -> bool:
    """Whether ``rel`` names a file inside a folder (relative, no ``..``), as sent between the
    client and its workers."""
    path = PurePosixPath(rel)
    return bool(rel) and not path.is_absolute() and ".." not in path.parts and "\\" not in rel
