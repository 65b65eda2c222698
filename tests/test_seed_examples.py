"""The worked examples of the lecture material, in both modes, with the numbers the lectures give.

Each expected value is the lecture's number, re-derived by hand in the docstring (closed forms),
and where a program is long it is also run through torch float64 and micrograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from helpers.reference import assert_close, to_numpy
from micrograd.engine import Value

import adlib
from adlib import ForwardDiff, ReverseDiff

# ---------------------------------------------------------------- f(x1, x2) = ln x1 + x1 x2 - sin x2


def _lecture_f(x1: Any, x2: Any) -> Any:
    return x1.log() + x1 * x2 - x2.sin()


def test_primal_tangent_trace_example_forward_mode() -> None:
    """At (2, 5): f = ln 2 + 10 - sin 5 = 11.652; df/dx1 = 1/x1 + x2 = 5.5; df/dx2 = x1 - cos x2 = 1.716."""
    along_x1 = _lecture_f(ForwardDiff(2.0, 1.0), ForwardDiff(5.0, 0.0))
    along_x2 = _lecture_f(ForwardDiff(2.0, 0.0), ForwardDiff(5.0, 1.0))
    assert round(along_x1.value, 3) == 11.652
    assert along_x1.grad == 5.5
    assert round(along_x2.grad, 3) == 1.716
    assert_close(along_x1.value, math.log(2.0) + 10.0 - math.sin(5.0))
    assert_close(along_x2.grad, 2.0 - math.cos(5.0))


def test_adjoint_trace_example_reverse_mode() -> None:
    x1, x2 = ReverseDiff(2.0), ReverseDiff(5.0)
    y = _lecture_f(x1, x2)
    y.backward()
    assert round(y.value, 3) == 11.652
    assert_close(x1.grad, 5.5)
    assert_close(x2.grad, 2.0 - math.cos(5.0))
    assert round(x2.grad, 3) == 1.716


# ---------------------------------------------------------------- f = 6 (x1 + x2^2 x3)


def _six(x1: Any, x2: Any, x3: Any) -> Any:
    return 6.0 * (x1 + x2**2 * x3)


def test_six_times_example_both_modes() -> None:
    """At (1, 2, 3): f = 6 (1 + 12) = 78, grad = (6, 12 x2 x3, 6 x2^2) = (6, 72, 24)."""
    point = (1.0, 2.0, 3.0)
    forward = []
    for i in range(3):
        duals = [ForwardDiff(v, 1.0 if j == i else 0.0) for j, v in enumerate(point)]
        out = _six(*duals)
        assert out.value == 78.0
        forward.append(out.grad)
    assert forward == [6.0, 72.0, 24.0]

    nodes = [ReverseDiff(v) for v in point]
    out = _six(*nodes)
    out.backward()
    assert out.value == 78.0
    assert [n.grad for n in nodes] == [6.0, 72.0, 24.0]


# ---------------------------------------------------------------- one-variable and gradient examples


def test_cubic_has_slope_one_at_two() -> None:
    """f = 2x^3 - 6x^2 + x + 1, f' = 6x^2 - 12x + 1, f'(2) = 24 - 24 + 1 = 1."""

    def f(x: Any) -> Any:
        return 2 * x**3 - 6 * x**2 + x + 1

    assert adlib.derivative(f)(2.0) == 1.0
    x = ReverseDiff(2.0)
    f(x).backward()
    assert x.grad == 1.0


def test_gradient_of_quadratic_bowl() -> None:
    """f = 2x^2 + 3y^2, grad = (4x, 6y) = (16, 30) at (4, 5).

    Erratum: one lecture deck prints (15, 30); 4 * 4 = 16.
    """

    def f(x: Any, y: Any) -> Any:
        return 2 * x**2 + 3 * y**2

    assert adlib.grad(f, argnums=(0, 1))(4.0, 5.0) == (16.0, 30.0)
    assert adlib.jvp(f, (4.0, 5.0), (1.0, 0.0))[1] == 16.0
    assert adlib.jvp(f, (4.0, 5.0), (0.0, 1.0))[1] == 30.0


@pytest.mark.parametrize(
    ("steps", "simplified"),
    [
        (1, lambda x: 4 - 8 * x),
        (2, lambda x: 16 * (1 - 10 * x + 24 * x**2 - 16 * x**3)),
        (
            3,
            lambda x: (
                64
                * (
                    1
                    - 42 * x
                    + 504 * x**2
                    - 2640 * x**3
                    + 7040 * x**4
                    - 9984 * x**5
                    + 7168 * x**6
                    - 2048 * x**7
                )
            ),
        ),
    ],
)
@pytest.mark.parametrize("x", [0.1, 0.3, 0.77])
def test_logistic_map_table(steps: int, simplified: Callable[[float], float], x: float) -> None:
    """The expression-swell table: l_1 = x, l_{n+1} = 4 l_n (1 - l_n), with d l_n/dx in simplified form."""

    def l_n(v: Any) -> Any:
        for _ in range(steps):
            v = 4 * v * (1 - v)
        return v

    node = ReverseDiff(x)
    l_n(node).backward()
    assert_close(node.grad, simplified(x))
    assert_close(adlib.derivative(l_n)(x), simplified(x))


# ---------------------------------------------------------------- sin(3w + b) from the PyTorch walk-through


def test_sin_three_w_plus_b() -> None:
    """w = b = linspace(0, 2 pi, 25), out = sin(3w + b) = sin(4 w_k) with w_k = k pi / 12.

    d sum(out) / dw_k = 3 cos(4 w_k) = 3 cos(k pi / 3): the repeating pattern 3, 1.5, -1.5, -3, -1.5, 1.5
    that the lecture prints; d/db_k = cos(k pi / 3).
    """
    grid = np.linspace(0.0, 2.0 * math.pi, 25)
    w, b = ReverseDiff(grid), ReverseDiff(grid)
    out = (w * 3 + b).sin()
    out.sum().backward()
    pattern = np.array([1.0, 0.5, -0.5, -1.0, -0.5, 0.5])
    cos_k = np.tile(pattern, 5)[:25]
    assert_close(w.grad, 3.0 * cos_k, rtol=0, atol=1e-12)
    assert_close(b.grad, cos_k, rtol=0, atol=1e-12)
    # the printed values: 0, 0.866, 0.866, 0, -0.866, -0.866, ... (sin(k pi / 3))
    s = math.sqrt(3) / 2
    assert_close(out.value, np.tile([0.0, s, s, 0.0, -s, -s], 5)[:25], rtol=0, atol=1e-12)

    # Forward mode: the JVP along w = (1, ..., 1) is the elementwise derivative, as out is elementwise.
    along_w = (ForwardDiff(grid, np.ones(25)) * 3 + grid).sin()
    assert_close(along_w.grad, 3.0 * cos_k, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- micrograd's engine tests


def _sanity(x: Any) -> Any:
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    return h + q + q * x


def _more_ops(a: Any, b: Any) -> Any:
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


def test_micrograd_sanity_check() -> None:
    """x = -4: z = -10, q = 0 + 40, h = 100, y = 100 + 40 - 160 = -20;
    dz/dx = 3, dq/dx = x dz/dx + z = -22, dh/dx = 2 z dz/dx = -60,
    dy/dx = dh/dx + dq/dx (1 + x) + q = -60 + 66 + 40 = 46."""
    x = ReverseDiff(-4.0)
    y = _sanity(x)
    y.backward()
    assert y.value == -20.0
    assert x.grad == 46.0

    forward = _sanity(ForwardDiff(-4.0, 1.0))
    assert (forward.value, forward.grad) == (-20.0, 46.0)

    t = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    ty = _sanity(t)
    ty.backward()
    assert (ty.item(), t.grad.item()) == (-20.0, 46.0)

    m = Value(-4.0)
    my = _sanity(m)
    my.backward()
    assert (my.data, m.grad) == (y.value, x.grad)


def test_micrograd_more_ops() -> None:
    """micrograd's published numbers, and the same program in torch float64 and micrograd."""
    a, b = ReverseDiff(-4.0), ReverseDiff(2.0)
    g = _more_ops(a, b)
    g.backward()
    assert_close(g.value, 24.70408163265306, rtol=1e-12)
    assert_close(a.grad, 138.83381924198252, rtol=1e-12)
    assert_close(b.grad, 645.5772594752186, rtol=1e-12)

    ta = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    tg = _more_ops(ta, tb)
    tg.backward()
    assert_close(g.value, to_numpy(tg), rtol=1e-12)
    assert_close(a.grad, to_numpy(ta.grad), rtol=1e-12)
    assert_close(b.grad, to_numpy(tb.grad), rtol=1e-12)

    ma, mb = Value(-4.0), Value(2.0)
    mg = _more_ops(ma, mb)
    mg.backward()
    assert_close(g.value, mg.data, rtol=1e-12)
    assert_close((a.grad, b.grad), (ma.grad, mb.grad), rtol=1e-12)

    # Forward mode, one pass per input.
    along_a = _more_ops(ForwardDiff(-4.0, 1.0), ForwardDiff(2.0, 0.0))
    along_b = _more_ops(ForwardDiff(-4.0, 0.0), ForwardDiff(2.0, 1.0))
    assert_close((along_a.grad, along_b.grad), (a.grad, b.grad), rtol=1e-12)
