"""Running stock nbgrader commands in a course folder, with errors that say what went wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message ends with the tail of its log."""


def nbgrader_env() -> dict[str, str]:
    """The environment nbgrader needs: this Python's scripts first on PATH (nbgrader calls ``alembic``)."""
    env = dict(os.environ)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def ensure_scripts_on_path() -> None:
    """Put this Python's scripts first on PATH for in-process nbgrader calls.

    nbgrader's Gradebook runs the ``alembic`` command when it creates a new database.
    """
    scripts = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != scripts:
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def run_nbgrader(course: Path, *args: str, timeout: float | None = 1800) -> str:
    """Run ``nbgrader ARGS`` inside ``course``; return its combined output or raise NbgraderError."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(
        cmd, cwd=course, env=nbgrader_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or "[ERROR]" in output or "| ERROR]" in output:
        tail = "\n".join(output.strip().splitlines()[-25:])
        raise NbgraderError(f"nbgrader {' '.join(args)} failed in {course} (exit {proc.returncode}):\n{tail}")
    return output
