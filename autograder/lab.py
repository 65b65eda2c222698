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

Two modes. The instructor's (the default) serves the course with nbgrader's whole extension:
formgrader, Create Assignment, the assignment list, Validate. The student's (``student=True``)
serves a student's own folder (default ``<course's parent>/student``), working directory
included, with only the assignment list (fetch and submit through the course's exchange) and
Validate: the formgrader's server extension is off, and its Lab plugins (formgrader, Create
Assignment, course list) are disabled in the page config. The student's nbgrader config (the
course id and the exchange, read from the course's config) lies in a folder of its own on
``JUPYTER_CONFIG_PATH``, where nbgrader's server extensions read it, so the student's folder
gets no instructor's config. In both modes JupyterLab's application settings folder is the kit's
(:data:`LAB_SETTINGS`): its ``overrides.json`` turns the "Would you like to receive official
Jupyter news?" prompt off by default, and the student's ``page_config.json`` disables the
instructor's plugins.

Stopping: :meth:`LabServer.stop` sends the server SIGTERM (jupyter_server then shuts its kernels
down), kills it after :data:`STOP_TIMEOUT` seconds, and then kills any kernel it left behind.
The server is also told to stop when the process that started it dies (Linux's parent-death
signal), so ``kill -9`` on ``adcourse lab`` leaves no server on its port. :func:`serve` turns
SIGTERM, SIGHUP and Ctrl+C (SIGINT) in ``adcourse lab`` into that stop.

The kit's data folder (:data:`JUPYTER_DATA`) comes first on ``JUPYTER_PATH``: nbconvert finds its
``nbconvert/templates/formgrade/mathjax.html.j2`` before the stock macro, so nbgrader's
formgrader typesets math with the MathJax 2 that the ``jupyter-server-mathjax`` extension serves
from this server, instead of loading it from a CDN (raw TeX on a closed network).
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .config import load_config
from .paths import CourseError

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8888
#: Jupyter data the kit adds (nbconvert templates), searched before the installed ones.
JUPYTER_DATA = Path(__file__).parent / "jupyter_data"
#: JupyterLab's application settings folder for each mode (overrides.json, page_config.json).
LAB_SETTINGS = {
    "instructor": JUPYTER_DATA / "lab" / "instructor" / "settings",
    "student": JUPYTER_DATA / "lab" / "student" / "settings",
}
#: nbgrader's server extensions a student's server runs without.
STUDENT_OFF_EXTENSIONS = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")
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


def default_student_root(course: Path) -> Path:
    """Where a student's server works by default: ``student/`` beside the course folder."""
    return Path(course).resolve().parent / "student"


def student_config(course: Path) -> str:
    """The nbgrader config a student's server runs with: the course's id and exchange.

    Raises CourseError when the course config sets no course id (nbgrader's assignment list then
    shows no course).
    """
    from .release import exchange_root

    course_id = load_config(course).get("CourseDirectory", {}).get("course_id")
    if not course_id:
        raise CourseError(
            f"{course / 'nbgrader_config.py'} sets no c.CourseDirectory.course_id: students' assignment "
            "list needs it to find the course's released assignments"
        )
    return (
        "# A student's nbgrader config, written by adcourse lab --student: the course and its exchange.\n\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {str(course_id)!r}\n"
        f"c.Exchange.root = {str(exchange_root(course))!r}\n"
    )


def lab_command(
    course: Path,
    root: Path | None = None,
    *,
    port: int = DEFAULT_PORT,
    token: str | None = None,
    state_dir: Path | None = None,
    extra_args: Sequence[str] = (),
    student: bool = False,
    config_dir: Path | None = None,
) -> LabCommand:
    """The JupyterLab command for ``course``, served from ``root``.

    Instructor (default): ``root`` defaults to the course's parent, which must hold the course;
    the server works in the course folder. Student (``student=True``): ``root`` defaults to
    :func:`default_student_root` (created if missing) and the server works there; the student's
    nbgrader config (:func:`student_config`) is written to ``config_dir``, which goes first on
    ``JUPYTER_CONFIG_PATH`` (required in this mode).

    ``port`` 0 lets the system pick a free port; otherwise JupyterLab tries the next ports when it
    is taken. ``token`` defaults to a fresh random one. With ``state_dir``, the server keeps its
    user settings, workspaces and runtime files there (a fresh JupyterLab, as tests need) instead
    of the user's ``~/.jupyter``; a fresh one asks no news question either (:data:`LAB_SETTINGS`).
    """
    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise CourseError(f"{course} is not a course folder: it has no nbgrader_config.py")
    if student and root is None:
        default_student_root(course).mkdir(exist_ok=True)
    root = (
        Path(root) if root is not None else default_student_root(course) if student else course.parent
    ).resolve()
    if not root.is_dir():
        raise CourseError(f"the JupyterLab root {root} is not a folder")
    if not student and not course.is_relative_to(root):
        raise CourseError(
            f"the course {course} must lie inside the JupyterLab root {root}: nbgrader's formgrader "
            "only grades a course under the server's root"
        )
    if not 0 <= port <= 65535:
        raise CourseError(f"port must be between 0 and 65535, got {port}")
    token = token or secrets.token_hex(24)
    mode = "student" if student else "instructor"
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
        f"--LabApp.app_settings_dir={LAB_SETTINGS[mode]}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI run as root; jupyter refuses root otherwise
    # No MPLBACKEND: kernels then use matplotlib's inline backend, so figures show in the notebook.
    env = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_TOKEN", "MPLBACKEND")}
    env["JUPYTER_TOKEN"] = token
    # The kit's nbconvert templates first: the formgrader then loads MathJax from this server.
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(JUPYTER_DATA), os.environ.get("JUPYTER_PATH")) if p)
    if student:
        if config_dir is None:
            raise ValueError("a student's server needs a config_dir for its nbgrader config")
        config_dir = Path(config_dir).resolve()
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "nbgrader_config.py").write_text(student_config(course), encoding="utf-8")
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
            p for p in (str(config_dir), os.environ.get("JUPYTER_CONFIG_PATH")) if p
        )
        argv += [f"--ServerApp.jpserver_extensions={name}=False" for name in STUDENT_OFF_EXTENSIONS]
    if state_dir is not None:
        state_dir = Path(state_dir).resolve()
        argv += [
            f"--LabApp.user_settings_dir={state_dir / 'user-settings'}",
            f"--LabApp.workspaces_dir={state_dir / 'workspaces'}",
        ]
        env["JUPYTER_RUNTIME_DIR"] = str(state_dir / "runtime")
    argv += list(extra_args)
    return LabCommand(argv=argv, cwd=root if student else course, env=env, root=root, token=token)


