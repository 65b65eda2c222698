"""Reverse mode: ReverseDiff's backward semantics, the graph API, deep graphs and memory.

Expected gradients are closed forms (written out in each test), central differences, forward
mode or torch float64.
"""

from __future__ import annotations

import gc
import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from helpers.reference import RTOL_FD, assert_close, central_derivative, to_numpy
from helpers.strategies import DOMAINS, FAST, reals
from hypothesis import given

import adlib
from adlib import ReverseDiff
from adlib.reverse import backpropagate, topological_order


def _cyclic_garbage_left_by(build: Callable[[], None]) -> int:
    """Run ``build`` with the cycle collector off, so that only reference counting frees what it
    made, and count what ``gc.collect()`` then finds (objects kept alive only by reference cycles)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        build()
        return gc.collect()
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------- .grad and seeding


def test_grad_is_none_until_backward_reaches_the_node() -> None:
    x, y, unused = ReverseDiff(2.0), ReverseDiff(3.0), ReverseDiff(4.0)
    z = x * y
    other = unused + 1.0
    assert x.grad is None and y.grad is None and z.grad is None
    z.backward()
    assert x.grad == 3.0 and y.grad == 2.0
    assert unused.grad is None and other.grad is None


def test_scalar_output_seeds_itself_with_one() -> None:
    x = ReverseDiff(2.0)
    y = x * x
    y.backward()
    assert y.grad == 1.0
    assert x.grad == 4.0


def test_zero_dimensional_array_output_counts_as_scalar() -> None:
    x = ReverseDiff(np.array([1.0, 2.0, 3.0]))
    y = (x * x).sum()
    y.backward()
    assert_close(x.grad, 2.0 * np.array([1.0, 2.0, 3.0]))


def test_non_scalar_output_without_seed_is_a_clear_error() -> None:
    y = ReverseDiff(np.ones((2, 3))) * 2.0
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*seed"):
        y.backward()


def test_seed_shape_mismatch_names_both_shapes() -> None:
    y = ReverseDiff(np.ones((2, 3))) * 2.0
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_seed_for_a_scalar_output_must_be_scalar() -> None:
    y = ReverseDiff(2.0) * 2.0
    with pytest.raises(ValueError, match=r"\(2,\)"):
        y.backward(np.ones(2))


def test_seed_gives_a_vector_jacobian_product() -> None:
    """y = W x: x.grad = W^T ybar and W.grad = ybar x^T."""
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    xv = np.array([0.5, -1.0, 2.0])
    ybar = np.array([1.0, -2.0])
    wn, xn = ReverseDiff(w), ReverseDiff(xv)
    (wn @ xn).backward(ybar)
    assert_close(xn.grad, w.T @ ybar)
    assert_close(wn.grad, np.outer(ybar, xv))


def test_seed_may_be_a_list() -> None:
    x = ReverseDiff(np.array([1.0, 2.0]))
    (x * 3.0).backward([1.0, 2.0])
    assert_close(x.grad, np.array([3.0, 6.0]))


# ---------------------------------------------------------------- sharing and accumulation


def test_leaf_used_several_times_gets_the_sum() -> None:
    """y = x^2 + 3x + x: dy/dx = 2x + 4."""
    x = ReverseDiff(1.5)
    y = x * x + 3.0 * x + x
    y.backward()
    assert_close(x.grad, 2 * 1.5 + 4)


def test_weight_sharing_across_layers() -> None:
    """The same W in two layers, y = sum(W (W x)) = 1^T W^2 x: dy/dW = W^T 1 x^T + 1 (W x)^T."""
    w = np.array([[0.5, -1.0], [2.0, 0.25]])
    xv = np.array([1.0, 3.0])
    wn = ReverseDiff(w)
    (wn @ (wn @ xv)).sum().backward()
    ones = np.ones(2)
    assert_close(wn.grad, np.outer(w.T @ ones, xv) + np.outer(ones, w @ xv))


def test_two_backward_calls_accumulate_then_zero_grad_resets() -> None:
    x = ReverseDiff(2.0)
    h = x * x
    y = h * 3.0
    y.backward()
    y.backward()
    assert x.grad == 2 * (3 * 2 * 2.0)
    assert h.grad == 2 * 3.0
    y.zero_grad()
    assert x.grad is None and h.grad is None and y.grad is None
    y.backward()
    assert x.grad == 3 * 2 * 2.0


def test_accumulation_from_two_different_outputs() -> None:
    x = ReverseDiff(np.array([1.0, 2.0]))
    (x * x).sum().backward()
    x.sin().sum().backward()
    assert_close(x.grad, 2 * np.array([1.0, 2.0]) + np.cos([1.0, 2.0]))


def test_grads_are_private_copies() -> None:
    """Adding the seed array through '+' must not alias it into .grad, nor two .grads together."""
    a, b = ReverseDiff(np.zeros(2)), ReverseDiff(np.zeros(2))
    seed = np.array([1.0, 2.0])
    (a + b).backward(seed)
    a.grad += 10.0
    assert_close(b.grad, [1.0, 2.0])
    assert_close(seed, [1.0, 2.0])


def test_intermediate_adjoints_are_readable() -> None:
    """The adjoint trace of f = ln x1 + x1 x2 - sin x2 at (2, 5):
    v5 = v4 - v3, v4 = v1 + v2, v1 = ln x1, v2 = x1 x2, v3 = sin x2.
    bar v5 = 1, bar v4 = 1, bar v3 = -1, bar v1 = bar v2 = 1,
    bar x1 = 1/x1 + x2 = 5.5, bar x2 = x1 - cos x2."""
    x1, x2 = ReverseDiff(2.0), ReverseDiff(5.0)
    v1 = x1.log()
    v2 = x1 * x2
    v3 = x2.sin()
    v4 = v1 + v2
    v5 = v4 - v3
    v5.backward()
    assert (v5.grad, v4.grad, v3.grad, v2.grad, v1.grad) == (1.0, 1.0, -1.0, 1.0, 1.0)
    assert_close(x1.grad, 5.5)
    assert_close(x2.grad, 2.0 - math.cos(5.0))


# ---------------------------------------------------------------- operators with constants

BINARY: list[tuple[Callable[[Any, Any], Any], Callable[..., Any], Callable[..., Any]]] = [
    # (op, d/dx (x op c), d/dx (c op x))
    (operator.add, lambda x, c: 1.0 + 0 * x * c, lambda x, c: 1.0 + 0 * x * c),
    (operator.sub, lambda x, c: 1.0 + 0 * x * c, lambda x, c: -1.0 + 0 * x * c),
    (operator.mul, lambda x, c: c + 0 * x, lambda x, c: c + 0 * x),
    (operator.truediv, lambda x, c: 1.0 / c + 0 * x, lambda x, c: -c / x**2),
    (operator.pow, lambda x, c: c * x ** (c - 1), lambda x, c: c**x * np.log(c)),
]


@pytest.mark.parametrize("case", range(len(BINARY)), ids=["+", "-", "*", "/", "**"])
@pytest.mark.parametrize("array_constant", [False, True], ids=["number", "array"])
@FAST
@given(x=DOMAINS["base"], c=reals(0.5, 3.0))
def test_constants_on_either_side(case: int, array_constant: bool, x: float, c: float) -> None:
    """x.grad of sum(x op c) and sum(c op x), with c a number or an array (np.array on the left)."""
    op, right, left = BINARY[case]
    const: Any = np.array([c, 2 * c]) if array_constant else c
    for build, slope in ((lambda n: op(n, const), right), (lambda n: op(const, n), left)):
        node = ReverseDiff(x)
        out = build(node)
        assert isinstance(out, ReverseDiff)
        out.sum().backward()
        assert_close(node.grad, np.sum(slope(x, np.asarray(const))))


@FAST
@given(x=reals(-2.0, 2.0))
def test_methods_match_closed_forms(x: float) -> None:
    """sum of the methods' derivatives: cos - sin + e^x + 1 - tanh^2 + sigma(1 - sigma)."""
    node = ReverseDiff(x)
    (node.sin() + node.cos() + node.exp() + node.tanh() + node.sigmoid()).backward()
    s = 1.0 / (1.0 + math.exp(-x))
    assert_close(node.grad, math.cos(x) - math.sin(x) + math.exp(x) + 1 - math.tanh(x) ** 2 + s * (1 - s))


