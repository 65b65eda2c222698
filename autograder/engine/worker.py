"""Grading one submission: nbgrader's sanitize and execute steps, with no gradebook writes.

``grade_submission`` is a pure function of picklable values, so it runs the same in a local
process pool or as a task on a cluster. It reads the assignment's definition from the bundle's
gradebook snapshot (a private copy in a scratch folder), restores every locked and test cell
from it (nbgrader's ``OverwriteCells``), executes the notebook (nbgrader's ``Execute``) and
returns the executed notebooks with their scores. The caller records them.

Each notebook gets its own kernel, in the sandbox of :mod:`.sandbox` (no network, only the
submission's scratch folder writable, resource limits) unless the limits opt out. The bundle's
:class:`~.bundle.Limits` bound every run: a cell's and the notebook's wall clock, CPU time, memory,
processes, file size and output size. A fault ends in a status ("timeout", "out of memory",
"kernel died"), and the tests that ran before it keep their points.
"""

from __future__ import annotations

import json
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import nbformat

from ..integrity.findings import Finding
from .bundle import AssignmentBundle, Limits
from .sandbox import Sandbox, SandboxKernelManager, check_sandbox, killing_signal

if TYPE_CHECKING:
    from ..integrity.monitor import KernelMonitor


@dataclass(frozen=True)
class NotebookResult:
    """One notebook of a submission after grading.

    ``notebook`` is the executed notebook as JSON, or ``None`` when it could not be run (missing,
    unreadable); ``scores`` maps each autograded cell's grade_id to ``(score, max_score)``;
    ``integrity`` holds the tamper check's findings in its student cells (they change no score).
    """

    name: str
    notebook: str | None
    scores: dict[str, tuple[float | None, float]]
    status: str = "graded"
    detail: str = ""
    integrity: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class SubmissionResult:
    """Everything the worker found for one student's submission."""

    student: str
    assignment: str
    notebooks: tuple[NotebookResult, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    timestamp: str | None = None
    integrity: tuple[Finding, ...] = ()  # the tamper check's findings in submitted .py files
    fingerprint: str = ""  # of the submitted files (set by the engine, which read them)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding of the tamper check: in the notebooks, then in the .py files."""
        return tuple(f for nb in self.notebooks for f in nb.integrity) + self.integrity

    @property
    def status(self) -> str:
        """The worst outcome among the notebooks ("graded" when all ran to the end)."""
        for nb in self.notebooks:
            if nb.status != "graded":
                return nb.status
        return "graded"

    @property
    def detail(self) -> str:
        """What went wrong, notebook by notebook."""
        return "; ".join(f"{nb.name}: {nb.detail}" for nb in self.notebooks if nb.detail)

    @property
    def score(self) -> float:
        """Autograded points earned."""
        return sum(s or 0.0 for nb in self.notebooks for s, _ in nb.scores.values())

    @property
    def max_score(self) -> float:
        """Autograded points available."""
        return sum(m for nb in self.notebooks for _, m in nb.scores.values())


def _safe_relative(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and name not in ("", ".")


def _zero_scores(bundle_db: str, assignment: str, notebook: str) -> dict[str, tuple[float | None, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(bundle_db) as gb:
        nb = gb.find_notebook(notebook, assignment)
        return {
            cell.name: (0.0, float(cell.max_score)) for cell in nb.grade_cells if cell.cell_type == "code"
        }


def _scores(nb: nbformat.NotebookNode) -> dict[str, tuple[float | None, float]]:
    from nbgrader import utils

    out = {}
    for cell in nb.cells:
        if utils.is_grade(cell) and cell.cell_type == "code":
            out[cell.metadata["nbgrader"]["grade_id"]] = utils.determine_grade(cell)
    return out


def _out_of_memory(ename: str, evalue: str) -> bool:
    """An error that says an allocation failed (Python, numpy, torch and mmap spell it differently)."""
    if ename in ("MemoryError", "_ArrayMemoryError", "OutOfMemoryError"):
        return True
    text = evalue.lower()
    return ename in ("RuntimeError", "OSError") and (
        "can't allocate memory" in text or "cannot allocate memory" in text
    )


def _classify_run(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """A status from the executed cells' errors (timeouts are recorded as CellTimeoutError)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            if out.get("ename") == "CellTimeoutError":
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "a cell")
                return "timeout", f"{grade_id} ran longer than the cell time limit"
            if _out_of_memory(str(out.get("ename", "")), str(out.get("evalue", ""))):
                return "out of memory", f"a cell ran out of memory ({out.get('ename')})"
    return "graded", ""


#: What a kernel writes to stderr as it dies of a failed allocation (Python, C, C++).
_MEMORY_MARKERS = ("MemoryError", "Cannot allocate memory", "can't allocate memory", "bad_alloc")


def classify_death(returncode: int | None, log: str, limits: Limits, name: str) -> tuple[str, str]:
    """``(status, detail)`` for a kernel that died, from its exit status and the end of its log.

    SIGXCPU means the CPU-time limit ("timeout"); an allocation failure in the log means the memory
    limit ("out of memory"); anything else (a segfault, ``os._exit``, SIGXFSZ for a file over
    ``file_mb``, a kill) is "kernel died".
    """
    sig = killing_signal(returncode)
    if sig == signal.SIGXCPU:
        return "timeout", f"the kernel used more than its {limits.cpu_seconds} s of CPU time in {name}.ipynb"
    if any(marker in log for marker in _MEMORY_MARKERS):
        return "out of memory", f"the kernel ran out of memory ({limits.memory_mb} MiB) in {name}.ipynb"
    if sig == signal.SIGXFSZ:
        how = f"wrote a file larger than {limits.file_mb} MiB"
    elif sig is not None:
        how = f"was killed by {signal.Signals(sig).name}"
    elif returncode is not None:
        how = f"exited with status {returncode}"
    else:
        how = "stopped answering"
    return "kernel died", f"the kernel died while running {name}.ipynb (it {how})"


class _NotebookTimeout(Exception):
    """The notebook's wall-clock budget ran out before a cell could start."""


@dataclass
class _Clock:
    """The notebook's wall clock: it starts with the first cell; a cell may run ``cell_timeout``
    seconds or what is left of ``notebook_timeout``, whichever is less; none starts after that."""

    cell_timeout: float
    notebook_timeout: float
    deadline: float | None = None
    started: list[int] = field(default_factory=list)  # every cell index begun, in order

    def on_cell_start(self, cell: nbformat.NotebookNode, cell_index: int, **_: Any) -> None:
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.notebook_timeout
        elif now >= self.deadline:
            raise _NotebookTimeout
        self.started.append(cell_index)

    def timeout(self, cell: nbformat.NotebookNode) -> float:
        left = self.notebook_timeout if self.deadline is None else self.deadline - time.monotonic()
        return max(0.1, min(self.cell_timeout, left))

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    @property
    def last(self) -> int:
        """The last cell begun (0 before any)."""
        return self.started[-1] if self.started else 0


def _output_size(msg: dict[str, Any]) -> int:
    """Characters an output message adds to the notebook (stream text, or every data payload)."""
    content = msg.get("content", {})
    if msg.get("msg_type") == "stream":
        return len(content.get("text", ""))
    data = content.get("data", {}) or {}
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())


def _executor(limits: Limits, clock: _Clock, config: Any = None) -> Any:
    """nbgrader's ``Execute``, timed by ``clock``, recording at most ``output_kb`` KiB of output
    per cell. Error outputs are always recorded, so a failing test never looks passed."""
    from nbgrader.preprocessors import Execute

    budget = limits.output_kb * 1024
    used: dict[int, int] = {}

    class BoundedExecute(Execute):  # type: ignore[misc]
        def output(
            self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int
        ) -> Any:
            if msg.get("msg_type") == "error":
                return super().output(outs, msg, display_id, cell_index)
            before = used.get(cell_index, 0)
            used[cell_index] = before + _output_size(msg)
            if used[cell_index] <= budget:
                return super().output(outs, msg, display_id, cell_index)
            if before <= budget:  # the first output over the budget: say so, once
                note = f"\n[output cut: this cell printed more than {limits.output_kb} KiB]\n"
                outs.append(nbformat.v4.new_output("stream", name="stderr", text=note))
            return None

    return BoundedExecute(
        config=config,
        timeout=limits.cell_timeout,
        timeout_func=clock.timeout,
        interrupt_on_timeout=True,
        on_cell_start=clock.on_cell_start,
    )


def _execute(
    nb: nbformat.NotebookNode,
    resources: dict[str, Any],
    limits: Limits,
    name: str,
    runtime: Path,
    monitor: KernelMonitor | None = None,
    config: Any = None,
) -> tuple[str, str, int | None]:
    """Run ``nb`` in a kernel of its own (sandboxed unless ``limits.sandbox`` is False), with the
    tamper check's file ``monitor`` in it if one is given (told, at the end, which cells ran).

    Returns ``(status, detail, first)``: ``first`` is the index of the first cell that did not run
    to the end when execution stopped early (its tests and later ones must score 0), ``None``
    when every cell was run (the status then comes from the cells' errors).
    """
    from jupyter_core.utils import run_sync
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    workdir = Path(resources["metadata"]["path"])
    sandbox = Sandbox(limits, workdir, runtime) if limits.sandbox else None
    if sandbox is not None:
        sandbox.prepare()
    kernel_name = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    km = SandboxKernelManager(sandbox, limits, runtime, monitor, kernel_name=kernel_name)
    clock = _Clock(float(limits.cell_timeout), float(limits.notebook_timeout))
    executor = _executor(limits, clock, config)
    too_long = f"{name}.ipynb ran longer than the notebook time limit ({limits.notebook_timeout} s)"
    try:
        executor.preprocess(nb, resources, km=km)
    except _NotebookTimeout:  # the cells after the last one begun never started
        return "timeout", too_long, clock.last + 1 if clock.started else 0
    except CellTimeoutError:  # interrupted after its time limit, the cell did not stop
        grade_id = nb.cells[clock.last].get("metadata", {}).get("nbgrader", {}).get("grade_id", "a cell")
        detail = f"{grade_id} ran longer than the cell time limit and did not stop when interrupted"
        return "timeout", detail, clock.last
    except DeadKernelError:
        status, detail = classify_death(km.returncode(), km.log_tail(), limits, name)
        return status, detail, clock.last
    except Exception as exc:  # execution machinery failing is recorded, never fatal for the class
        detail = f"running {name}.ipynb failed ({type(exc).__name__}: {str(exc)[:200]})"
        if km.returncode(timeout=0.5) is not None:
            detail += f"; the kernel exited: {km.log_tail(300).strip()[-200:]}"
        return "error", detail, clock.last
    finally:
        died = km.returncode(timeout=0) is not None  # the kernel ended before the grader stopped it
        if monitor is not None:
            monitor.stopping()
        run_sync(_stop_kernel)(km, executor)
        if monitor is not None:
            monitor.close()
            monitor.ran(clock.started, died)
    outputs = nb.cells[clock.last].get("outputs", []) if nb.cells else []
    if clock.expired and any(out.get("ename") == "CellTimeoutError" for out in outputs):
        return "timeout", too_long, None  # the last cell was cut short by the notebook's clock
    return "graded", "", None


async def _stop_kernel(km: SandboxKernelManager, executor: Any) -> None:
    """Kill the kernel (and with it everything in its sandbox) and close the client's sockets."""
    try:
        if await km.is_alive():
            await km.shutdown_kernel(now=True)
    finally:
        await km.cleanup_resources()
        if getattr(executor, "kc", None) is not None:
            executor.kc.stop_channels()
            executor.kc = None


def _fail_unfinished_tests(nb: nbformat.NotebookNode, first: int, status: str) -> None:
    """Give every test cell from index ``first`` on an error output, so it earns 0.

    When execution stops early (the kernel died), the cell that was running and every cell after
    it have no outputs, and nbgrader's ``determine_grade`` gives a code test cell without an
    error output full marks. A test that did not run to the end has not passed.
    """
    from nbgrader import utils

    for cell in nb.cells[first:]:
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            if not any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
                cell.setdefault("outputs", []).append(
                    nbformat.v4.new_output(
                        "error",
                        ename="NotRun",
                        evalue=f"this test did not run to the end ({status})",
                        traceback=[f"NotRun: this test did not run to the end ({status})"],
                    )
                )


def _read_notebook(raw: bytes) -> nbformat.NotebookNode:
    text = raw.decode("utf-8")
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    return nb


def _grade_notebook(
    bundle: AssignmentBundle,
    student: str,
    name: str,
    raw: bytes | None,
    db_url: str,
    workdir: Path,
    runtime: Path,
) -> NotebookResult:
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
    )

    if raw is None:
        return NotebookResult(
            name,
            None,
            _zero_scores(db_url, bundle.assignment, name),
            "missing notebook",
            f"no {name}.ipynb was submitted",
        )
    try:
        nb = _read_notebook(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.ValidationError, ValueError) as exc:
        reason = f"{name}.ipynb is not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})"
        return NotebookResult(
            name, None, _zero_scores(db_url, bundle.assignment, name), "unreadable notebook", reason
        )

    config = bundle.nbgrader_config()
    resources: dict[str, Any] = {
        "nbgrader": {"notebook": name, "assignment": bundle.assignment, "student": student, "db_url": db_url},
        "metadata": {"path": str(workdir)},
    }
    try:
        for step in (
            ClearOutput(config=config),
            DeduplicateIds(config=config),
            OverwriteKernelspec(config=config),
            OverwriteCells(config=config),
            CheckCellMetadata(config=config),
        ):
            nb, resources = step(nb, resources)  # as nbconvert runs it: only if enabled
    except Exception as exc:  # a notebook nbgrader cannot sanitize is ungradable, not a crash
        reason = f"{name}.ipynb could not be prepared for grading ({type(exc).__name__}: {str(exc)[:200]})"
        return NotebookResult(
            name, None, _zero_scores(db_url, bundle.assignment, name), "unreadable notebook", reason
        )

    from ..integrity.audit import NotebookAudit

    audit = NotebookAudit.start(
        nb, bundle.integrity, name, db_url, bundle.assignment, workdir, bundle.limits.sandbox
    )
    try:
        status, detail, stopped_at = _execute(
            nb, resources, bundle.limits, name, runtime, audit.monitor, config
        )
    finally:
        findings = audit.finish()
    if stopped_at is not None:
        _fail_unfinished_tests(nb, stopped_at, status)
    elif status == "graded":
        status, detail = _classify_run(nb)
    # Stock autograde also lists nbconvert's ClearMetadataPreprocessor, disabled by default: omitted.
    limit_output = LimitOutput(config=config, max_lines=bundle.limits.output_lines)
    for step in (IgnorePattern(config=config), limit_output):
        nb, resources = step(nb, resources)  # as nbconvert runs it: only if enabled
    return NotebookResult(name, nbformat.writes(nb), _scores(nb), status, detail, findings)


def grade_submission(
    bundle: AssignmentBundle, student: str, files: dict[str, bytes], timestamp: str | None = None
) -> SubmissionResult:
    """Grade one student's submitted files (``{relative path: bytes}``) against ``bundle``, with
    the tamper check of ``bundle.integrity`` (its findings are in the result; they change no score).

    Raises :class:`~.sandbox.SandboxUnavailable` when the limits ask for the sandbox and it cannot
    run on this machine: a submission is never graded unsandboxed by accident.
    """
    check_sandbox(bundle.limits)
    with tempfile.TemporaryDirectory(prefix=f"adgrade-{student}-") as tmp:
        root = Path(tmp)
        db_path = root / "gradebook.db"
        db_path.write_bytes(bundle.gradebook)
        db_url = f"sqlite:///{db_path}"
        workdir = root / "work"
        workdir.mkdir()
        # The kernel runs in a folder with the student's files, the assignment's own files on top.
        for rel, data in {**files, **bundle.files}.items():
            if not _safe_relative(rel):
                continue
            target = workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        results = tuple(
            _grade_notebook(
                bundle, student, name, files.get(f"{name}.ipynb"), db_url, workdir, root / f"kernel-{i}"
            )
            for i, name in enumerate(bundle.notebooks)
        )
        shutil.rmtree(workdir, ignore_errors=True)
    others = {rel: data for rel, data in files.items() if not rel.endswith(".ipynb") and _safe_relative(rel)}
    from ..integrity.audit import check_files

    return SubmissionResult(
        student, bundle.assignment, results, others, timestamp, check_files(others, bundle.integrity)
    )
