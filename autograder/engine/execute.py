"""Running one notebook in its kernel: the clock, the output bounds, the observations, the faults.

:func:`execute` runs a sanitized notebook with nbgrader's ``Execute`` in a kernel of its own (in
the sandbox of :mod:`.sandbox` unless the limits opt out, in a cgroup of its own where the machine
has one), bounded by the :class:`~.limits.Limits`: a cell's and the notebook's wall clock, CPU
time, memory, processes, file and output size. The checks' observations are taken out of the
output stream into a :class:`~.observations.Collector` and never written into the notebook.
Widget state is not stored, and once the first cell holding hidden tests has started, no output
of an earlier cell changes any more (what feedback shows of those cells predates the hidden
tests). A fault ends in a status ("timeout", "out of memory", "kernel died") and the index of the
first cell that did not run to its end.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from adlib.grading.checks import MIME

from . import cgroups
from .limits import Limits
from .observations import Collector
from .sandbox import KernelView, Sandbox, SandboxKernelManager, killing_signal

if TYPE_CHECKING:
    from ..integrity.monitor import KernelMonitor


def _out_of_memory(ename: str, evalue: str) -> bool:
    """An error that says an allocation failed (Python, numpy, torch and mmap spell it differently)."""
    if ename in ("MemoryError", "_ArrayMemoryError", "OutOfMemoryError"):
        return True
    text = evalue.lower()
    return ename in ("RuntimeError", "OSError") and (
        "can't allocate memory" in text or "cannot allocate memory" in text
    )


def classify_run(nb: nbformat.NotebookNode) -> tuple[str, str]:
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


def _observation(msg: dict[str, Any]) -> tuple[bool, Any]:
    """``(True, payload)`` when ``msg`` carries a check's observation."""
    if msg.get("msg_type") not in ("display_data", "execute_result", "update_display_data"):
        return False, None
    data = msg.get("content", {}).get("data")
    if isinstance(data, dict) and MIME in data:
        return True, data[MIME]
    return False, None


def _executor(
    limits: Limits, clock: _Clock, config: Any, collector: Collector, hidden_from: int | None
) -> Any:
    """nbgrader's ``Execute``, timed by ``clock``, recording at most ``output_kb`` KiB of output
    per cell, observations into ``collector``, no widget state; from the cell ``hidden_from`` on,
    no earlier cell's output is updated. Error outputs are always recorded."""
    from nbgrader.preprocessors import Execute

    budget = limits.output_kb * 1024
    used: dict[int, int] = {}

    class BoundedExecute(Execute):  # type: ignore[misc]
        def output(
            self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int
        ) -> Any:
            observed, payload = _observation(msg)
            if observed:  # a check's record: to the grader, never into the notebook
                collector.take(cell_index, payload)
                return None
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

        def _update_display_id(self, display_id: str, msg: dict[str, Any]) -> None:
            if _observation(msg)[0]:
                return
            if hidden_from is not None and clock.started and clock.last >= hidden_from:
                cells = self._display_id_map.get(display_id, {})
                frozen = {i: cells.pop(i) for i in list(cells) if i < hidden_from}
                try:
                    super()._update_display_id(display_id, msg)
                finally:
                    cells.update(frozen)
                return
            super()._update_display_id(display_id, msg)

    return BoundedExecute(
        config=config,
        timeout=limits.cell_timeout,
        timeout_func=clock.timeout,
        interrupt_on_timeout=True,
        on_cell_start=clock.on_cell_start,
        store_widget_state=False,
    )


@dataclass
class Run:
    """What :func:`execute` saw: a status, and where execution stopped early (``first``)."""

    status: str
    detail: str
    first: int | None  # the first cell that did not run to its end; None: every cell ran
    collector: Collector