def test_array_methods_and_broadcast_reductions() -> None:
    x = ReverseDiff(np.arange(6.0).reshape(2, 3))
    b = ReverseDiff(np.array([1.0, 2.0, 3.0]))
    y = ((x + b).T.reshape(6) * np.arange(6.0)).mean() + x[0, 1] * 10.0
    y.backward()
    # (x + b).T.reshape(6)[k] = (x + b)[k % 2, k // 2]; mean divides by 6
    weights = np.arange(6.0).reshape(3, 2).T / 6.0
    expected_x = weights.copy()
    expected_x[0, 1] += 10.0
    assert_close(x.grad, expected_x)
    assert_close(b.grad, weights.sum(axis=0))


def test_float32_stays_float32() -> None:
    """A float32 model gets float32 gradients (the seed 1.0 must not widen them to float64)."""
    w = ReverseDiff(np.full((3, 2), 0.5, dtype=np.float32))
    x = np.ones((4, 3), dtype=np.float32)
    h = (x @ w).tanh()
    loss = -adlib.log_softmax(h)[np.arange(4), [0, 1, 0, 1]].mean() + (h**2).sum() + adlib.relu(h).mean()
    loss.backward()
    assert loss.value.dtype == np.float32
    assert w.grad.dtype == np.float32


def test_repr_shows_value_and_grad() -> None:
    x = ReverseDiff(2.0)
    assert repr(x) == "ReverseDiff(value=2.0, grad=None)"
    (x * 3.0).backward()
    assert repr(x) == "ReverseDiff(value=2.0, grad=3.0)"


# ---------------------------------------------------------------- graph structure


