"""``adcourse lab``: JupyterLab 4 with nbgrader's extension on the course, lectures and assignments.

nbgrader's server extensions find the course the way its command line does: the formgrader and the
Validate button read ``nbgrader_config.py`` from the server's *working directory* (nbgrader's
``NbGrader.load_config_file`` with ``load_cwd_config``), and the formgrader needs the course root
(``CourseDirectory.root``) inside the server's root directory, or it refuses to grade. So the server
runs with its working directory in the course folder and its root one level up (the repository
root, where ``course/``, ``lectures/`` and ``assignments/`` sit side by side).

The server listens on 127.0.0.1 only, with a random token handed over in the environment
(``JUPYTER_TOKEN``, so it never shows in the process list), fetches no news and checks for no
updates (the kit works offline). :func:`start_lab` starts it, waits until it answers and returns a
:class:`LabServer` with the URL, the token and :meth:`LabServer.stop`; the browser tests reuse it.

The kit's data folder (:data:`JUPYTER_DATA`) comes first on ``JUPYTER_PATH``: nbconvert finds its
``nbconvert/templates/formgrade/mathjax.html.j2`` before the stock macro, so nbgrader's
formgrader typesets math with the MathJax 2 that the ``jupyter-server-mathjax`` extension serves
from this server, instead of loading it from a CDN (raw TeX on a closed network).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .paths import CourseError

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8888
#: Jupyter data the kit adds (nbconvert templates), searched before the installed ones.
JUPYTER_DATA = Path(__file__).parent / "jupyter_data"
#: Seconds to wait for a new server to answer (it answers after ~3 s on the kit's 2-core machine).
START_TIMEOUT = 120.0
#: Seconds a stopping server gets to shut its kernels down before it is killed.
STOP_TIMEOUT = 30.0


class LabError(RuntimeError):
    """JupyterLab did not start, or did not answer in time."""


@dataclass(frozen=True)
class LabCommand:
    """How to run the server: the command line, its working directory and environment."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    root: Path
    token: str


def lab_command(
    course: Path,
    root: Path | None = None,
    *,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    state_dir: Path | None = None,
    extra_args: Sequence[str] = (),
) -> LabCommand:
    """The JupyterLab command for ``course``, served from ``root`` (default: the course's parent).

    ``port`` 0 lets the system pick a free port; otherwise JupyterLab tries the next ports when it
    is taken. ``token`` defaults to a fresh random one. With ``state_dir``, the server keeps its
    user settings, workspaces and runtime files there (a fresh JupyterLab, as tests need, without
    the news prompt: see :data:`SEEDED_SETTINGS`) instead of the user's ``~/.jupyter``.
    """
    course = Path(course).resolve()
    root = (Path(root) if root is not None else course.parent).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise CourseError(f"{course} is not a course folder: it has no nbgrader_config.py")
    if not root.is_dir():
        raise CourseError(f"the JupyterLab root {root} is not a folder")
    if not course.is_relative_to(root):
        raise CourseError(
            f"the course {course} must lie inside the JupyterLab root {root}: nbgrader's formgrader "
            "only grades a course under the server's root"
        )
    if not 0 <= port <= 65535:
        raise CourseError(f"port must be between 0 and 65535, got {port}")
    token = token or secrets.token_hex(24)
    argv = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--ip={LOOPBACK}",
        f"--port={port}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI run as root; jupyter refuses root otherwise
    # No MPLBACKEND: kernels then use matplotlib's inline backend, so figures show in the notebook.
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_TOKEN", "MPLBACKEND")}
    env["JUPYTER_TOKEN"] = token
    # The kit's nbconvert templates first: the formgrader then loads MathJax from this server.
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(JUPYTER_DATA), os.environ.get("JUPYTER_PATH")) if p)
    if state_dir is not None:
        state_dir = Path(state_dir).resolve()
        _seed_settings(state_dir / "user-settings")
        argv += [
            f"--LabApp.user_settings_dir={state_dir / 'user-settings'}",
            f"--LabApp.workspaces_dir={state_dir / 'workspaces'}",
        ]
        env["JUPYTER_RUNTIME_DIR"] = str(state_dir / "runtime")
    argv += list(extra_args)
    return LabCommand(argv=argv, cwd=course, env=env, root=root, token=token)


