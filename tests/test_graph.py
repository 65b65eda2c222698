"""Tests for adlib.graph: DOT source, the Graphviz runner and the matplotlib fallback.

The lecture's graph for ln(x1) + x1 x2 - sin(x2) is written out by hand below; the Graphviz path
is exercised with a stand-in ``dot`` program, so it is tested whether or not Graphviz is installed.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

import adlib
from adlib import graph
from adlib.trace import Trace

# v_k -> v_m for every argument edge of the lecture's graph (v_-1 = x1, v_0 = x2,
# v_1 = ln v_-1, v_2 = v_-1 v_0, v_3 = sin v_0, v_4 = v_1 + v_2, v_5 = v_4 - v_3).
SEED_EDGES = {(-1, 1), (-1, 2), (0, 2), (0, 3), (1, 4), (2, 4), (4, 5), (3, 5)}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _dot_index(name: str) -> int:
    return -int(name[3:]) if name.startswith("v_m") else int(name[2:])


def test_to_dot_has_the_lectures_nodes_and_edges(seed_trace: Trace) -> None:
    source = graph.to_dot(seed_trace)
    assert source.startswith("digraph computation {") and source.rstrip().endswith("}")
    assert "rankdir=LR;" in source
    edges = {(_dot_index(a), _dot_index(b)) for a, b in re.findall(r"(v_m?\d+) -> (v_m?\d+);", source)}
    assert edges == SEED_EDGES
    assert 'v_1 [label="v_1 = ln v_-1\\n0.693"]' in source
    assert 'label="v_3 = sin v_0\\n-0.959"' in source
    output_line = next(line for line in source.splitlines() if line.strip().startswith("v_5 ["))
    assert "y = v_5 = v_4 - v_3\\n11.652" in output_line and "peripheries=2" in output_line
    assert source.count("#dbe9f6") == 2  # two inputs shaded
    assert 'label="computation graph: y = 11.652"' in source
    assert "labelloc" not in graph.to_dot(seed_trace, title="")


def test_to_dot_escapes_quotes_and_accepts_an_output() -> None:
    a = adlib.ReverseDiff(1.5, name='say "hi"')
    source = graph.to_dot(a * a)
    assert 'label="v_0 = say \\"hi\\"\\n1.5"' in source
    assert source.count("v_0 -> v_1;") == 1  # x * x: one edge, drawn once


def test_layout_puts_inputs_left_output_right_and_edges_rightwards(seed_trace: Trace) -> None:
    depth = graph.depths(seed_trace)
    assert depth == {-1: 0, 0: 0, 1: 1, 2: 1, 3: 1, 4: 2, 5: 3}
    pos = graph.layout(seed_trace)
    assert {pos[-1][0], pos[0][0]} == {0.0}
    assert pos[5][0] == max(x for x, _ in pos.values())
    assert all(pos[a][0] < pos[b][0] for a, b in SEED_EDGES)
    column_one = [pos[k] for k in (1, 2, 3)]
    assert len({y for _, y in column_one}) == 3  # no two nodes on top of each other


def test_matplotlib_drawing(seed_trace: Trace) -> None:
    ax = graph.draw_graph(seed_trace, engine="matplotlib")
    assert not ax.axison
    assert ax.get_title() == "Computation graph: y = 11.652"
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(boxes) == 7
    assert len(arrows) == len(SEED_EDGES)
    texts = {t.get_text() for t in ax.texts}
    assert "v_1 = ln v_-1\n0.693" in texts
    assert "y = v_5 = v_4 - v_3\n11.652" in texts


def test_matplotlib_drawing_into_a_given_axes_and_from_an_output(monkeypatch) -> None:
    monkeypatch.setattr(graph, "_find_dot", lambda: "/pretend/dot")  # ax given: still matplotlib
    x = adlib.ReverseDiff(0.5)
    _, ax = plt.subplots()
    out = graph.draw_graph(adlib.tanh(x) * x, ax=ax, title="mine")
    assert out is ax
    assert ax.get_title() == "mine"
    assert len([p for p in ax.patches if isinstance(p, FancyBboxPatch)]) == 3


def _fake_dot(tmp_path: Path, body: str) -> str:
    script = tmp_path / "dot"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return os.fspath(script)


def test_dot_engine_runs_the_program_on_the_dot_source(
    seed_trace: Trace, tmp_path: Path, monkeypatch
) -> None:
    # A stand-in for Graphviz that wraps its standard input in <svg> and records its arguments.
    fake = _fake_dot(
        tmp_path,
        "src = sys.stdin.read()\n"
        "sys.stdout.write('<svg args=\"' + ' '.join(sys.argv[1:]) + '\">' + src + '</svg>')",
    )
    monkeypatch.setattr(graph, "_find_dot", lambda: fake)
    drawing = graph.draw_graph(seed_trace)  # engine="auto" picks dot when it is found
    assert isinstance(drawing, graph.SVGGraph)
    assert drawing.source == graph.to_dot(seed_trace)
    svg = drawing._repr_svg_()
    assert svg.startswith('<svg args="-Tsvg">') and drawing.source in svg
    out = tmp_path / "g.svg"
    drawing.save(os.fspath(out))
    assert out.read_text(encoding="utf-8") == svg


def test_dot_failures_are_reported(seed_trace: Trace, tmp_path: Path, monkeypatch) -> None:
    failing = _fake_dot(tmp_path, "sys.stdin.read()\nsys.stderr.write('syntax error in line 3')\nsys.exit(2)")
    monkeypatch.setattr(graph, "_find_dot", lambda: failing)
    with pytest.raises(RuntimeError, match="exit code 2: syntax error in line 3"):
        graph.draw_graph(seed_trace, engine="dot")
    with pytest.raises(RuntimeError, match="could not run Graphviz"):
        graph._run_dot(os.fspath(tmp_path / "missing"), "digraph {}")


def test_engine_choice_and_bad_arguments(seed_trace: Trace, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(graph, "_run_dot", lambda dot, source: calls.append((dot, source)) or "<svg/>")
    monkeypatch.setattr(graph, "_find_dot", lambda: None)
    assert not isinstance(graph.draw_graph(seed_trace), graph.SVGGraph)  # auto without dot: matplotlib
    with pytest.raises(RuntimeError, match="needs the Graphviz 'dot' program"):
        graph.draw_graph(seed_trace, engine="dot")
    assert calls == []
    monkeypatch.setattr(graph, "_find_dot", lambda: "/pretend/dot")
    assert graph.draw_graph(seed_trace, engine="dot")._repr_svg_() == "<svg/>"
    assert calls == [("/pretend/dot", graph.to_dot(seed_trace))]
    assert not isinstance(graph.draw_graph(seed_trace, engine="matplotlib"), graph.SVGGraph)
    with pytest.raises(ValueError, match="engine must be"):
        graph.draw_graph(seed_trace, engine="svg")
    with pytest.raises(ValueError, match="cannot draw into a matplotlib Axes"):
        graph.draw_graph(seed_trace, ax=plt.subplots()[1], engine="dot")
    with pytest.raises(TypeError, match="got float"):
        graph.draw_graph(3.0)
