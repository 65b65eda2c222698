"""Everything a worker needs to grade submissions of one assignment, in one picklable object.

A worker must not need the course folder (a cluster worker may not have it): the bundle carries
a gradebook snapshot holding only the assignment's definition (its source cells, as
``nbgrader generate_assignment`` recorded them in the course gradebook), the assignment's other
source files, the limits to grade under, and the answer key's trusted run of every test
(:mod:`.oracle`), which students' runs are compared with. The answer key itself is not in it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitlets.config import Config

from ..config import load_config
from ..integrity.policy import POLICY_FILE, IntegrityPolicy, read_policy
from ..paths import CourseError, assignment_dir
from .limits import LIMITS_FILE, Limits, read_limits
from .oracle import oracle_for
from .snapshot import snapshot_assignment
from .verdicts import NotebookOracle

# Files of a source folder that never travel with the assignment (nbgrader's default ignore list).
#: Each assignment's requirements table (issue 15): for `adcourse check`, never for a sandbox.
REQUIREMENTS_FILE = "requirements.toml"

_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*")


@dataclass(frozen=True)
class AssignmentBundle:
    """The assignment's definition, as workers need it."""

    assignment: str
    notebooks: tuple[str, ...]
    gradebook: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    integrity: IntegrityPolicy = field(default_factory=IntegrityPolicy)  # the tamper check's policy
    #: The course's nbgrader configuration (``nbgrader_config.py``), as plain ``{section: {name:
    #: value}}``: workers build nbgrader's preprocessors with it, as stock ``nbgrader autograde``
    #: does (e.g. ``c.IgnorePattern.pattern``, ``c.OverwriteCells...``).
    config: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The answer key's run of every test cell, by notebook (:mod:`.oracle`).
    oracle: dict[str, NotebookOracle] = field(default_factory=dict)
    #: When workers make each student's feedback pages with the grade (``autograde --feedback``):
    #: the digest of the course's ``nbgrader_config.py`` (:func:`~autograder.feedback_state.config_digest`);
    #: ``None``: no pages.
    feedback_config: str | None = None

    def nbgrader_config(self) -> Any:
        """The course configuration as a traitlets ``Config``."""
        from traitlets.config import Config

        return Config({section: dict(values) for section, values in self.config.items()})


def _source_files(folder: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (
            path.is_dir()
            or path.suffix == ".ipynb"
            or rel.as_posix() in (LIMITS_FILE, POLICY_FILE, REQUIREMENTS_FILE)
        ):
            continue
        if any(fnmatch.fnmatch(part, pattern) for part in rel.parts for pattern in _IGNORE):
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def build_bundle(
    course: Path, assignment: str, db_url: str, limits: Limits | None = None, config: Config | None = None
) -> AssignmentBundle:
    """Pack the assignment's definition from the course gradebook at ``db_url`` with its files.

    The assignment must be in that gradebook (``adcourse release`` / ``nbgrader
    generate_assignment`` put it there); like stock ``nbgrader autograde``, grading uses the
    definition recorded there, not the source notebook as it is now.

    The limits are ``limits`` (default: :class:`Limits`' defaults) with the assignment's own
    ``limits.toml`` on top (:func:`read_limits`). When they ask for the sandbox, it is tried here,
    once, before anything is graded: :class:`~.sandbox.SandboxUnavailable` if it cannot run.
    ``config`` is the course's nbgrader config, read from ``course`` when not given. The answer
    key (the source notebooks) is run once to give the oracle (:func:`~.oracle.oracle_for`, cached).
    """
    from . import pipeline
    from .sandbox import check_sandbox

    folder = assignment_dir(course, assignment)
    limits = read_limits(folder / LIMITS_FILE, limits)
    check_sandbox(limits)
    snapshot, notebooks = snapshot_assignment(db_url, assignment)
    policy = read_policy(folder / POLICY_FILE)
    config = load_config(course) if config is None else config
    pipeline.check_config(config)
    sections = {k: dict(v) for k, v in config.items() if isinstance(v, dict)}
    files = _source_files(folder)
    key = {}
    for name in notebooks:
        path = folder / f"{name}.ipynb"
        if not path.is_file():
            raise CourseError(
                f"the answer key {path} is missing: the grader compares every submission with it"
            )
        key[name] = path.read_bytes()
    oracle = oracle_for(assignment, key, snapshot, db_url, notebooks, files, limits, config)
    return AssignmentBundle(assignment, notebooks, snapshot, files, limits, policy, sections, oracle)