def execute(
    nb: nbformat.NotebookNode,
    resources: dict[str, Any],
    limits: Limits,
    name: str,
    runtime: Path,
    view: KernelView,
    *,
    monitor: KernelMonitor | None = None,
    config: Any = None,
    source: Path | None = None,
    hidden_from: int | None = None,
) -> Run:
    """Run ``nb`` in a kernel of its own that sees ``view`` (sandboxed unless ``limits.sandbox`` is
    False, with the submission's files copied from ``source`` into its scratch folder), with the
    tamper check's file ``monitor`` in it if one is given (told, at the end, which cells ran).

    The run's ``first`` is the index of the first cell that did not run to the end when execution
    stopped early (its tests and later ones must score 0), ``None`` when every cell was run (the
    status then comes from the cells' errors).
    """
    from jupyter_core.utils import run_sync
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    collector = Collector(trusted=view.checks == "reference")
    workdir = Path(resources["metadata"]["path"])
    sandbox = Sandbox(limits, workdir, runtime, view, source) if limits.sandbox else None
    if sandbox is not None:
        sandbox.prepare()
    elif source is not None:  # without the sandbox the kernel works in a host copy of the files
        shutil.copytree(source, workdir, dirs_exist_ok=True)
    group = cgroups.create_or_warn(name, limits)
    kernel_name = nb.metadata.get("kernelspec", {}).get("name") or "python3"
    km = SandboxKernelManager(sandbox, limits, runtime, monitor, view, group, kernel_name=kernel_name)
    clock = _Clock(float(limits.cell_timeout), float(limits.notebook_timeout))
    executor = _executor(limits, clock, config, collector, hidden_from)
    too_long = f"{name}.ipynb ran longer than the notebook time limit ({limits.notebook_timeout} s)"
    watch = cgroups.CpuWatch(group, limits.cpu_seconds) if group is not None else None
    try:
        if watch is not None:
            watch.__enter__()
        executor.preprocess(nb, resources, km=km)
    except _NotebookTimeout:  # the cells after the last one begun never started
        return Run("timeout", too_long, clock.last + 1 if clock.started else 0, collector)
    except CellTimeoutError:  # interrupted after its time limit, the cell did not stop
        grade_id = nb.cells[clock.last].get("metadata", {}).get("nbgrader", {}).get("grade_id", "a cell")
        detail = f"{grade_id} ran longer than the cell time limit and did not stop when interrupted"
        return Run("timeout", detail, clock.last, collector)
    except DeadKernelError:
        status, detail = classify_death(km.returncode(), km.log_tail(), limits, name)
        if watch is not None and watch.exceeded:
            status = "timeout"
            detail = f"the sandbox used more than its {limits.cpu_seconds} s of CPU time in {name}.ipynb"
        elif group is not None and group.oom_kills() and status == "kernel died":
            status = "out of memory"
            detail = f"the sandbox ran out of memory ({limits.memory_mb} MiB) in {name}.ipynb"
        return Run(status, detail, clock.last, collector)
    except Exception as exc:  # execution machinery failing is recorded, never fatal for the class
        detail = f"running {name}.ipynb failed ({type(exc).__name__}: {str(exc)[:200]})"
        if km.returncode(timeout=0.5) is not None:
            detail += f"; the kernel exited: {km.log_tail(300).strip()[-200:]}"
        return Run("error", detail, clock.last, collector)
    finally:
        if watch is not None:
            watch.__exit__(None, None, None)
        died = km.returncode(timeout=0) is not None  # the kernel ended before the grader stopped it
        if monitor is not None:
            monitor.stopping()
        run_sync(_stop_kernel)(km, executor)
        if group is not None:
            group.remove()
        if monitor is not None:
            monitor.close()
            monitor.ran(clock.started, died)
    outputs = nb.cells[clock.last].get("outputs", []) if nb.cells else []
    if clock.expired and any(out.get("ename") == "CellTimeoutError" for out in outputs):
        return Run(
            "timeout", too_long, None, collector
        )  # the last cell was cut short by the notebook's clock
    return Run("graded", "", None, collector)


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


def fail_unfinished_tests(nb: nbformat.NotebookNode, first: int, status: str) -> None:
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
