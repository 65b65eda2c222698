"""Result tables and machine information, written as markdown.

A benchmark returns one or more :class:`Table` objects: the measured rows, the goal it is judged
against and whether the goal was met. :func:`write_results` puts them, with the machine they ran
on, into one markdown file.
"""

from __future__ import annotations

import ctypes
import datetime
import importlib.metadata
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Table:
    """One benchmark's result.

    Attributes:
        title: a heading, e.g. ``"micrograd demo step: adlib vs micrograd"``.
        columns: the column headers.
        rows: the cells, already formatted as text; every row has ``len(columns)`` cells.
        goal: the target in words, e.g. ``"adlib >= 3x faster than micrograd"``.
        met: whether the goal was met; ``None`` when the table has no goal of its own.
        notes: sentences printed under the table (settings, caveats).
    """

    title: str
    columns: list[str]
    rows: list[list[str]]
    goal: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.title!r}: row {i} has {len(row)} cells but there are "
                    f"{len(self.columns)} columns {self.columns}"
                )

    @property
    def status(self) -> str:
        """``"met"``, ``"NOT met"`` or ``"-"`` (no goal)."""
        return "-" if self.met is None else ("met" if self.met else "NOT met")

    def to_markdown(self) -> str:
        """The table as a markdown section (heading, pipe table, goal line, notes)."""
        lines = [f"## {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines.extend("| " + " | ".join(row) + " |" for row in self.rows)
        lines.append("")
        if self.goal:
            lines.append(f"**Goal:** {self.goal} — **{self.status}**")
            lines.append("")
        lines.extend(f"- {note}" for note in self.notes)
        if self.notes:
            lines.append("")
        return "\n".join(lines)


def numpy_blas_threads() -> int | None:
    """How many threads numpy's bundled OpenBLAS uses, asked from the library itself.

    numpy wheels ship OpenBLAS as ``numpy.libs/libscipy_openblas*.so``; it exports a
    ``get_num_threads`` function. Returns ``None`` where that library or symbol is not found
    (another BLAS, another platform).
    """
    import numpy as np

    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for lib in sorted(libs.glob("*openblas*")) if libs.is_dir() else []:
        try:
            handle = ctypes.CDLL(str(lib))
        except OSError:
            continue
        for symbol in (
            "scipy_openblas_get_num_threads64_",
            "openblas_get_num_threads64_",
            "openblas_get_num_threads",
        ):
            fn = getattr(handle, symbol, None)
            if fn is not None:
                fn.restype = ctypes.c_int
                return int(fn())
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    """The facts a reader needs to judge the numbers: hardware, load, versions, threads, date."""
    import numpy as np
    import torch

    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    blas = numpy_blas_threads()
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "CPU": _cpu_model(),
        "CPU count (os.cpu_count)": str(os.cpu_count()),
        "load average 1/5/15 min at start": load,
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "micrograd": _version("micrograd"),
        "torch threads (torch.get_num_threads)": str(torch.get_num_threads()),
        "numpy BLAS threads (OpenBLAS get_num_threads)": "unknown" if blas is None else str(blas),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "unset"),
    }


RUN_ALL_METHOD = (
    "Written by `python benchmarks/run_all.py`. Peers are timed in the same run, interleaved; "
    "every figure is a median (see `benchmarks/README.md`)."
)


def write_results(
    path: Path, tables: Sequence[Table], info: dict[str, str], quick: bool, method: str = RUN_ALL_METHOD
) -> str:
    """Write the machine information and every table to ``path`` as markdown; return the text.

    ``method`` says how the figures were taken (default: ``run_all.py``'s interleaved medians).
    """
    lines = ["# adlib benchmark results", ""]
    if quick:
        lines += ["**Quick smoke run (`--quick`): tiny sizes, few repeats — not a measurement.**", ""]
    lines += [
        method + " The machine may be shared with other "
        "work; the load average below says how busy it was when the run started.",
        "",
        "| machine | |",
        "|---|---|",
    ]
    lines.extend(f"| {key} | {value} |" for key, value in info.items())
    lines.append("")
    lines.append("| benchmark | goal | status |")
    lines.append("|---|---|---|")
    lines.extend(f"| {t.title} | {t.goal} | {t.status} |" for t in tables if t.goal)
    lines.append("")
    lines.extend(t.to_markdown() for t in tables)
    text = "\n".join(lines)
    path.write_text(text)
    return text
