"""The limits one submission is graded under, and the per-assignment file that changes them.

The limits hold per sandbox where the machine can count a sandbox as a whole (a cgroup per kernel,
:mod:`.cgroups`), and per process always (``prlimit``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from ..settings_file import read_settings

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
        cpu_seconds: CPU time of the whole sandbox, every process in it summed (a cgroup's CPU
            account, watched by the grader, which then kills the sandbox), and of each process
            (``RLIMIT_CPU``: SIGXCPU then kills it). Status "timeout".
        memory_mb: memory in MiB of the whole sandbox, every process and its private ``/tmp`` and
            scratch folder summed (a cgroup's memory limit: the kernel's OOM killer stops a
            process beyond it), and the address space of each process (``RLIMIT_AS``: an
            allocation beyond it fails with ``MemoryError``). Status "out of memory". A kernel that
            has imported torch holds about 1.4 GiB of address space (mostly mapped libraries)
            before any work; the answer keys of a1-a6 peak at 1.5 GiB.
        max_processes: tasks (processes and threads, the kernel's own included) the sandbox may
            hold (a cgroup's pids limit, and ``RLIMIT_NPROC`` in a private user namespace). A fork
            bomb stops there.
        file_mb: size in MiB of the sandbox's scratch folder (the submission's files and what the
            kernel writes next to them), of its private ``/tmp`` and ``/dev/shm`` (each a tmpfs
            of that size: a disk filler stops there), and of the largest file it may write
            (``RLIMIT_FSIZE``).
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
