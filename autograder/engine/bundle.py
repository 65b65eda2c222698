"""Everything a worker needs to grade submissions of one assignment, in one picklable object.

A worker must not need the course folder (a cluster worker may not have it): the bundle carries
a gradebook snapshot holding only the assignment's definition (its source cells, as
``nbgrader generate_assignment`` recorded them in the course gradebook), the assignment's other
source files, and the limits to grade under.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from traitlets.config import Config

from ..config import load_config
from ..integrity.policy import POLICY_FILE, IntegrityPolicy, read_policy
from ..paths import assignment_dir
from ..settings_file import read_settings
from .snapshot import snapshot_assignment

# Files of a source folder that never travel with the assignment (nbgrader's default ignore list).
_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*")

#: The per-assignment limits file, ``assignments/<name>/limits.toml`` (see :func:`read_limits`).
LIMITS_FILE = "limits.toml"

# The smallest memory and task limits a kernel is known to start under (ipykernel with numpy and
# adlib imported runs in 512 MiB of address space, with 12 tasks).
_MIN_MEMORY_MB = 512
_MIN_PROCESSES = 16


@dataclass(frozen=True)
class Limits:
    """The limits one submission's kernel runs under (one kernel per notebook).

    Attributes:
        cell_timeout: wall-clock seconds one cell may run; then the kernel is interrupted, the cell
            gets a ``CellTimeoutError`` and grading goes on with the next cell (status "timeout").
        notebook_timeout: wall-clock seconds the whole notebook may run; no cell starts after it,
            the running one is interrupted, and the tests not reached score 0 (status "timeout").
        cpu_seconds: CPU time of the kernel process (``RLIMIT_CPU``): SIGXCPU then kills it
            (status "timeout").
        memory_mb: address space of the kernel in MiB (``RLIMIT_AS``). An allocation beyond it
            fails (``MemoryError``; status "out of memory"). A kernel that has imported torch
            holds about 1.4 GiB of address space (mostly mapped libraries) before any work; the
            answer keys of a1-a6 peak at 1.5 GiB.
        max_processes: tasks (processes and threads, the kernel's own included) the kernel's user
            may have in its sandbox (``RLIMIT_NPROC`` in a private user namespace). A fork bomb
            stops there.
        file_mb: size in MiB of the largest file the kernel may write (``RLIMIT_FSIZE``) and of its
            private ``/tmp`` and ``/dev/shm``.
        output_kb: KiB of output (stream text and display data) one cell may record; what comes
            after is dropped, with a note. Error outputs are always recorded.
        output_lines: lines of stream output per cell kept in the graded notebook (nbgrader's
            ``LimitOutput.max_lines``; -1: no limit).
        threads: threads of the numeric libraries (OpenMP, OpenBLAS, MKL) in the kernel; they
            count against ``max_processes`` (a kernel with numpy and one thread has 12 tasks).
        sandbox: run the kernel in the bubblewrap sandbox (no network, only its own files). False
            is an explicit opt-out: the resource limits still apply, the isolation does not.
    """

    cell_timeout: int = 120
    notebook_timeout: int = 600
    cpu_seconds: int = 600
    memory_mb: int = 3072
    max_processes: int = 64
    file_mb: int = 64
    output_kb: int = 1024
    output_lines: int = 1000
    threads: int = 1
    sandbox: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            kind = bool if f.name == "sandbox" else int
            if type(value) is not kind:
                raise TypeError(f"{f.name} must be {kind.__name__}, got {type(value).__name__} {value!r}")
            if kind is int and value <= 0 and not (f.name == "output_lines" and value == -1):
                raise ValueError(f"{f.name} must be positive, got {value}")
        if self.memory_mb < _MIN_MEMORY_MB:
            raise ValueError(
                f"memory_mb must be at least {_MIN_MEMORY_MB} (the kernel alone needs that much), "
                f"got {self.memory_mb}"
            )
        if self.max_processes < _MIN_PROCESSES:
            raise ValueError(
                f"max_processes must be at least {_MIN_PROCESSES} (the kernel's own threads), "
                f"got {self.max_processes}"
            )


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

    def nbgrader_config(self) -> Any:
        """The course configuration as a traitlets ``Config``."""
        from traitlets.config import Config

        return Config({section: dict(values) for section, values in self.config.items()})


def _source_files(folder: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or path.suffix == ".ipynb" or rel.as_posix() in (LIMITS_FILE, POLICY_FILE):
            continue
        if any(fnmatch.fnmatch(part, pattern) for part in rel.parts for pattern in _IGNORE):
            continue
        files[rel.as_posix()] = path.read_bytes()
    return files


def read_limits(path: Path, base: Limits | None = None) -> Limits:
    """``base`` (default: :class:`Limits`'s defaults) with the values a ``limits.toml`` file sets.

    The file holds top-level ``key = value`` pairs named as :class:`Limits`' attributes, e.g.::

        # assignments/a5_pytorch_autograd/limits.toml
        memory_mb = 3072
        cell_timeout = 300

    A missing file changes nothing; an unknown key or a value of the wrong type is an error that
    names the file and the key.
    """
    return read_settings(path, base or Limits(), "limit")


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
    ``config`` is the course's nbgrader config, read from ``course`` when not given.
    """
    from .sandbox import check_sandbox

    folder = assignment_dir(course, assignment)
    limits = read_limits(folder / LIMITS_FILE, limits)
    check_sandbox(limits)
    snapshot, notebooks = snapshot_assignment(db_url, assignment)
    policy = read_policy(folder / POLICY_FILE)
    config = load_config(course) if config is None else config
    sections = {k: dict(v) for k, v in config.items() if isinstance(v, dict)}
    return AssignmentBundle(assignment, notebooks, snapshot, _source_files(folder), limits, policy, sections)
