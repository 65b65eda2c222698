"""The grader's side of the file monitor: start the kernel with the audit hook, read its reports.

The kernel is launched as ``python -c <kernel_hook source> ...`` instead of ``python -m
ipykernel_launcher`` (:meth:`KernelMonitor.command`), with the write end of a pipe it inherits
(:attr:`KernelMonitor.pass_fd`). The hook (:mod:`.kernel_hook`) reports on that pipe every file or
folder that code run from a cell opens outside the allowed folders, and each cell it starts. A
reader thread collects the reports while the notebook runs; :meth:`KernelMonitor.findings` then
turns them into findings, each placed at the line of the student's cell that opened the file
(also when a test cell called the student's function that did it).

Student code can cut the pipe (close its descriptor) but cannot do so unseen: the pipe then ends
before the grader stops the kernel, or the kernel stops reporting the cells it starts. Either is
a finding.
"""

from __future__ import annotations

import ast
import json
import os
import select
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .cells import CodeCell
from .findings import MONITOR, OUTSIDE_FILE, Finding, unique

#: System folders a kernel reads from (libraries, devices, its own process): never flagged.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/sys", "/dev")

#: Reports kept per kernel (the hook itself stops after 500 file reports).
MAX_EVENTS = 5000

#: What the kernel's launcher runs once the hook is in: ``python -m ipykernel_launcher``'s code.
IPYKERNEL = """import sys
if sys.path and sys.path[0] in ('', '.'):
    del sys.path[0]
from ipykernel import kernelapp as app
app.launch_new_instance()"""

#: How findings describe the hook's folder events (anything else was an ``open``).
_VERBS = {"os.listdir": "listed", "os.scandir": "listed", "os.chdir": "moved to", "glob.glob": "searched"}

#: What an unreadable report line counts as.
_GARBAGE = {"e": "garbage"}


class MonitorError(RuntimeError):
    """The kernel command cannot carry the monitor (it does not run ``ipykernel_launcher``)."""


def cell_file(source: str) -> str:
    """The file name IPython's kernel compiles a cell of ``source`` under (in its temp folder)."""
    from ipykernel.compiler import get_tmp_hash_seed, murmur2_x86

    return f"{murmur2_x86(source, get_tmp_hash_seed())}.py"


def _home_dirs() -> list[Path]:
    """Configuration and cache folders a kernel reads when it runs without the sandbox."""
    home = Path.home()
    found = [home / ".cache", home / ".config", home / ".ipython", home / ".local", home / ".matplotlib"]
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR", "IPYTHONDIR"):
        if os.environ.get(var):
            found.append(Path(os.environ[var]))
    return found


def kernel_roots(workdir: Path, sandboxed: bool) -> tuple[list[list[str]], list[str]]:
    """``(roots, deny)`` for the hook (:mod:`.kernel_hook` says what the kinds of root allow).

    * ``"work"``: the submission's scratch folder (and, without the sandbox, the grader's
      configuration and cache folders, which the kernel shares then);
    * ``"read"``: the Python installation, the virtual environment and the shared packages (what
      the sandbox shows read-only) and the system folders;
    * ``"tmp"``: ``/tmp``, private to the kernel in the sandbox (shared without it: not a root).

    Denied, even under a root: the submission's grading folder around its scratch folder
    (gradebook snapshot, kernel connection file) and every other submission's.
    """
    from ..engine.sandbox import python_mounts

    work = workdir.resolve()
    found: dict[str, str] = {}
    for path in [*python_mounts(), *(Path(d) for d in SYSTEM_DIRS if Path(d).exists())]:
        found[str(path.resolve())] = "read"
    if sandboxed:
        found["/tmp"] = "tmp"
    else:
        found.update({str(p.resolve()): "work" for p in _home_dirs()})
    found[str(work)] = "work"
    deny = [f"{work.parent}/", f"{work.parent.parent}/adgrade-"]
    return [[path, kind] for path, kind in sorted(found.items()) if path != "/"], deny