#: User settings of a fresh JupyterLab in a ``state_dir``: no "Would you like news?" prompt (offline kit).
SEEDED_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _seed_settings(settings_dir: Path) -> None:
    """Write :data:`SEEDED_SETTINGS` under ``settings_dir``, leaving settings already there alone."""
    for name, values in SEEDED_SETTINGS.items():
        path = settings_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2))


@dataclass
class LabServer:
    """A running JupyterLab: where it answers, its token, and how to stop it."""

    process: subprocess.Popen[bytes]
    url: str  # the server's base URL, ending in "/"
    token: str
    root: Path
    log: Path | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    def url_for(self, path: str = "lab") -> str:
        """The URL of ``path`` (e.g. ``lab/tree/lectures/x.ipynb`` or ``formgrader``) with the token."""
        return f"{self.url}{path.lstrip('/')}?token={self.token}"

    def answers(self) -> bool:
        """True when the server's REST API answers with the token."""
        request = urllib.request.Request(
            f"{self.url}api/status", headers={"Authorization": f"token {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait(self) -> int:
        """Block until the server exits; its exit code."""
        return self.process.wait()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Shut the server down (its kernels with it); kill it if it does not stop in ``timeout`` s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # jupyter_server shuts its kernels down on SIGTERM
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> LabServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _runtime_dir(env: dict[str, str]) -> Path:
    """Where a server started with ``env`` writes its ``jpserver-PID.json``."""
    if env.get("JUPYTER_RUNTIME_DIR"):
        return Path(env["JUPYTER_RUNTIME_DIR"])
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir())


def _tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.is_file():
        return ""
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(text)


def start_lab(
    course: Path,
    root: Path | None = None,
    *,
    port: int = 0,
    token: str | None = None,
    state_dir: Path | None = None,
    log: Path | None = None,
    timeout: float = START_TIMEOUT,
    extra_args: Sequence[str] = (),
) -> LabServer:
    """Start JupyterLab on ``course`` (see :func:`lab_command`) and wait until it answers.

    The server's output goes to ``log`` when given, else to this process's stdout and stderr.
    Raises :class:`LabError` (with the end of the log) if the server exits or stays silent for
    ``timeout`` seconds; the server is stopped then.
    """
    cmd = lab_command(course, root, port=port, token=token, state_dir=state_dir, extra_args=extra_args)
    log_file = open(log, "wb") if log is not None else None
    # A session of its own: Ctrl+C in the terminal reaches only us, and stop() shuts the server down
    # cleanly (jupyter's own SIGINT handler would ask "Shutdown this Jupyter server?" instead).
    process = subprocess.Popen(
        cmd.argv,
        cwd=cmd.cwd,
        env=cmd.env,
        stdout=log_file,
        stderr=subprocess.STDOUT if log_file else None,
        start_new_session=True,
    )
    server = LabServer(process, "", cmd.token, cmd.root, log, log_file)
    info_file = _runtime_dir(cmd.env) / f"jpserver-{process.pid}.json"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                raise LabError(f"JupyterLab exited with code {process.returncode}\n{_tail(log)}".rstrip())
            if not server.url and info_file.is_file():
                try:
                    server.url = json.loads(info_file.read_text())["url"]
                except (ValueError, KeyError):
                    pass  # written but not complete yet
            if server.url and server.answers():
                return server
            if time.monotonic() > deadline:
                raise LabError(f"JupyterLab did not answer within {timeout:g} s\n{_tail(log)}".rstrip())
            time.sleep(0.25)
    except BaseException:
        server.stop()
        raise
