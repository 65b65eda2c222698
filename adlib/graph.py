"""Drawing a computation graph: Graphviz when it is installed, matplotlib otherwise.

The graph is the trace's: one node per variable :math:`v_k` (inputs on the left, the output on
the right), one arrow :math:`v_j \\to v_k` for each argument :math:`v_j` of :math:`v_k`'s
operation. Constants are not nodes; they appear inside the formula (``6 × v_3``).

* :func:`to_dot` writes the graph in the DOT language (a pure function, easy to inspect).
* :func:`draw_graph` renders it: with the ``dot`` program (SVG, shown inline by Jupyter) when
  it is on ``PATH``, else with matplotlib, laying nodes out in columns by *depth*
  (the length of the longest path from an input).
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from .reverse import ReverseDiff
from .trace import Trace, Variable
from .trace_render import format_value

_INPUT_COLOUR = "#dbe9f6"
_OUTPUT_COLOUR = "#fde2c8"
_NODE_COLOUR = "#ffffff"


def _as_trace(output_or_trace: Any) -> Trace:
    if isinstance(output_or_trace, Trace):
        return output_or_trace
    if isinstance(output_or_trace, ReverseDiff):
        return Trace.from_output(output_or_trace)
    raise TypeError(
        f"draw_graph needs a Trace (adlib.trace.trace(f, ...)) or a ReverseDiff output, "
        f"got {type(output_or_trace).__name__}"
    )


def node_label(trace: Trace, var: Variable) -> str:
    """A node's two lines: ``v_k = formula`` (``y = v_k = ...`` for the output) and its value."""
    head = f"{var.label} = {var.formula}"
    if var.index == trace.output_index:
        head = f"{trace.output_name} = {head}"
    return f"{head}\n{format_value(var.value)}"


def depths(trace: Trace) -> dict[int, int]:
    """Each variable's depth: 0 for inputs, else 1 + the largest depth among its arguments."""
    depth: dict[int, int] = {}
    for var in trace.variables:  # arguments always come before results
        depth[var.index] = 1 + max((depth[p] for p in var.parents), default=-1)
    return depth


def layout(trace: Trace) -> dict[int, tuple[float, float]]:
    """Positions ``(x, y)`` by variable index: column = depth, rows centred within each column.

    Inputs keep their order top to bottom; in later columns a node sits near the mean height of
    its arguments (the barycentre heuristic), which keeps arrows short and crossings few.
    """
    depth = depths(trace)
    parents = {var.index: var.parents for var in trace.variables}
    columns: dict[int, list[int]] = {}
    for index in sorted(depth):
        columns.setdefault(depth[index], []).append(index)
    pos: dict[int, tuple[float, float]] = {}
    for d in sorted(columns):
        members = columns[d]
        if d > 0:
            members = sorted(
                members, key=lambda k: (-sum(pos[p][1] for p in parents[k]) / len(parents[k]), k)
            )
        m = len(members)
        for i, index in enumerate(members):
            pos[index] = (float(d), (m - 1) / 2 - i)
    return pos


# ---------------------------------------------------------------- Graphviz