class KernelMonitor:
    """One kernel's monitor: the pipe, the launcher command, the reader and the verdict."""

    def __init__(self, workdir: Path, sandboxed: bool) -> None:
        self.roots, self.deny = kernel_roots(workdir, sandboxed)
        self.workdir = workdir
        self._read_fd, self.pass_fd = os.pipe()
        self.events: list[dict[str, Any]] = []
        self.dropped = 0
        self.eof = False
        self.eof_while_running = False
        self._stopping = False
        self.started: list[int] = []
        self.kernel_died = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ launching

    def command(self, cmd: list[str]) -> list[str]:
        """``cmd`` (``python -m ipykernel_launcher -f FILE``) with the hook run first."""
        for i in range(len(cmd) - 1):
            if cmd[i] == "-m" and cmd[i + 1] == "ipykernel_launcher":
                return [*cmd[:i], "-c", self.launcher(), *cmd[i + 2 :]]
        raise MonitorError(
            f"the file monitor needs an IPython kernel started as 'python -m ipykernel_launcher'; the "
            f"kernel command is {' '.join(cmd)[:200]!r}: set 'monitor = false' in the assignment's "
            "integrity.toml to grade without it"
        )

    def launcher(self, then: str = IPYKERNEL) -> str:
        """The kernel's ``-c`` program: the hook, installed, then ``then`` (ipykernel's launcher)."""
        hook = (Path(__file__).parent / "kernel_hook.py").read_text(encoding="utf-8")
        install = f"install({self.pass_fd}, {self.roots!r}, {self.deny!r})"
        return "\n".join([hook, install, "del install", then, ""])

    def launched(self) -> None:
        """The kernel has started with its end of the pipe: close ours and start reading."""
        if self.pass_fd >= 0:
            os.close(self.pass_fd)
            self.pass_fd = -1
        self._thread = threading.Thread(target=self._read, name="kernel-monitor", daemon=True)
        self._thread.start()

    def stopping(self) -> None:
        """The grader is about to stop the kernel: the pipe may end from now on."""
        with self._lock:
            self._stopping = True

    def ran(self, started: Sequence[int], kernel_died: bool) -> None:
        """Record which cells began (their indices, in order) and whether the kernel died."""
        self.started = list(started)
        self.kernel_died = kernel_died

    def close(self, timeout: float = 5.0) -> None:
        """Wait (up to ``timeout`` s) for the stopped kernel's pipe to end; close everything."""
        if self.pass_fd >= 0:  # the kernel never started
            os.close(self.pass_fd)
            self.pass_fd = -1
        if self._thread is not None:
            self._thread.join(timeout)
            self._stop.set()
            self._thread.join()
        if self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1

    # ------------------------------------------------------------ reading

    def _read(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._read_fd], [], [], 0.2)
            if not ready:
                continue
            chunk = os.read(self._read_fd, 65536)
            if not chunk:
                with self._lock:
                    self.eof = True
                    self.eof_while_running = not self._stopping
                    self._take(b'{"e": "eof"}')
                break
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > 65536:  # no line is that long: someone writes junk
                lines.append(pending)
                pending = b""
            for line in lines:
                self._take(line)

    def _take(self, line: bytes) -> None:
        try:
            event = json.loads(line)
            if not isinstance(event, dict) or not isinstance(event.get("e"), str):
                raise ValueError(line)
        except ValueError:
            event = dict(_GARBAGE)
        if len(self.events) < MAX_EVENTS:
            self.events.append(event)
        else:
            self.dropped += 1

    # ------------------------------------------------------------ the verdict

    def findings(self, cells: Sequence[CodeCell], notebook: str) -> list[Finding]:
        """What the reports say about the student's cells (after :meth:`ran`)."""
        started, kernel_died = self.started, self.kernel_died
        by_file: _Files = {}
        for cell in cells:
            for name, offset in _compiled_as(cell):
                by_file.setdefault(name, []).append((cell, offset))
        out = [self._open_finding(e, by_file, notebook) for e in self.events if e.get("e") == "open"]
        out += self._silence(cells, started, by_file, notebook, kernel_died)
        if self.dropped or any(e.get("e") == "garbage" for e in self.events):
            what = "something in the kernel wrote junk into the file monitor's channel"
            out.append(Finding(MONITOR, what, notebook, source="kernel"))
        return unique(f for f in out if f is not None)

    def _open_finding(self, event: dict[str, Any], by_file: _Files, notebook: str) -> Finding | None:
        for entry in event.get("s") or []:
            if not (isinstance(entry, list) and len(entry) == 2):
                continue
            found = next(((c, o) for c, o in by_file.get(str(entry[0]), []) if c.student), None)
            if found is None:
                continue
            owner, offset = found
            line = entry[1] + offset if type(entry[1]) is int else None
            lines = owner.source.splitlines()
            evidence = lines[line - 1] if line and 0 < line <= len(lines) else ""
            mode = str(event.get("m", ""))
            verb = "tried to write" if event.get("w") is True else _VERBS.get(mode, "opened")
            what = f"{verb} {event.get('p')}, outside the submission folder"
            return Finding(
                OUTSIDE_FILE, what, notebook, owner.index, owner.grade_id, line, evidence, "kernel"
            )
        return None

    def _silence(
        self,
        cells: Sequence[CodeCell],
        started: Sequence[int],
        by_file: _Files,
        notebook: str,
        kernel_died: bool,
    ) -> list[Finding]:
        """Findings when the kernel stopped reporting while it still ran cells."""
        index = {c.index: c for c in cells}
        expected = [index[i] for i in dict.fromkeys(started) if i in index and _runs_code(index[i])]
        names = [e.get("c") for e in self.events if e.get("e") == "exec"]
        matched, pos = [], 0
        for cell in expected:
            name = cell_file(cell.source)
            hit = names.index(name, pos) if name in names[pos:] else -1
            matched.append(hit >= 0)
            pos = hit + 1 if hit >= 0 else pos
        silent = len(expected)
        while silent > 0 and not matched[silent - 1]:
            silent -= 1
        hello = any(e.get("e") == "hello" for e in self.events)
        out = []
        if silent < len(expected):
            first = expected[silent]
            culprit = next((c for c in reversed(expected[:silent]) if c.student), None)
            if not hello or culprit is None:
                what = "the kernel's file monitor never reported: file reads went unchecked"
                out.append(Finding(MONITOR, what, notebook, source="kernel"))
            else:
                what = f"the kernel's file monitor went silent: no report from cell {first.index} on"
                out.append(_at(culprit, what, notebook))
        elif self.eof_while_running and not kernel_died:
            culprit = _last_student_before_eof(self.events, by_file, expected)
            what = "closed the kernel's file monitor channel while the notebook ran"
            out.append(
                _at(culprit, what, notebook) if culprit else Finding(MONITOR, what, notebook, source="kernel")
            )
        return out


