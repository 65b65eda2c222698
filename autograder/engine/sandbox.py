"""A student's kernel, isolated: bubblewrap namespaces, resource limits, IPC transport.

Every notebook is executed by a kernel started as

    bwrap <namespaces and mounts> -- [setpriv <to nobody> -- unshare --user --] prlimit <limits> --
        python -m ipykernel_launcher -f <connection file>

* ``bwrap`` (bubblewrap) gives the kernel new mount, PID, network, IPC and UTS namespaces. It sees
  a read-only system (``/usr``, the loader's few files in ``/etc``), the Python interpreter and the
  virtual environment read-only, minus what its :class:`KernelView` hides (a student's kernel:
  the reference library, replaced by a stand-in with only its test helpers, and the packages of
  :mod:`.packages`); the submission's scratch folder (a tmpfs of ``file_mb``, filled with a copy
  of the submitted files when the kernel starts) and the kernel's runtime folder (connection file
  and sockets) read-write; a private ``/tmp`` and ``/dev/shm`` of bounded size; nothing else (no
  course folder, no solutions, no gradebook, no other submission). Its network namespace has only its own
  loopback, so it reaches nothing: the grader talks to it over ZeroMQ's ``ipc`` transport, Unix
  sockets in the runtime folder both sides see.
* As root, the kernel must not stay root (a root task ignores ``RLIMIT_NPROC``): ``setpriv`` drops
  it to ``nobody`` and ``unshare --user`` gives it a user namespace of its own, so the process
  limit counts the tasks of this sandbox only (since Linux 5.14, ``RLIMIT_NPROC`` is counted per
  user namespace). Run as an ordinary user, bwrap makes that user namespace itself.
* ``prlimit`` (util-linux) sets the resource limits of :class:`~autograder.engine.limits.Limits`
  per process; a cgroup per kernel (:mod:`.cgroups`), joined before bwrap starts, holds them for
  the sandbox as a whole.

bwrap must be installed (Debian: ``apt-get install -y bubblewrap``). When it is missing or cannot
make namespaces here, :func:`check_sandbox` raises :class:`SandboxUnavailable`; grading never falls
back to an unsandboxed kernel unless the limits say ``sandbox = false``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from adlib.grading.checks import MODE_VARIABLE as CHECKS_VARIABLE

from ..paths import CourseError
from .limits import Limits
from .packages import build_stand_in, masks

if TYPE_CHECKING:
    from ..integrity.monitor import KernelMonitor
    from .cgroups import Cgroup

#: Packages of this kit the answer key's kernel imports, shown read-only (found where the grading
#: process imports them from; ``adlib`` is installed editable, from its source folder). A
#: student's kernel gets a stand-in instead (:mod:`.packages`).
SHARED_PACKAGES = ("adlib",)

#: What a hidden package holds in a student's sandbox.
BLOCKED_MODULE = (
    "raise ImportError(f'{__name__} is not available while this assignment is graded: '\n"
    "                  'the answers must not use it (ask your instructor)')\n"
)

#: Where a kernel finds the stand-in adlib (first on its ``PYTHONPATH``).
STAND_IN_PATH = "/adcourse/lib"

#: The user a root grader runs kernels as.
NOBODY = 65534

#: System folders shown read-only (or recreated as the same symbolic link, on merged-/usr systems).
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

#: Files of /etc a Python process reads (the loader's cache, users for getpass, the time zone).
_ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/fonts",
)

#: Environment of the kernel; nothing of the grader's environment leaks in.
_LOCALE = "C.UTF-8"

#: Extra seconds between the soft CPU limit (SIGXCPU) and the hard one (SIGKILL).
_CPU_GRACE = 5

INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install -y bubblewrap), or grade without the "
    "sandbox on purpose: 'sandbox = false' in assignments/<name>/limits.toml or Limits(sandbox=False)"
)


class SandboxUnavailable(CourseError):
    """The kernel sandbox cannot run on this machine (bwrap missing or unable to make namespaces)."""


def _tool(name: str) -> str:
    """The full path of the command ``name`` on the PATH; :class:`SandboxUnavailable` if missing."""
    path = shutil.which(name)
    if path is None:
        raise SandboxUnavailable(f"the kernel sandbox needs {name!r}, which is not installed: {INSTALL_HINT}")
    return path


def sandbox_user() -> int | None:
    """The uid kernels run as: ``nobody`` when grading as root, else the grader's own (``None``)."""
    return NOBODY if os.geteuid() == 0 else None


