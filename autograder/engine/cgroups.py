"""One control group per sandbox: memory, tasks and CPU time counted for the sandbox as a whole.

``prlimit`` bounds each process of a kernel on its own, so a submission that forks could hold
``max_processes`` times the memory limit. A control group (cgroup) counts every process of the
sandbox together. The kernel's launcher joins its cgroup before it starts bubblewrap
(:meth:`Cgroup.join_command`), so everything the kernel ever starts is counted in it:

* memory: the sum of all the sandbox's processes and of its tmpfs folders may not exceed
  ``memory_mb``; beyond it the kernel's OOM killer stops a process of the sandbox (and nothing
  else on the machine);
* tasks: at most ``max_processes`` processes and threads;
* CPU: a quota of ``threads`` cores (a busy submission cannot starve the others), and the
  sandbox's total CPU time, which :class:`CpuWatch` reads while the notebook runs and which ends
  the sandbox beyond ``cpu_seconds``.

Where cgroups come from, tried in this order (:func:`backend`): cgroup v2 with the memory, pids
and cpu controllers writable (most current Linux systems, as root); cgroup v1 with writable
memory, pids, cpu and cpuacct hierarchies (older systems and some containers); ``systemd-run
--scope`` where systemd manages the machine. Where none is available the limits hold per
process only, and grading says so once (:func:`warn_if_unavailable`). ``ADCOURSE_CGROUP`` set to
``v2``, ``v1``, ``systemd`` or ``none`` picks one.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .limits import Limits

V1_ROOT = Path("/sys/fs/cgroup")
V2_ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"))
#: The folder (under each hierarchy) that holds the sandboxes' cgroups.
PARENT = "adcourse"
_V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
_V2_CONTROLLERS = ("memory", "pids", "cpu")
_PERIOD_US = 100_000

#: What grading says once when no cgroup is available.
UNAVAILABLE = (
    "no cgroup is available here (cgroup v2 or v1 with writable memory and pids controllers, or "
    "systemd-run): memory, processes and CPU time are limited per process only, so a submission "
    "that forks may use up to max_processes x memory_mb; grade as root on Linux for per-sandbox limits"
)


def _write(path: Path, value: str) -> None:
    path.write_text(value)


@dataclass
class Cgroup:
    """One sandbox's cgroup: where it lives and how to read and end it."""

    kind: str  # "v2", "v1" or "systemd"
    folders: dict[str, Path] = field(default_factory=dict)  # controller -> folder ("" for v2)
    unit: str = ""  # systemd's scope
    limits: Limits | None = None  # what systemd-run sets on the scope

    def join_command(self, cmd: list[str]) -> list[str]:
        """``cmd`` started by a shell that first moves itself into this cgroup."""
        if self.kind == "systemd":
            assert self.limits is not None
            return systemd_command(self.unit, self.limits, cmd)
        files = sorted({str(folder / "cgroup.procs") for folder in self.folders.values()})
        script = " && ".join(f"echo 0 > {shlex.quote(f)}" for f in files) + ' && exec "$@"'
        return ["/bin/sh", "-c", script, "adcourse-cgroup", *cmd]

    def cpu_seconds(self) -> float:
        """CPU time used so far by every process the sandbox ever had."""
        try:
            if self.kind == "v1":
                return int((self.folders["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
            if self.kind == "v2":
                for line in (self.folders[""] / "cpu.stat").read_text().splitlines():
                    if line.startswith("usage_usec "):
                        return int(line.split()[1]) / 1e6
            if self.kind == "systemd":
                out = _systemctl("show", "-P", "CPUUsageNSec", self.unit)
                return int(out) / 1e9 if out.isdigit() else 0.0
        except (OSError, ValueError):
            pass
        return 0.0

    def oom_kills(self) -> int:
        """How many processes the OOM killer stopped in this sandbox."""
        try:
            if self.kind == "v1":
                text = (self.folders["memory"] / "memory.oom_control").read_text()
            elif self.kind == "v2":
                text = (self.folders[""] / "memory.events").read_text()
            else:
                return 0
        except OSError:
            return 0
        for line in text.splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def tasks(self) -> list[int]:
        """The processes in the sandbox now."""
        folder = self.folders.get("pids") or self.folders.get("")
        if folder is None:
            return []
        try:
            return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL every process of the sandbox (also those started while it is being ended)."""
        if self.kind == "systemd":
            _systemctl("kill", "--signal=SIGKILL", self.unit)
            return
        if self.kind == "v2" and (self.folders[""] / "cgroup.kill").exists():
            try:
                _write(self.folders[""] / "cgroup.kill", "1")
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while (pids := self.tasks()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

    def remove(self, timeout: float = 10.0) -> None:
        """Delete the cgroup (after its processes are gone)."""
        if self.kind == "systemd":
            return  # --collect: systemd removes the scope when its last process ends
        self.kill(timeout)
        for folder in self.folders.values():
            deadline = time.monotonic() + timeout
            while folder.exists():
                try:
                    folder.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


def _systemctl(*args: str) -> str:
    try:
        run = subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return run.stdout.strip()


def _v2_root() -> Path | None:
    for root in V2_ROOTS:
        controllers = root / "cgroup.controllers"
        try:
            if set(_V2_CONTROLLERS) <= set(controllers.read_text().split()):
                return root
        except OSError:
            continue
    return None


def _make_v2(name: str, limits: Limits) -> Cgroup:
    root = _v2_root()
    if root is None:
        raise OSError("cgroup v2 without the memory, pids and cpu controllers")
    parent = root / PARENT
    parent.mkdir(exist_ok=True)
    enabled = set((parent / "cgroup.subtree_control").read_text().split())
    missing = [c for c in _V2_CONTROLLERS if c not in enabled]
    if missing:
        _write(root / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))
        _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))
    folder = parent / name
    folder.mkdir()
    group = Cgroup("v2", {"": folder})
    try:
        _write(folder / "memory.max", str(limits.memory_mb * 1024 * 1024))
        if (folder / "memory.swap.max").exists():
            _write(folder / "memory.swap.max", "0")
        _write(folder / "pids.max", str(limits.max_processes))
        _write(folder / "cpu.max", f"{_PERIOD_US * max(1, limits.threads)} {_PERIOD_US}")
    except OSError:
        group.remove()
        raise
    return group


def _make_v1(name: str, limits: Limits) -> Cgroup:
    folders = {}
    group = Cgroup("v1", folders)
    try:
        for controller in _V1_CONTROLLERS:
            folder = V1_ROOT / controller / PARENT / name
            folder.mkdir(parents=True)
            folders[controller] = folder
        memory = str(limits.memory_mb * 1024 * 1024)
        _write(folders["memory"] / "memory.limit_in_bytes", memory)
        if (folders["memory"] / "memory.memsw.limit_in_bytes").exists():
            _write(folders["memory"] / "memory.memsw.limit_in_bytes", memory)
        _write(folders["pids"] / "pids.max", str(limits.max_processes))
        _write(folders["cpu"] / "cpu.cfs_period_us", str(_PERIOD_US))
        _write(folders["cpu"] / "cpu.cfs_quota_us", str(_PERIOD_US * max(1, limits.threads)))
    except OSError:
        group.remove()
        raise
    return group


def systemd_command(unit: str, limits: Limits, cmd: list[str]) -> list[str]:
    """``cmd`` run by ``systemd-run`` in a transient scope with the sandbox's limits."""
    return [
        "systemd-run",
        "--scope",
        "--quiet",
        "--collect",
        f"--unit={unit}",
        "-p",
        f"MemoryMax={limits.memory_mb * 1024 * 1024}",
        "-p",
        "MemorySwapMax=0",
        "-p",
        f"TasksMax={limits.max_processes}",
        "-p",
        f"CPUQuota={100 * max(1, limits.threads)}%",
        "--",
        *cmd,
    ]


def _systemd_available() -> bool:
    return shutil.which("systemd-run") is not None and Path("/run/systemd/system").is_dir()


_backend: list[str | None] = []


def backend() -> str | None:
    """The cgroup backend this machine offers (``"v2"``, ``"v1"``, ``"systemd"``), or None."""
    choice = os.environ.get("ADCOURSE_CGROUP", "auto")
    if choice == "none":
        return None
    if choice != "auto":
        return choice
    if _backend:
        return _backend[0]
    found = None
    probe = Limits()
    for kind, make in (("v2", _make_v2), ("v1", _make_v1)):
        try:
            make(f"probe-{uuid.uuid4().hex[:8]}", probe).remove()
        except OSError:
            continue
        found = kind
        break
    if found is None and _systemd_available():
        found = "systemd"
    _backend.append(found)
    return found


def create(name: str, limits: Limits) -> Cgroup | None:
    """A new cgroup for one sandbox under ``limits`` (None where the machine has none)."""
    kind = backend()
    if kind is None:
        return None
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60] + "-" + uuid.uuid4().hex[:8]
    if kind == "v2":
        return _make_v2(safe, limits)
    if kind == "v1":
        return _make_v1(safe, limits)
    return Cgroup("systemd", unit=f"adcourse-{safe}.scope", limits=limits)


def create_or_warn(name: str, limits: Limits) -> Cgroup | None:
    """:func:`create`, or None with a warning when the machine has no usable cgroup (a cgroup
    that cannot be made is never a reason not to grade: the per-process limits still hold)."""
    try:
        group = create(name, limits)
    except OSError as exc:
        warnings.warn(
            f"could not make a cgroup for {name} ({exc}); {UNAVAILABLE}", RuntimeWarning, stacklevel=2
        )
        return None
    if group is None:
        warn_if_unavailable()
    return group


_warned: list[bool] = []


def warn_if_unavailable() -> str | None:
    """Warn (once per process) that limits hold per process only; the warning's text, or None."""
    if backend() is not None:
        return None
    if not _warned:
        warnings.warn(UNAVAILABLE, RuntimeWarning, stacklevel=2)
        _warned.append(True)
    return UNAVAILABLE


class CpuWatch:
    """Ends the sandbox once its processes together used more than ``seconds`` of CPU time."""

    def __init__(self, group: Cgroup, seconds: float, every: float = 0.25) -> None:
        self.group, self.seconds, self.every = group, seconds, every
        self.exceeded = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-watch", daemon=True)

    def __enter__(self) -> CpuWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if self.group.cpu_seconds() > self.seconds:
                self.exceeded = True
                self.group.kill()
                return