def test_graph_structure_api() -> None:
    x = ReverseDiff(2.0, name="x")
    y = x * 3.0
    z = (y + x).sum()
    assert x.is_leaf and not y.is_leaf
    assert x.op == "" and y.op == "mul" and z.op == "sum"
    assert x.primitive is None and y.primitive is adlib.calculus.MUL
    assert y.parents == (x,)
    assert y.args == (2.0, 3.0)
    assert y.arg_nodes == (x, None)
    assert z.params == {"axis": None, "keepdims": False}
    assert x.name == "x"


def test_topological_order_lists_each_node_once_parents_first() -> None:
    x = ReverseDiff(0.5)
    a = x.sin()
    b = x * a
    c = a + b
    order = topological_order(c)
    assert len(order) == len({id(n) for n in order}) == 4
    assert order[-1] is c
    position = {id(n): i for i, n in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]


def test_backpropagate_returns_adjoints_without_touching_grad() -> None:
    x = ReverseDiff(0.5)
    y = x * x
    order, adjoint = backpropagate(y, 2.0)
    assert order[0] is y
    assert adjoint[id(x)] == 2.0 * 2 * 0.5
    assert x.grad is None and y.grad is None


# ---------------------------------------------------------------- deep graphs


def test_long_chain_backpropagates_without_recursion() -> None:
    """10^5 multiplications by a = 1 + 1e-5: d/dx (a^N x) = a^N."""
    n, a = 10**5, 1.0 + 1e-5
    x = ReverseDiff(1.0)
    y = x
    for _ in range(n):
        y = y * a
    y.backward()
    assert_close(x.grad, a**n, rtol=1e-9)


def _logistic(x: Any, steps: int) -> Any:
    for _ in range(steps):
        x = 4.0 * x * (1.0 - x)
    return x


def test_logistic_map_200_steps() -> None:
    """l_{n+1} = 4 l_n (1 - l_n) uses l_n twice per step: a naive recursive backward visits 2^200
    paths. Reverse mode must agree with forward mode and with torch float64 (same arithmetic)."""
    l0 = 0.2
    node = ReverseDiff(l0)
    _logistic(node, 200).backward()
    forward = adlib.derivative(lambda x: _logistic(x, 200))(l0)
    t = torch.tensor(l0, dtype=torch.float64, requires_grad=True)
    (torch_grad,) = torch.autograd.grad(_logistic(t, 200), t)
    assert np.isfinite(node.grad) and abs(node.grad) > 1.0
    assert_close(node.grad, forward, rtol=1e-9)
    assert_close(node.grad, to_numpy(torch_grad), rtol=1e-9)


@pytest.mark.parametrize("steps", [1, 3, 10])
def test_logistic_map_short_against_central_difference_and_closed_form(steps: int) -> None:
    """With l_0 = sin^2 theta, l_n = sin^2(2^n theta), so dl_n/dl_0 = 2^n sin(2^(n+1) theta) / sin(2 theta).
    (Only a few steps: the map is chaotic, so finite differences are meaningless for long orbits.)"""
    l0 = 0.2
    node = ReverseDiff(l0)
    _logistic(node, steps).backward()
    theta = math.asin(math.sqrt(l0))
    closed = 2**steps * math.sin(2 ** (steps + 1) * theta) / math.sin(2 * theta)
    assert_close(node.grad, closed, rtol=1e-9)
    assert_close(node.grad, adlib.derivative(lambda x: _logistic(x, steps))(l0), rtol=1e-12)
    # The orbit stretches distances by about 2 per step, so the step shrinks with 2^-steps.
    fd = central_derivative(lambda x: _logistic(x, steps), l0, h=1e-3 / 2**steps)
    assert_close(node.grad, fd, rtol=RTOL_FD)


# ---------------------------------------------------------------- memory


def test_dropped_graph_leaves_no_reference_cycles() -> None:
    def build() -> None:
        w = ReverseDiff(np.ones((3, 2)))
        x = ReverseDiff(np.array([1.0, 2.0, 3.0]))
        h = (x @ w).tanh()
        loss = (h * h).sum() + adlib.log_softmax(h)[0] + h[1] ** 2.0
        loss.backward()

    build()  # a first run, so lazy imports and caches are not counted
    assert _cyclic_garbage_left_by(build) == 0


def test_dropped_transform_graph_leaves_no_reference_cycles() -> None:
    def build() -> None:
        _, pull = adlib.vjp(lambda a, b: (a * b).sin().sum(), np.ones(3), np.ones(3))
        pull(1.0)
        adlib.grad(lambda a: (a**2.0).mean())(np.ones(3))
        adlib.jvp(lambda a: a.exp(), (np.ones(2),), (np.ones(2),))

    build()
    assert _cyclic_garbage_left_by(build) == 0


def test_dropped_long_chain_is_freed() -> None:
    def build() -> None:
        x = ReverseDiff(1.0)
        y = x
        for _ in range(10**4):
            y = y + 1.0
        y.backward()

    assert _cyclic_garbage_left_by(build) == 0


def test_the_cycle_check_can_fail() -> None:
    """The helper does see a cycle when there is one (a node made to point at itself)."""

    def build() -> None:
        x = ReverseDiff(1.0)
        x.name = [x]  # type: ignore[assignment]

    assert _cyclic_garbage_left_by(build) > 0