def rlimit_args(limits: Limits) -> list[str]:
    """``prlimit`` options for ``limits``.

    * ``--as``: address space, ``memory_mb`` MiB (an allocation beyond it fails: ``MemoryError``);
    * ``--cpu``: ``cpu_seconds`` of CPU time (then SIGXCPU, SIGKILL :data:`_CPU_GRACE` s later);
    * ``--nproc``: ``max_processes`` tasks (processes and threads) of the kernel's user;
    * ``--fsize``: no file written larger than ``file_mb`` MiB (then SIGXFSZ);
    * ``--core=0``: no core dumps.
    """
    mib = 1024 * 1024
    return [
        _tool("prlimit"),
        f"--as={limits.memory_mb * mib}",
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + _CPU_GRACE}",
        f"--nproc={limits.max_processes}",
        f"--fsize={limits.file_mb * mib}",
        "--core=0",
        "--",
    ]


def limit_env(limits: Limits) -> dict[str, str]:
    """Environment variables that keep a kernel inside its limits: ``threads`` threads per numeric
    library, and two malloc arenas (each thread's arena would reserve 64 MiB of address space)."""
    threads = str(limits.threads)
    return {
        "OMP_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "MALLOC_ARENA_MAX": "2",
    }


def kernel_env(
    limits: Limits, extra_path: Iterable[str] = (), checks: str = "observe", pythonpath: str | None = None
) -> dict[str, str]:
    """The sandboxed kernel's whole environment (nothing of the grader's leaks in): a PATH, a
    private HOME and TMPDIR, a UTF-8 locale, matplotlib without a display, how its checks behave
    (``ADCOURSE_CHECKS``, :mod:`adlib.grading.checks`), where the stand-in adlib is, and
    :func:`limit_env`."""
    path = [*extra_path, "/usr/local/bin", "/usr/bin", "/bin"]
    env = {
        "PATH": ":".join(path),
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": _LOCALE,
        "LC_ALL": _LOCALE,
        "MPLBACKEND": "agg",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "PYTHONSAFEPATH": "1",  # the kernel's working folder is not on its module path
        CHECKS_VARIABLE: checks,
        **limit_env(limits),
    }
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def python_executable() -> str:
    """This Python's path without ``..`` steps (they may not exist inside the sandbox): a kit run
    as ``../.venv/bin/python`` from a sub-folder has ``sys.executable`` like ``/kit/benchmarks/../.venv/...``.
    Symbolic links are kept: a virtual environment's python must be started by its own path."""
    return os.path.abspath(sys.executable)


def _is_within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def python_mounts(shared: bool = True) -> list[Path]:
    """What the kernel's Python needs, read-only: the interpreter's prefix, the virtual environment
    and, with ``shared``, the source folders of :data:`SHARED_PACKAGES` (outermost folders only,
    no duplicates)."""
    wanted = [Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent.parent]
    for name in SHARED_PACKAGES if shared else ():
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        if spec.submodule_search_locations:
            wanted.extend(Path(p) for p in spec.submodule_search_locations)
        elif spec.origin:
            wanted.append(Path(spec.origin))
    found: list[Path] = []
    for path in sorted({p.resolve() for p in wanted if p.exists()}, key=lambda p: len(p.parts)):
        if not _is_within(path, found) and not _is_within(path, [Path(d) for d in _SYSTEM_DIRS]):
            found.append(path)
    return found


