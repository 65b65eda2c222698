"""Tests for adlib.trace: the lecture's primal, tangent and adjoint traces.

Expected numbers come from closed forms (math.log, math.sin, math.cos) and hand calculation,
never from the traced code itself; random programs are cross-checked against ForwardDiff and
ReverseDiff, which run the same primitives through a different code path.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from helpers.programs import seed_f
from hypothesis import given, settings
from hypothesis import strategies as st

import adlib
from adlib.trace import Trace, trace
from adlib.trace_render import display_width, format_constant, format_value

DOT, BAR = "\u0307", "\u0304"


def v(k: int) -> str:
    return f"v_{k}"


def vdot(k: int) -> str:
    return f"v{DOT}_{k}"


def vbar(k: int) -> str:
    return f"v{BAR}_{k}"


# ---------------------------------------------------------------- the lecture's example at (2, 5)


def test_primal_trace_matches_the_lecture(seed_trace: Trace) -> None:
    # sin 5 is negative (the seed prints +0.959, an erratum); the values are the closed forms.
    ln2, s5 = math.log(2.0), math.sin(5.0)
    expected = [
        (v(-1), "x1", 2.0),
        (v(0), "x2", 5.0),
        (v(1), "ln v_-1", ln2),
        (v(2), "v_-1 × v_0", 10.0),
        (v(3), "sin v_0", s5),
        (v(4), "v_1 + v_2", ln2 + 10.0),
        (v(5), "v_4 - v_3", ln2 + 10.0 - s5),
        ("y", "v_5", ln2 + 10.0 - s5),
    ]
    rows = seed_trace.primal_table()
    assert [(r.variable, r.formula) for r in rows] == [(a, b) for a, b, _ in expected]
    for row, (_, _, value) in zip(rows, expected, strict=True):
        assert row.value == pytest.approx(value, rel=1e-14, abs=1e-14)
    shown = [format_value(r.value) for r in rows]
    assert shown[2:7] == ["0.693", "10", "-0.959", "10.693", "11.652"]


def test_tangent_trace_wrt_x1_matches_the_lecture(seed_trace: Trace) -> None:
    x1, x2 = 2.0, 5.0
    rows = seed_trace.tangent_table(0)
    formulas = [r.formula for r in rows]
    assert formulas[2] == f"{vdot(-1)} / {v(-1)}"
    assert formulas[3] == f"{vdot(-1)} × {v(0)} + {vdot(0)} × {v(-1)}"
    assert formulas[4] == f"{vdot(0)} × cos {v(0)}"
    assert formulas[5] == f"{vdot(1)} + {vdot(2)}"
    assert formulas[6] == f"{vdot(4)} - {vdot(3)}"
    expected = [1.0, 0.0, 1 / x1, x2, 0.0, 1 / x1 + x2, 1 / x1 + x2, 1 / x1 + x2]
    assert [r.value for r in rows] == pytest.approx(expected, rel=1e-14)
    assert rows[-1].value == pytest.approx(5.5)
    assert [r.variable for r in rows][-1] == f"y{DOT}"


def test_tangent_direction_can_be_named_or_a_vector(seed_trace: Trace) -> None:
    x1, x2 = 2.0, 5.0
    by_name = seed_trace.tangent_table("x2")[-1].value
    assert by_name == pytest.approx(x1 - math.cos(x2), rel=1e-14)  # dy/dx2 = x1 - cos x2 = 1.716
    assert seed_trace.tangent_table(-1)[-1].value == pytest.approx(by_name, rel=1e-14)
    both = seed_trace.tangent_table([1.0, 2.0])[-1].value
    assert both == pytest.approx((1 / x1 + x2) + 2 * (x1 - math.cos(x2)), rel=1e-14)


def test_adjoint_trace_matches_the_lecture_row_by_row(seed_trace: Trace) -> None:
    x1, x2 = 2.0, 5.0
    c5 = math.cos(x2)
    expected = [
        (vbar(5), f"y{BAR}", 1.0),
        (vbar(4), f"{vbar(5)} × 1", 1.0),
        (vbar(3), f"{vbar(5)} × (-1)", -1.0),
        (vbar(1), f"{vbar(4)} × 1", 1.0),
        (vbar(2), f"{vbar(4)} × 1", 1.0),
        (vbar(0), f"{vbar(3)} × cos {v(0)}", -c5),  # -0.284
        (vbar(-1), f"{vbar(2)} × {v(0)}", x2),  # 5
        (vbar(0), f"{vbar(0)} + {vbar(2)} × {v(-1)}", x1 - c5),  # 1.716
        (vbar(-1), f"{vbar(-1)} + {vbar(1)} / {v(-1)}", x2 + 1 / x1),  # 5.5
        (f"x{BAR}1", vbar(-1), x2 + 1 / x1),
        (f"x{BAR}2", vbar(0), x1 - c5),
    ]
    rows = seed_trace.adjoint_table()
    assert [(r.variable, r.formula) for r in rows] == [(a, b) for a, b, _ in expected]
    assert [r.value for r in rows] == pytest.approx([c for _, _, c in expected], rel=1e-14)
    assert [format_value(r.value) for r in rows][5:9] == ["-0.284", "5", "1.716", "5.5"]


def test_adjoints_equal_reverse_mode_backward(seed_trace: Trace) -> None:
    x1, x2 = adlib.ReverseDiff(2.0), adlib.ReverseDiff(5.0)
    out = seed_f(x1, x2)
    out.backward()
    assert seed_trace.gradient() == pytest.approx((x1.grad, x2.grad), rel=1e-14)
    # The trace's own sweep never touches .grad.
    assert all(node.grad is None for node in seed_trace.nodes)


def test_evaluation_order_numbers_the_tape(seed_trace: Trace) -> None:
    # Python evaluates the + before sin: the tape order differs from the lecture's layered order.
    tape = trace(seed_f, 2, 5, order="evaluation")
    formulas = [r.formula for r in tape.primal_table()]
    assert formulas[2:7] == ["ln v_-1", "v_-1 × v_0", "v_1 + v_2", "sin v_0", "v_3 - v_4"]
    assert tape.gradient() == pytest.approx(seed_trace.gradient(), rel=1e-14)
    with pytest.raises(ValueError, match="order must be"):
        trace(seed_f, 2, 5, order="random")


# ---------------------------------------------------------------- 6 (x1 + x2^2 x3) at (1, 2, 3)


def six(x1, x2, x3):
    return 6 * (x1 + x2**2 * x3)


def test_six_function_trace_and_gradient() -> None:
    t = trace(six, 1, 2, 3)
    rows = t.primal_table()
    assert [r.formula for r in rows] == [
        "x1",
        "x2",
        "x3",
        "v_-1^2",
        "v_1 × v_0",
        "v_-2 + v_2",
        "6 × v_3",
        "v_4",
    ]
    assert [r.value for r in rows] == [1.0, 2.0, 3.0, 4.0, 12.0, 13.0, 78.0, 78.0]
    # By hand: df/dx1 = 6, df/dx2 = 12 x2 x3 = 72, df/dx3 = 6 x2^2 = 24.
    assert t.gradient() == (6.0, 72.0, 24.0)
    assert [t.tangent_table(i)[-1].value for i in range(3)] == [6.0, 72.0, 24.0]
    tangent = {r.variable: r.formula for r in t.tangent_table("x2")}
    assert tangent[vdot(1)] == f"{vdot(-1)} × 2 {v(-1)}"  # the power rule, 2 v^(2-1) tidied
    assert tangent[vdot(4)] == f"{vdot(3)} × 6"
    assert {r.formula for r in t.adjoint_table()} >= {f"{vbar(4)} × 6", f"{vbar(1)} × 2 {v(-1)}"}


# ---------------------------------------------------------------- shared nodes and other rules


def test_shared_node_accumulates_its_adjoint() -> None:
    x = 0.8

    def f(x):
        s = adlib.sin(x)
        return s * s + s

    t = trace(f, x)
    s, c = math.sin(x), math.cos(x)
    rows = t.adjoint_table()
    v1_rows = [r for r in rows if r.variable == vbar(1)]
    assert [r.formula for r in v1_rows] == [
        f"{vbar(3)} × 1",
        f"{vbar(1)} + {vbar(2)} × {v(1)}",
        f"{vbar(1)} + {vbar(2)} × {v(1)}",
    ]
    assert [r.value for r in v1_rows] == pytest.approx([1.0, 1.0 + s, 1.0 + 2 * s], rel=1e-14)
    assert t.gradient()[0] == pytest.approx(c * (1 + 2 * s), rel=1e-14)
    assert t.tangent_table()[-1].value == pytest.approx(c * (1 + 2 * s), rel=1e-14)


def test_quotient_and_negated_partials_read_as_the_rules() -> None:
    t = trace(lambda a, b: a / b + adlib.cos(a), 3.0, 2.0)
    tangent = {r.variable: r.formula for r in t.tangent_table()}
    assert tangent[vdot(1)] == f"{vdot(-1)} / {v(0)} - {vdot(0)} × {v(-1)}/{v(0)}²"
    assert tangent[vdot(2)] == f"-{vdot(-1)} × sin {v(-1)}"
    adjoint = [r.formula for r in t.adjoint_table()]
    assert f"{vbar(1)} × (-{v(-1)}/{v(0)}²)" in adjoint
    assert any(f.endswith(f"{vbar(2)} × (-sin {v(-1)})") for f in adjoint)
    a, b = 3.0, 2.0
    assert t.gradient() == pytest.approx((1 / b - math.sin(a), -a / b**2), rel=1e-14)


def test_constants_are_shown_inline() -> None:
    t = trace(lambda x: 1 - (-3.0) * x + 0.5 / x, 2.0)
    formulas = [r.formula for r in t.primal_table()]
    assert "(-3) × v_0" in formulas
    assert "0.5 / v_0" in formulas
    assert any(f.startswith("1 - ") for f in formulas)
    assert t.gradient()[0] == pytest.approx(3.0 - 0.5 / 4.0, rel=1e-14)


def test_operation_without_partial_templates_uses_the_generic_partial() -> None:
    t = trace(lambda x: adlib.sum(x * 2.0) + x, 3.0)
    tangent = [r.formula for r in t.tangent_table()]
    assert f"{vdot(1)} × ∂{v(2)}/∂{v(1)}" in tangent
    assert t.gradient()[0] == pytest.approx(3.0)


def test_unused_input_gets_zero_adjoint_and_tangent() -> None:
    t = trace(lambda x, y: adlib.exp(x), 0.5, 7.0)
    assert t.gradient() == pytest.approx((math.exp(0.5), 0.0), rel=1e-14)
    assert t.tangent_table("y")[-1].value == 0.0


# ---------------------------------------------------------------- names and bad input


def test_names_come_from_parameters_or_default_or_argument() -> None:
    assert trace(lambda a, b: a * b, 1.0, 2.0).names == ("a", "b")
    assert trace(lambda *xs: xs[0] * xs[1], 1.0, 2.0).names == ("x1", "x2")
    named = trace(lambda a, b: a * b, 1.0, 2.0, names=["p", "q"], output_name="z")
    assert [r.formula for r in named.primal_table()][:2] == ["p", "q"]
    assert named.primal_table()[-1].variable == "z"
    with pytest.raises(ValueError, match="2 names for 1 inputs"):
        trace(lambda a: a, 1.0, names=["p", "q"])
    with pytest.raises(ValueError, match="distinct"):
        trace(lambda a, b: a * b, 1.0, 2.0, names=["p", "p"])


def test_array_programs_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"scalar programs: input x has shape \(2,\)"):
        trace(lambda x: x * 2.0, np.ones(2))
    with pytest.raises(ValueError, match=r"scalar programs: the result of 'mul' has shape \(3,\)"):
        trace(lambda x: x * np.ones(3), 1.0)


def test_bad_calls_name_the_problem(seed_trace: Trace) -> None:
    with pytest.raises(ValueError, match="does not depend on its inputs"):
        trace(lambda x: 3.0, 1.0)
    with pytest.raises(TypeError, match="must be a number, got str"):
        trace(lambda x: x, "2")
    with pytest.raises(TypeError, match="needs a function"):
        trace(3.0, 1.0)
    with pytest.raises(ValueError, match="at least one input"):
        trace(lambda: 1.0)
    outside = adlib.ReverseDiff(4.0)
    with pytest.raises(ValueError, match="not one of the inputs"):
        trace(lambda x: x * outside, 1.0)
    with pytest.raises(ValueError, match="unknown input 'x3'"):
        seed_trace.tangent_table("x3")
    with pytest.raises(ValueError, match="out of range for 2 inputs"):
        seed_trace.tangent_table(2)
    with pytest.raises(ValueError, match="needs 2 numbers"):
        seed_trace.tangent_table([1.0, 0.0, 0.0])
    with pytest.raises(TypeError, match="wrt must be"):
        seed_trace.tangent_table(1.5)
    with pytest.raises(ValueError, match="finite"):
        seed_trace.adjoint_table(float("nan"))


def test_from_output_uses_leaf_names() -> None:
    a, b = adlib.ReverseDiff(2.0, name="a"), adlib.ReverseDiff(5.0)
    t = Trace.from_output(adlib.log(a) + a * b - adlib.sin(b))
    assert t.names == ("a", "x2")
    assert t.gradient() == pytest.approx((5.5, 2.0 - math.cos(5.0)), rel=1e-14)
    assert [r.formula for r in t.primal_table()][4] == "sin v_0"


# ---------------------------------------------------------------- rendering


def test_text_rendering_is_aligned_and_names_every_variable(seed_trace: Trace) -> None:
    text = str(seed_trace)
    assert text == seed_trace.to_text()
    for name in (
        "v_-1",
        vdot(-1),
        vbar(-1),
        "v_5",
        f"x{BAR}2",
        "Forward primal trace",
        "Reverse adjoint trace",
    ):
        assert name in text
    for table in (seed_trace.primal_table(), seed_trace.tangent_table(), seed_trace.adjoint_table()):
        lines = str(table).splitlines()[2:]
        columns = {display_width(line[: line.index(" = ")]) for line in lines}
        assert len(columns) == 1, lines  # the first " = " lines up in every row
        second = {display_width(line[: line.rindex(" = ")]) for line in lines}
        assert len(second) == 1, lines


def test_markdown_and_html_rendering(seed_trace: Trace) -> None:
    md = seed_trace.to_markdown()
    assert md == seed_trace._repr_markdown_()
    for piece in (
        "$v_{-1}$",
        "$\\dot v_{-1}$",
        "$\\bar v_{-1}$",
        "$\\bar x_{1}$",
        "| variable | formula | value |",
    ):
        assert piece in md
    assert "$\\bar v_{0}$ + $\\bar v_{2}$ × $v_{-1}$ | 1.716 |" in md
    page = seed_trace._repr_html_()
    assert page.count("<table") == 3
    assert "v<sub>-1</sub>" in page and f"v{BAR}<sub>0</sub>" in page
    table_md = seed_trace.adjoint_table()._repr_markdown_()
    assert table_md.startswith("**Reverse adjoint trace**")


def test_markdown_escapes_table_pipes() -> None:
    md = trace(lambda x: abs(x), -2.0).primal_table().to_markdown()
    row = next(line for line in md.splitlines() if "v_{1}$ |" in line)
    assert "\\|$v_{0}$\\|" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 4  # exactly the table's own column bars


def test_value_formatting() -> None:
    assert [format_value(x) for x in (10.0, 0.5, -0.958924, 11.65207, 0.0, -0.0)] == [
        "10",
        "0.5",
        "-0.959",
        "11.652",
        "0",
        "0",
    ]
    assert format_value(2.5e-5) == "2.5e-05"
    assert format_value(-4e-4, decimals=4) == "-0.0004"
    assert format_value(float("inf")) == "inf"
    assert [format_constant(c) for c in (6, 6.0, 0.25, -3.0)] == ["6", "6", "0.25", "(-3)"]


# ---------------------------------------------------------------- random programs


UNARY = {
    "sin": adlib.sin,
    "cos": adlib.cos,
    "tanh": adlib.tanh,
    "sigmoid": adlib.sigmoid,
    "exp_tanh": lambda a: adlib.exp(adlib.tanh(a)),
    "log1p_sq": lambda a: adlib.log(1.0 + a * a),
    "square": lambda a: a**2,
    "neg": lambda a: -a,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (2.0 + adlib.sin(b)),
}

step = st.one_of(
    st.tuples(st.sampled_from(sorted(UNARY)), st.integers(0, 100), st.just(0), st.just(0.0)),
    st.tuples(st.sampled_from(sorted(BINARY)), st.integers(0, 100), st.integers(0, 100), st.just(0.0)),
    st.tuples(st.just("const"), st.integers(0, 100), st.just(0), st.floats(-2, 2, allow_nan=False)),
)


def build(program):
    def f(*xs):
        values = list(xs)
        for op, i, j, c in program:
            a, b = values[i % len(values)], values[j % len(values)]
            if op in UNARY:
                values.append(UNARY[op](a))
            elif op in BINARY:
                values.append(BINARY[op](a, b))
            else:
                values.append(c * a + c)
        return values[-1] if len(values) > len(xs) else values[0] * 1.0

    return f


@settings(max_examples=40, deadline=None)
@given(
    program=st.lists(step, min_size=1, max_size=8),
    point=st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=3),
)
def test_random_programs_agree_with_forward_and_reverse_mode(program, point) -> None:
    f = build(program)
    t = trace(f, *point)

    # Adjoints of every variable equal what ReverseDiff.backward accumulates into .grad.
    t.output.backward()
    adjoints = t.adjoint_values()
    for node in t.nodes:
        expected = 0.0 if node.grad is None else node.grad
        assert adjoints[t.label(node)] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    final = [r.value for r in t.adjoint_table()[-len(point) :]]
    assert final == pytest.approx(list(t.gradient()), rel=1e-15)

    # Tangents of the output equal ForwardDiff's, for each input direction.
    for i in range(len(point)):
        e = [1.0 if k == i else 0.0 for k in range(len(point))]
        _, expected = adlib.jvp(f, point, e)
        assert t.tangent_table(i)[-1].value == pytest.approx(expected, rel=1e-12, abs=1e-12)

    # Both orders give the same numbers.
    assert trace(f, *point, order="evaluation").gradient() == pytest.approx(
        t.gradient(), rel=1e-12, abs=1e-12
    )