@dataclass
class LabServer:
    """A running JupyterLab: where it answers, its token, and how to stop it."""

    process: subprocess.Popen[bytes]
    url: str  # the server's base URL, ending in "/"
    token: str
    root: Path
    log: Path | None = None
    _log_file: IO[bytes] | None = field(default=None, repr=False)
    cleanup: Callable[[], None] | None = field(default=None, repr=False)  # run once the server is gone

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
        """Shut the server down (its kernels with it); kill it if it does not stop in ``timeout`` s.

        Kernels still running once the server is gone (a server that was killed could not shut
        them down) are killed too, so that nothing the server started outlives it.
        """
        if self.process.poll() is None:
            kernels = _descendants(self.process.pid)
            self.process.send_signal(signal.SIGTERM)  # jupyter_server shuts its kernels down on SIGTERM
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            for pid, started in kernels:
                _kill_if_same(pid, started)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.cleanup is not None:
            self.cleanup()
            self.cleanup = None

    def __enter__(self) -> LabServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _start_time(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot, from /proc), or None if it is gone."""
    try:
        fields_after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields_after_name[19])  # field 22 of stat; the name's ")" ends field 2


def _descendants(pid: int) -> list[tuple[int, int]]:
    """``(pid, start time)`` of every live descendant of ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int(Path(entry, "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        started = _start_time(child)
        if started is not None:
            found.append((child, started))
        todo += children.get(child, [])
    return found


def _kill_if_same(pid: int, started: int) -> None:
    """SIGKILL ``pid`` if it is still the process that started at ``started`` (not a reused pid)."""
    if _start_time(pid) == started:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _die_with_parent() -> None:
    """In the server's process, before it runs: SIGTERM when the process that started it dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: adcourse lab's signal handlers still stop the server


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
    student: bool = False,
) -> LabServer:
    """Start JupyterLab on ``course`` (see :func:`lab_command`) and wait until it answers.

    The server's output goes to ``log`` when given, else to this process's stdout and stderr.
    Raises :class:`LabError` (with the end of the log) if the server exits or stays silent for
    ``timeout`` seconds; the server is stopped then. A student's server gets its nbgrader config
    in a temporary folder, removed when the server stops.
    """
    config_dir = Path(tempfile.mkdtemp(prefix="adcourse-student-config-")) if student else None

    def remove_config() -> None:
        if config_dir is not None:
            shutil.rmtree(config_dir, ignore_errors=True)

    try:
        cmd = lab_command(
            course,
            root,
            port=port,
            token=token,
            state_dir=state_dir,
            extra_args=extra_args,
            student=student,
            config_dir=config_dir,
        )
    except BaseException:
        remove_config()
        raise
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
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    server = LabServer(process, "", cmd.token, cmd.root, log, log_file, cleanup=remove_config)
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


#: The signals that stop ``adcourse lab``: Ctrl+C, ``kill``, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stop(Exception):
    """Raised by the signal handler in :func:`serve`'s thread: stop the server."""


def serve(server: LabServer, on_stop: Callable[[str], None] | None = None) -> int:
    """Wait for the server to exit, stopping it (kernels included) on any of :data:`STOP_SIGNALS`.

    Returns 0 when a signal stopped it, else the server's exit code. ``on_stop`` gets the
    signal's name once it arrives. Signals that come while the server is stopping are ignored:
    the stop always runs to its end (it kills the server after :data:`STOP_TIMEOUT` seconds).
    """
    received: list[str] = []

    def handler(signum: int, _frame: object) -> None:
        if not received:
            received.append(signal.Signals(signum).name)
            raise _Stop

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        try:
            code = server.wait()
        except _Stop:
            code = 0
        if received and on_stop is not None:
            on_stop(received[0])
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        server.stop()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return code