class _Mounts:
    """bwrap mount options, creating each missing parent folder world-traversable (0755)."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self._made: set[PurePosixPath] = {PurePosixPath("/")}

    def _parents(self, dest: PurePosixPath) -> None:
        for parent in reversed(dest.parents):
            if parent not in self._made:
                self.args += ["--perms", "0755", "--dir", str(parent)]
                self._made.add(parent)

    def add(self, option: str, dest: str | Path, *, source: str | Path | None = None, size: int = 0) -> None:
        """One mount of ``dest`` (``source`` for binds and symbolic links)."""
        target = PurePosixPath(dest)
        self._parents(target)
        if size:
            self.args += ["--size", str(size)]
        if option == "--tmpfs":
            self.args += ["--perms", "1777"]
        self.args += [option, *([str(source)] if source is not None else []), str(target)]
        self._made.add(target)


@dataclass(frozen=True)
class KernelView:
    """What a kernel sees of the grading machine's Python, and how its checks behave.

    ``checks`` is ``"observe"`` for a student's kernel (checks only record what they see) and
    ``"reference"`` for the answer key's trusted run. ``stand_in`` is the folder holding the
    stand-in adlib (:func:`~.packages.build_stand_in`; ``None``: the real adlib is shown), and
    ``masks`` the folders and files covered by empty read-only mounts.
    """

    checks: str = "reference"
    stand_in: Path | None = None
    masks: tuple[Path, ...] = ()

    @classmethod
    def student(cls, runtime: Path, modules: Iterable[str], packages: Iterable[str]) -> KernelView:
        """A student's view: the stand-in adlib with ``modules``, the hidden packages but
        ``packages`` covered, checks that only observe."""
        stand_in = build_stand_in(runtime / "lib", modules)
        return cls("observe", stand_in, tuple(masks(packages)))


def _mounted(path: Path, roots: Iterable[Path]) -> bool:
    return _is_within(path.resolve(), [r.resolve() for r in roots])


@dataclass(frozen=True)
class Sandbox:
    """Where one kernel runs, what it sees and under which limits.

    ``workdir`` is the kernel's working folder: a tmpfs of ``file_mb`` MiB at that path, filled
    at start with a copy of ``source`` (the submission's files; without ``source`` the host folder
    itself is shown). ``runtime`` holds its connection file and sockets. Both appear at their own
    paths inside; they are the only places it may write besides its private ``/tmp``.
    """

    limits: Limits
    workdir: Path
    runtime: Path
    view: KernelView = field(default_factory=KernelView)
    source: Path | None = None

    @property
    def blocked(self) -> Path:
        """What a hidden package's folder shows: a package whose import fails, saying why."""
        return self.runtime / "blocked"

    def prepare(self) -> None:
        """Create the runtime folder and hand the kernel's folders to the kernel's user."""
        self.runtime.mkdir(parents=True, exist_ok=True)
        self.blocked.mkdir(exist_ok=True)
        (self.blocked / "__init__.py").write_text(BLOCKED_MODULE, encoding="utf-8")
        self.workdir.mkdir(parents=True, exist_ok=True)
        uid = sandbox_user()
        if uid is None:
            return
        for folder in (self.workdir, self.runtime, *([self.source] if self.source else [])):
            for path in (folder, *folder.rglob("*")):
                os.chown(path, uid, uid, follow_symlinks=False)

    def _mounts(self) -> _Mounts:
        mib = 1024 * 1024
        tmp_bytes = self.limits.file_mb * mib
        mounts = _Mounts()
        for name in _SYSTEM_DIRS:
            path = Path(name)
            if path.is_symlink():
                mounts.add("--symlink", name, source=os.readlink(path))
            elif path.is_dir():
                mounts.add("--ro-bind", name, source=name)
        for name in _ETC_FILES:
            if Path(name).exists():
                mounts.add("--ro-bind", name, source=name)
        mounts.add("--proc", "/proc")
        mounts.add("--dev", "/dev")
        mounts.add("--tmpfs", "/dev/shm", size=tmp_bytes)
        mounts.add("--tmpfs", "/tmp", size=tmp_bytes)
        roots = python_mounts(shared=self.view.stand_in is None)
        for path in roots:
            mounts.add("--ro-bind", path, source=path)
        roots = [*roots, *(Path(d) for d in _SYSTEM_DIRS)]
        for hidden in self.view.masks:
            if _mounted(hidden, roots):
                cover = self.blocked if hidden.is_dir() else self.blocked / "__init__.py"
                mounts.add("--ro-bind", hidden, source=cover)
        if self.view.stand_in is not None:
            mounts.add("--ro-bind", STAND_IN_PATH, source=self.view.stand_in)
        if self.source is not None:
            mounts.add("--tmpfs", self.workdir, size=tmp_bytes)
            mounts.add("--ro-bind", self.source, source=self.source)
        else:
            mounts.add("--bind", self.workdir, source=self.workdir)
        mounts.add("--bind", self.runtime, source=self.runtime)
        return mounts

    def command(self, kernel_cmd: list[str]) -> list[str]:
        """The full command line that runs ``kernel_cmd`` in the sandbox."""
        uid = sandbox_user()
        args = [_tool("bwrap")]
        if uid is None:  # an ordinary user: bwrap makes the user namespace
            args.append("--unshare-user")
        args += [
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
            "--die-with-parent",
            *self._mounts().args,
            "--remount-ro",
            "/dev",
            "--remount-ro",
            "/",
            "--chdir",
            str(self.workdir),
            "--clearenv",
        ]
        venv_bin = str(Path(sys.prefix) / "bin")
        pythonpath = STAND_IN_PATH if self.view.stand_in is not None else None
        for key, value in kernel_env(self.limits, [venv_bin], self.view.checks, pythonpath).items():
            args += ["--setenv", key, value]
        args.append("--")
        if uid is not None:  # root: become nobody, in a user namespace of one's own
            args += [
                _tool("setpriv"),
                f"--reuid={uid}",
                f"--regid={uid}",
                "--clear-groups",
                "--no-new-privs",
                "--",
                _tool("unshare"),
                "--user",
                "--",
            ]
        if (
            self.source is not None
        ):  # fill the scratch tmpfs with the submission's files, as the kernel's user
            copy = 'cp -R "$1"/. "$2"/ && shift 2 && exec "$@"'
            args += ["/bin/sh", "-c", copy, "adcourse-copy", str(self.source), str(self.workdir)]
        return args + rlimit_args(self.limits) + kernel_cmd