#: Cells by the file names IPython compiles their code under, with the line offset of each.
_Files = dict[str, list[tuple[CodeCell, int]]]


def _compiled_as(cell: CodeCell) -> list[tuple[str, int]]:
    """The file names the kernel runs ``cell``'s code under, with their line offsets in the cell:
    the cell's own, and the body of a cell magic (``%%capture``), which IPython runs as a cell."""
    names = [(cell_file(cell.source), 0)]
    for stmt in cell.tree.body if cell.tree is not None else []:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "run_cell_magic"
            and len(call.args) == 3
            and isinstance(call.args[2], ast.Constant)
            and isinstance(call.args[2].value, str)
        ):
            names.append((cell_file(call.args[2].value), stmt.lineno))
    return names


def _runs_code(cell: CodeCell) -> bool:
    """Does IPython run (``exec``) this cell: it compiles to at least one statement."""
    if cell.tree is None or not cell.tree.body:
        return False
    try:
        compile(cell.python, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _at(cell: CodeCell, what: str, notebook: str) -> Finding:
    return Finding(MONITOR, what, notebook, cell.index, cell.grade_id, None, "", "kernel")


def _last_student_before_eof(
    events: list[dict[str, Any]], by_file: _Files, expected: list[CodeCell]
) -> CodeCell | None:
    """The student cell to blame for a pipe that ended early: the one running then, or the last
    student cell before the instructor's cell that was."""
    last = None
    for event in events:
        if event.get("e") == "eof":
            break
        if event.get("e") == "exec":
            last = event.get("c")
    cells = [c for c, _ in by_file.get(str(last), [])] if last else []
    student = next((c for c in cells if c.student), None)
    if student is not None:
        return student
    before = [c for c in expected if cells and c.index <= cells[0].index and c.student]
    return before[-1] if before else None