def _dot_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(output_or_trace: Trace | ReverseDiff, title: str | None = None) -> str:
    """The computation graph in Graphviz's DOT language (left to right, inputs shaded blue,
    the output orange with a double border)."""
    trace = _as_trace(output_or_trace)
    lines = [
        "digraph computation {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fillcolor="#ffffff"];',
        "  edge [arrowsize=0.7];",
    ]
    if title is None:
        title = f"computation graph: {trace.output_name} = {format_value(trace.value)}"
    if title:
        lines.append(f"  label={_dot_string(title)}; labelloc=t;")
    for var in trace.variables:
        attrs = [f"label={_dot_string(node_label(trace, var))}"]
        if var.op == "input":
            attrs.append(f'fillcolor="{_INPUT_COLOUR}"')
        if var.index == trace.output_index:
            attrs += [f'fillcolor="{_OUTPUT_COLOUR}"', "peripheries=2"]
        lines.append(f"  {_dot_id(var.index)} [{', '.join(attrs)}];")
    lines += [
        f"  {_dot_id(parent)} -> {_dot_id(var.index)};" for var in trace.variables for parent in var.parents
    ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_id(index: int) -> str:
    return f"v_m{-index}" if index < 0 else f"v_{index}"


class SVGGraph:
    """An SVG drawing that Jupyter shows inline; ``source`` keeps the DOT text it came from."""

    def __init__(self, svg: str, source: str) -> None:
        self.svg = svg
        self.source = source

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str) -> None:
        """Write the SVG to ``path``."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.svg)

    def __repr__(self) -> str:
        return f"<SVGGraph: {len(self.svg)} characters of SVG>"


def _find_dot() -> str | None:
    return shutil.which("dot")


def _run_dot(dot: str, source: str) -> str:
    """Run Graphviz ``dot -Tsvg`` on ``source``; return the SVG text."""
    try:
        done = subprocess.run(
            [dot, "-Tsvg"],
            input=source,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RuntimeError(f"could not run Graphviz {dot!r}: {err}") from err
    if done.returncode != 0:
        raise RuntimeError(f"Graphviz {dot!r} failed with exit code {done.returncode}: {done.stderr.strip()}")
    if "<svg" not in done.stdout:
        raise RuntimeError(f"Graphviz {dot!r} produced no SVG (output began {done.stdout[:80]!r})")
    return done.stdout


# ---------------------------------------------------------------- matplotlib


def _draw_matplotlib(trace: Trace, ax: Any, title: str | None) -> Any:
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    pos = layout(trace)
    n_columns = int(max(x for x, _ in pos.values())) + 1
    n_rows = max(sum(1 for x, _ in pos.values() if x == c) for c in range(n_columns))
    if ax is None:
        _, ax = plt.subplots(figsize=(2.6 * n_columns + 0.6, 1.2 * n_rows + 1.2))
    width, height = 0.8, 0.55
    for var in trace.variables:
        x, y = pos[var.index]
        colour = _INPUT_COLOUR if var.op == "input" else _NODE_COLOUR
        if var.index == trace.output_index:
            colour = _OUTPUT_COLOUR
        box = FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=colour,
            edgecolor="#333333",
            linewidth=2.0 if var.index == trace.output_index else 1.0,
            zorder=2,
        )
        ax.add_patch(box)
        ax.text(x, y, node_label(trace, var), ha="center", va="center", fontsize=9, zorder=3)
    for var in trace.variables:
        x1, y1 = pos[var.index]
        for parent in var.parents:
            x0, y0 = pos[parent]
            bend = 0.0 if x1 - x0 <= 1 else 0.15  # long edges bend around the columns between
            ax.add_patch(
                FancyArrowPatch(
                    (x0 + width / 2 + 0.02, y0),
                    (x1 - width / 2 - 0.02, y1),
                    arrowstyle="-|>",
                    mutation_scale=12,
                    color="#444444",
                    connectionstyle=f"arc3,rad={bend}",
                    zorder=1,
                )
            )
    ax.set_xlim(-0.6, n_columns - 0.4)
    ax.set_ylim(-(n_rows / 2) - 0.1, n_rows / 2 + 0.1)
    ax.set_aspect("auto")
    ax.axis("off")
    if title is None:
        title = f"Computation graph: {trace.output_name} = {format_value(trace.value)}"
    if title:
        ax.set_title(title)
    return ax


# ---------------------------------------------------------------- entry point


def draw_graph(
    output_or_trace: Trace | ReverseDiff, ax: Any = None, engine: str = "auto", title: str | None = None
) -> Any:
    """Draw the computation graph of a trace or of a ``ReverseDiff`` output.

    Args:
        output_or_trace: a :class:`~adlib.trace.Trace`, or the output of a program run on
            ``ReverseDiff`` inputs.
        ax: a matplotlib Axes to draw into (implies the matplotlib engine under ``"auto"``).
        engine: ``"auto"`` (Graphviz when ``dot`` is on ``PATH`` and no ``ax`` was given, else
            matplotlib), ``"dot"`` or ``"matplotlib"``.
        title: the drawing's title; ``None`` for the default, ``""`` for none.

    Returns:
        an :class:`SVGGraph` (Graphviz) or the matplotlib Axes drawn on.
    """
    if engine not in ("auto", "dot", "matplotlib"):
        raise ValueError(f"engine must be 'auto', 'dot' or 'matplotlib', got {engine!r}")
    trace = _as_trace(output_or_trace)
    if engine == "dot" and ax is not None:
        raise ValueError(
            "engine='dot' draws SVG and cannot draw into a matplotlib Axes; use engine='matplotlib'"
        )
    dot = _find_dot() if engine in ("auto", "dot") and ax is None else None
    if engine == "dot" and dot is None:
        raise RuntimeError(
            "engine='dot' needs the Graphviz 'dot' program on PATH (e.g. apt-get install graphviz); "
            "engine='matplotlib' needs nothing extra"
        )
    if dot is not None:
        source = to_dot(trace, title)
        return SVGGraph(_run_dot(dot, source), source)
    return _draw_matplotlib(trace, ax, title)