def unsandboxed_command(limits: Limits, kernel_cmd: list[str]) -> list[str]:
    """``kernel_cmd`` with the resource limits only (``sandbox = false``): no namespaces, no mounts."""
    return rlimit_args(limits) + kernel_cmd


_checked: set[tuple[object, ...]] = set()


def check_sandbox(limits: Limits, scratch: Path | None = None) -> None:
    """Run a trivial Python in the sandbox ``limits`` describe (once per process and setting).

    Raises :class:`SandboxUnavailable`, with what to do, when it cannot run here: bwrap or a
    util-linux tool missing, or namespaces forbidden (e.g. in an unprivileged container).
    Does nothing when ``limits.sandbox`` is False.
    """
    if not limits.sandbox:
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="adsandbox-check-", dir=scratch) as tmp:
        box = Sandbox(limits, Path(tmp) / "work", Path(tmp) / "kernel")
        box.workdir.mkdir()
        probe = "; ".join(f"import {name}" for name in SHARED_PACKAGES) or "pass"
        cmd = box.command([python_executable(), "-c", probe])  # SandboxUnavailable if a tool is missing
        key = (limits, sandbox_user(), cmd[0])
        if key in _checked:
            return
        box.prepare()
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailable(f"the kernel sandbox could not start ({exc}); {INSTALL_HINT}") from exc
    if run.returncode != 0:
        reason = " ".join((run.stderr or run.stdout).strip().splitlines()[-3:])
        raise SandboxUnavailable(
            f"the kernel sandbox does not work on this machine (exit {run.returncode}: {reason[:300]}); "
            f"{INSTALL_HINT}"
        )
    _checked.add(key)


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in a :class:`Sandbox` and speaks over ``ipc`` sockets.

    It keeps the kernel's process, its exit status (:attr:`returncode`) and its stderr (a log in
    the runtime folder), which tell why a kernel died.
    """

    def __init__(
        self,
        sandbox: Sandbox | None,
        limits: Limits,
        runtime: Path,
        monitor: KernelMonitor | None = None,
        view: KernelView | None = None,
        cgroup: Cgroup | None = None,
        **kwargs: Any,
    ) -> None:
        runtime.mkdir(parents=True, exist_ok=True)
        connection_file = str(runtime / "kernel.json")
        super().__init__(transport="ipc", connection_file=connection_file, **kwargs)
        self.ip = str(runtime / "kernel-ipc")
        self._sandbox = sandbox
        self._limits = limits
        self._monitor = monitor
        self._view = view if view is not None else (sandbox.view if sandbox is not None else KernelView())
        self._cgroup = cgroup
        self.log_path = runtime / "kernel.log"
        self._process: subprocess.Popen[bytes] | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernel spec's command, with the tamper check's file monitor if there is one, wrapped
        in the sandbox (or in the limits alone)."""
        cmd = super().format_kernel_cmd(extra_arguments)
        if cmd and cmd[0] == sys.executable:
            cmd = [python_executable(), *cmd[1:]]
        if self._monitor is not None:
            cmd = self._monitor.command(cmd)
        if self._sandbox is None:
            cmd = unsandboxed_command(self._limits, cmd)
        else:
            cmd = self._sandbox.command(cmd)
        return self._cgroup.join_command(cmd) if self._cgroup is not None else cmd

    def write_connection_file(self, **kwargs: Any) -> None:
        """Write the connection file, readable by the kernel's user."""
        super().write_connection_file(**kwargs)
        uid = sandbox_user() if self._sandbox is not None else None
        if uid is not None:
            os.chown(self.connection_file, uid, uid)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if self._sandbox is None:  # the grader's environment, with the limits' and the checks' variables
            env = {**kw.get("env", os.environ), **limit_env(self._limits), CHECKS_VARIABLE: self._view.checks}
            if self._view.stand_in is not None:
                env["PYTHONPATH"] = str(self._view.stand_in)
            kw["env"] = env
        if self._monitor is not None:  # the kernel inherits the monitor's end of its pipe
            kw["pass_fds"] = (self._monitor.pass_fd,)
        with open(self.log_path, "wb") as log:
            kw["stdout"] = kw["stderr"] = log
            await super()._async_launch_kernel(kernel_cmd, **kw)
        if self._monitor is not None:
            self._monitor.launched()
        assert self.provisioner is not None
        self._process = getattr(self.provisioner, "process", None)

    @property
    def kernel_spec(self) -> KernelSpec | None:
        """The kernel spec, set to be interrupted by a message (the kernel then sends itself
        SIGINT): SIGINT to the kernel's process group would kill bwrap, and the kernel with it."""
        spec = super().kernel_spec
        if spec is not None and self._sandbox is not None:
            spec.interrupt_mode = "message"
        return spec

    def returncode(self, timeout: float = 10.0) -> int | None:
        """The kernel process's exit status (waiting up to ``timeout`` s), ``None`` if still running."""
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, limit: int = 4000) -> str:
        """The end of what the kernel wrote to its stdout and stderr."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - limit))
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""


def killing_signal(returncode: int | None) -> int | None:
    """The signal that ended the kernel: Popen's ``-N``, or bwrap's ``128 + N``."""
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    if 128 < returncode < 128 + signal.NSIG:
        return returncode - 128
    return None
