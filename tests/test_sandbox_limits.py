"""Limits hold per sandbox, not per process: memory, CPU time and disk summed over everything a
submission starts; widget state is not kept.

Each test runs one small notebook in a student's sandbox (:func:`autograder.engine.execute.execute`)
under tight limits, and reads what happened from the kernel's printed output and the run's status.
The numbers are chosen so that every process alone stays under the per-process limits (address
space, CPU time, file size), and only the sum breaks the sandbox's limit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import nbformat
import pytest

from autograder.engine import cgroups
from autograder.engine.execute import execute
from autograder.engine.limits import Limits
from autograder.engine.sandbox import KernelView


def run_cell(tmp_path: Path, source: str, limits: Limits) -> tuple[str, str, str]:
    """Run one cell in a student's sandbox; ``(status, detail, what it printed)``."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    files = tmp_path / "files"
    files.mkdir()
    resources = {"metadata": {"path": str(tmp_path / "work")}}
    view = KernelView.student(tmp_path / "kernel", [], [])
    run = execute(nb, resources, limits, "limits", tmp_path / "kernel", view, source=files)
    printed = "".join(
        o.get("text", "") for o in nb.cells[0].get("outputs", []) if o.get("output_type") == "stream"
    )
    return run.status, run.detail, printed


@pytest.fixture(autouse=True)
def _needs_cgroups() -> None:
    assert cgroups.backend() is not None, (
        "these machines offer cgroups to root (v1 or v2); without one, limits hold per process only"
    )


FORKING_ALLOCATOR = """
import os, time
children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(300 * 1024 * 1024)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(4)
            os._exit(0)
        except MemoryError:
            os._exit(3)
    children.append(pid)
held = sum(1 for pid in children if os.waitpid(pid, 0)[1] == 0)
print("held", held)
"""


def test_a_forking_allocator_holds_no_more_than_the_limit_in_all(tmp_path: Path) -> None:
    limits = Limits(memory_mb=1024, max_processes=32, cell_timeout=60, notebook_timeout=90)
    status, detail, printed = run_cell(tmp_path, FORKING_ALLOCATOR, limits)
    if status == "out of memory":  # the OOM killer chose the kernel itself
        assert "sandbox ran out of memory" in detail or "ran out of memory" in detail
        return
    assert status == "graded", detail
    held = int(printed.split("held")[1])
    assert held * 300 <= limits.memory_mb  # 4 x 300 MiB, each under the per-process limit, were asked for


DISK_FILLER = """
import os
written = 0
for where in (".", "/tmp"):
    for i in range(100):
        try:
            with open(os.path.join(where, f"fill-{i}.bin"), "wb") as f:
                f.write(b"x" * 1024 * 1024)
        except OSError as exc:
            print(where, "stopped", exc.errno)
            break
        written += 1
print("written", written)
"""


def test_a_disk_filler_stops_at_the_quota(tmp_path: Path) -> None:
    limits = Limits(file_mb=8, cell_timeout=60)
    status, detail, printed = run_cell(tmp_path, DISK_FILLER, limits)
    assert status == "graded", detail
    assert ". stopped 28" in printed and "/tmp stopped 28" in printed  # ENOSPC in both
    written = int(printed.split("written")[1])
    assert written <= 2 * limits.file_mb  # the scratch folder and /tmp, 8 MiB each


CPU_SPREADER = """
import os, time
children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        start = time.process_time()
        while time.process_time() - start < 1.5:
            pass
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
print("done")
"""


def test_cpu_time_is_summed_over_the_sandbox(tmp_path: Path) -> None:
    limits = Limits(cpu_seconds=2, cell_timeout=60, notebook_timeout=90)
    status, detail, printed = run_cell(tmp_path, CPU_SPREADER, limits)
    assert status == "timeout" and "sandbox used more than its 2 s of CPU time" in detail, (status, detail)
    assert "done" not in printed


def test_widget_state_is_not_kept(tmp_path: Path) -> None:
    source = "import ipywidgets\nfrom IPython.display import display\ndisplay(ipywidgets.IntSlider(value=7))"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "files").mkdir()
    view = KernelView.student(tmp_path / "kernel", [], [])
    run = execute(
        nb,
        {"metadata": {"path": str(tmp_path / "w")}},
        Limits(),
        "w",
        tmp_path / "kernel",
        view,
        source=tmp_path / "files",
    )
    assert run.status == "graded"
    assert "widgets" not in nb.metadata


def test_without_a_cgroup_grading_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADCOURSE_CGROUP", "none")
    monkeypatch.setattr(cgroups, "_warned", [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cgroups.create_or_warn("x", Limits()) is None
    assert any("limited per process only" in str(w.message) for w in caught)


def test_systemd_scopes_carry_the_same_limits() -> None:
    cmd = cgroups.systemd_command("adcourse-x.scope", Limits(memory_mb=1024, max_processes=40), ["python"])
    assert cmd[:2] == ["systemd-run", "--scope"] and cmd[-1] == "python"
    assert f"MemoryMax={1024 * 1024 * 1024}" in cmd and "TasksMax=40" in cmd and "CPUQuota=100%" in cmd
