"""Forward mode: the ForwardDiff seed interface, its operators and methods, arrays and nesting.

Expected tangents are closed-form derivatives written out in each test (e.g. d/dx x^y = y x^(y-1))
or central differences; nothing is computed by adlib itself.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from helpers.reference import RTOL_FD, assert_close, central_derivative
from helpers.strategies import DOMAINS, FAST, arrays_of, reals
from hypothesis import given
from hypothesis import strategies as st

import adlib
from adlib import ForwardDiff


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------- the seed interface


def test_value_and_grad_are_the_seed() -> None:
    x = ForwardDiff(2.0, 1.0)
    assert x.value == 2.0
    assert x.grad == 1.0


def test_constant_has_zero_tangent() -> None:
    c = ForwardDiff(3.0)
    assert c.grad == 0.0
    arr = ForwardDiff(np.arange(3.0))
    assert_close(arr.grad, np.zeros(3))


def test_integers_become_floats() -> None:
    x = ForwardDiff(3, 1)
    assert isinstance(x.value, float) and isinstance(x.grad, float)
    y = x / 2
    assert y.value == 1.5 and y.grad == 0.5


def test_scalar_tangent_spreads_over_an_array_value() -> None:
    x = ForwardDiff(np.array([1.0, 2.0, 3.0]), 1.0)
    assert_close(x.grad, np.ones(3))


def test_repr_shows_value_and_grad() -> None:
    assert repr(ForwardDiff(2.0, 1.0)) == "ForwardDiff(value=2.0, grad=1.0)"


def test_comparisons_compare_values() -> None:
    x = ForwardDiff(2.0, 1.0)
    assert x < 3 and x <= 2.0 and x > 1 and x >= 2.0
    assert float(x) == 2.0


# ---------------------------------------------------------------- operators with constants

# (operator, value(v, c), tangent(v, c, t)) for ``x op c`` with x = (v, t) and a constant c.
RIGHT_CONSTANT: list[tuple[Callable[[Any, Any], Any], Callable[..., Any], Callable[..., Any]]] = [
    (operator.add, lambda v, c: v + c, lambda v, c, t: t),
    (operator.sub, lambda v, c: v - c, lambda v, c, t: t),
    (operator.mul, lambda v, c: v * c, lambda v, c, t: c * t),
    (operator.truediv, lambda v, c: v / c, lambda v, c, t: t / c),
    (operator.pow, lambda v, c: v**c, lambda v, c, t: c * v ** (c - 1) * t),
]
# The same for ``c op x``.
LEFT_CONSTANT: list[tuple[Callable[[Any, Any], Any], Callable[..., Any], Callable[..., Any]]] = [
    (operator.add, lambda v, c: c + v, lambda v, c, t: t),
    (operator.sub, lambda v, c: c - v, lambda v, c, t: -t),
    (operator.mul, lambda v, c: c * v, lambda v, c, t: c * t),
    (operator.truediv, lambda v, c: c / v, lambda v, c, t: -c / v**2 * t),
    (operator.pow, lambda v, c: c**v, lambda v, c, t: c**v * np.log(c) * t),
]

CONSTANT_KINDS: dict[str, Callable[[float], Any]] = {
    "python float": float,
    "python int": lambda c: max(1, round(c)),
    "numpy float64": np.float64,
    "numpy array": lambda c: np.array([c, 2.0 * c, 0.5 * c]),
}


@pytest.mark.parametrize("kind", list(CONSTANT_KINDS))
@pytest.mark.parametrize("case", range(len(RIGHT_CONSTANT)), ids=["+", "-", "*", "/", "**"])
@FAST
@given(v=DOMAINS["base"], c=reals(0.5, 3.0), t=reals(-2.0, 2.0))
def test_constant_on_the_right(case: int, kind: str, v: float, c: float, t: float) -> None:
    op, value, tangent = RIGHT_CONSTANT[case]
    const = CONSTANT_KINDS[kind](c)
    out = op(ForwardDiff(v, t), const)
    assert isinstance(out, ForwardDiff)
    assert_close(out.value, value(v, np.asarray(const, dtype=float)))
    assert_close(
        out.grad, np.broadcast_to(tangent(v, np.asarray(const, dtype=float), t), np.shape(out.value))
    )


@pytest.mark.parametrize("kind", list(CONSTANT_KINDS))
@pytest.mark.parametrize("case", range(len(LEFT_CONSTANT)), ids=["+", "-", "*", "/", "**"])
@FAST
@given(v=DOMAINS["base"], c=reals(0.5, 3.0), t=reals(-2.0, 2.0))
def test_constant_on_the_left(case: int, kind: str, v: float, c: float, t: float) -> None:
    """Includes ``np.array(...) * x``: numpy must hand the operation to ForwardDiff."""
    op, value, tangent = LEFT_CONSTANT[case]
    const = CONSTANT_KINDS[kind](c)
    out = op(const, ForwardDiff(v, t))
    assert isinstance(out, ForwardDiff)
    assert_close(out.value, value(v, np.asarray(const, dtype=float)))
    assert_close(
        out.grad, np.broadcast_to(tangent(v, np.asarray(const, dtype=float), t), np.shape(out.value))
    )


def test_array_on_the_left_matmul() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x = ForwardDiff(np.array([1.0, -1.0]), np.array([0.5, 2.0]))
    out = a @ x
    assert_close(out.value, a @ np.array([1.0, -1.0]))
    assert_close(out.grad, a @ np.array([0.5, 2.0]))


def test_unary_minus_and_plus() -> None:
    x = ForwardDiff(2.0, 3.0)
    assert (-x).value == -2.0 and (-x).grad == -3.0
    assert (+x).value == 2.0 and (+x).grad == 3.0
    assert abs(ForwardDiff(-2.0, 3.0)).grad == -3.0


# ---------------------------------------------------------------- methods

METHODS: list[tuple[str, str, Callable[[Any], Any], Callable[[Any], Any]]] = [
    ("log", "positive", np.log, lambda v: 1.0 / v),
    ("exp", "any", np.exp, np.exp),
    ("sin", "any", np.sin, np.cos),
    ("cos", "any", np.cos, lambda v: -np.sin(v)),
    ("tan", "tan", np.tan, lambda v: 1.0 / np.cos(v) ** 2),
    ("tanh", "any", np.tanh, lambda v: 1.0 / np.cosh(v) ** 2),
    ("sqrt", "positive", np.sqrt, lambda v: 0.5 / np.sqrt(v)),
    ("abs", "kink", np.abs, np.sign),
    ("sigmoid", "any", _sigmoid, lambda v: np.exp(-v) / (1.0 + np.exp(-v)) ** 2),
    ("relu", "kink", lambda v: np.maximum(v, 0.0), lambda v: np.where(v > 0, 1.0, 0.0)),
]


@pytest.mark.parametrize(("name", "domain", "value", "slope"), METHODS, ids=[m[0] for m in METHODS])
@FAST
@given(data=st.data(), t=reals(-2.0, 2.0))
def test_methods_scalar(
    name: str, domain: str, value: Callable[[Any], Any], slope: Callable[[Any], Any], data: Any, t: float
) -> None:
    v = data.draw(DOMAINS[domain])
    out = getattr(ForwardDiff(v, t), name)()
    assert_close(out.value, value(v))
    assert_close(out.grad, slope(v) * t)


@pytest.mark.parametrize(("name", "domain", "value", "slope"), METHODS, ids=[m[0] for m in METHODS])
@FAST
@given(data=st.data())
def test_methods_array(
    name: str, domain: str, value: Callable[[Any], Any], slope: Callable[[Any], Any], data: Any
) -> None:
    v = data.draw(arrays_of((2, 3), DOMAINS[domain]))
    t = data.draw(arrays_of((2, 3), reals(-2.0, 2.0)))
    out = getattr(ForwardDiff(v, t), name)()
    assert_close(out.value, value(v))
    assert_close(out.grad, slope(v) * t)


# ---------------------------------------------------------------- ForwardDiff ** ForwardDiff


@FAST
@given(a=DOMAINS["base"], b=DOMAINS["exponent"], ta=reals(-2.0, 2.0), tb=reals(-2.0, 2.0))
def test_power_of_two_dual_numbers(a: float, b: float, ta: float, tb: float) -> None:
    d_base = b * a ** (b - 1)  # d/da a^b
    d_exponent = a**b * math.log(a)  # d/db a^b
    assert_close((ForwardDiff(a, 1.0) ** ForwardDiff(b, 0.0)).grad, d_base)
    assert_close((ForwardDiff(a, 0.0) ** ForwardDiff(b, 1.0)).grad, d_exponent)
    both = ForwardDiff(a, ta) ** ForwardDiff(b, tb)
    assert_close(both.value, a**b)
    assert_close(both.grad, d_base * ta + d_exponent * tb)


def test_zero_base_with_varying_exponent_has_derivative_zero() -> None:
    """0^y = 0 for every y > 0, so d/dy 0^y = 0 (the formula a^b ln a would read 0 * -inf = nan)."""
    out = ForwardDiff(0.0, 0.0) ** ForwardDiff(2.5, 1.0)
    assert out.value == 0.0 and out.grad == 0.0


# ---------------------------------------------------------------- arrays: one pass is a JVP


@FAST
@given(data=st.data())
def test_one_pass_gives_a_jvp(data: Any) -> None:
    """f(x) = A tanh(x) + (x . x) 1 has J = A diag(1 - tanh^2 x) + 2 * 1 x^T."""
    a = data.draw(arrays_of((2, 3), reals(-2.0, 2.0)))
    x = data.draw(arrays_of((3,), reals(-2.0, 2.0)))
    v = data.draw(arrays_of((3,), reals(-2.0, 2.0)))
    xs = ForwardDiff(x, v)
    out = a @ xs.tanh() + (xs * xs).sum() * np.ones(2)
    jac = a * (1.0 - np.tanh(x) ** 2) + 2.0 * np.outer(np.ones(2), x)
    assert_close(out.value, a @ np.tanh(x) + x @ x)
    assert_close(out.grad, jac @ v)


def test_broadcasting_between_dual_numbers() -> None:
    col = ForwardDiff(np.array([[1.0], [2.0], [3.0]]), np.array([[1.0], [0.0], [2.0]]))
    row = ForwardDiff(np.array([[10.0, 20.0, 30.0, 40.0]]), np.array([[0.5, 0.0, 0.0, 1.0]]))
    out = col * row
    assert out.value.shape == (3, 4) and out.grad.shape == (3, 4)
    # d(c_i r_j) = dc_i r_j + c_i dr_j
    expected = np.array([[1.0], [0.0], [2.0]]) * np.array([[10.0, 20.0, 30.0, 40.0]]) + np.array(
        [[1.0], [2.0], [3.0]]
    ) * np.array([[0.5, 0.0, 0.0, 1.0]])
    assert_close(out.grad, expected)


def test_scalar_dual_number_plus_array_widens_the_tangent() -> None:
    out = ForwardDiff(2.0, 3.0) + np.zeros(4)
    assert out.grad.shape == (4,)
    assert_close(out.grad, np.full(4, 3.0))
    assert_close(out.sum().grad, 12.0)


def test_array_methods() -> None:
    x = ForwardDiff(np.arange(6.0).reshape(2, 3), np.ones((2, 3)))
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6
    assert_close(x.T.grad, np.ones((3, 2)))
    assert x.transpose(1, 0).shape == (3, 2) and x.transpose((1, 0)).shape == (3, 2)
    assert x.reshape(3, 2).shape == (3, 2) and x.reshape((6,)).shape == (6,)
    assert_close(x.mean(axis=0).grad, np.ones(3))
    assert_close(x.sum(axis=1, keepdims=True).grad, np.full((2, 1), 3.0))
    assert_close(x[1, 1:].grad, np.ones(2))


# ---------------------------------------------------------------- nesting


def test_no_perturbation_confusion() -> None:
    """d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1 (confusing the two perturbations gives 2)."""

    def outer(x: Any) -> Any:
        return x * adlib.derivative(lambda y: x + y)(1.0)

    assert adlib.derivative(outer)(3.0) == 1.0


def test_no_perturbation_confusion_when_inner_depends_on_outer() -> None:
    """d/dx [d/dy (x y^2) at y = x] = d/dx [2 x^2] = 4x."""

    def g(x: Any) -> Any:
        return adlib.derivative(lambda y: x * y * y)(x)

    assert_close(adlib.derivative(g)(1.5), 6.0)


@FAST
@given(x=reals(-3.0, 3.0))
def test_second_and_third_derivatives_of_sin(x: float) -> None:
    d = adlib.derivative
    assert_close(d(adlib.sin)(x), math.cos(x))
    assert_close(d(d(adlib.sin))(x), -math.sin(x))
    assert_close(d(d(d(adlib.sin)))(x), -math.cos(x))


@pytest.mark.parametrize(
    ("f", "second"),
    [
        (adlib.exp, math.exp),
        (adlib.log, lambda x: -1.0 / x**2),
        (adlib.sqrt, lambda x: -0.25 * x**-1.5),
        (adlib.tanh, lambda x: -2.0 * math.tanh(x) / math.cosh(x) ** 2),
        (adlib.sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)) * (1 - 2 * _sigmoid(x))),
        (adlib.erf, lambda x: -4.0 * x / math.sqrt(math.pi) * math.exp(-(x**2))),
        (lambda x: x**3.5, lambda x: 3.5 * 2.5 * x**1.5),
        (lambda x: 2.0**x, lambda x: 2.0**x * math.log(2.0) ** 2),
        (lambda x: 1.0 / x, lambda x: 2.0 / x**3),
        (adlib.tan, lambda x: 2.0 * math.tan(x) / math.cos(x) ** 2),
        (adlib.softplus, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    ],
)
@pytest.mark.parametrize("x", [0.3, 1.2])
def test_second_derivatives(f: Callable[[Any], Any], second: Callable[[float], float], x: float) -> None:
    assert_close(adlib.derivative(adlib.derivative(f))(x), second(x))


def test_derivative_of_a_function_that_calls_derivative() -> None:
    """h(x) = x^2 f'(x) with f = sin: h'(x) = 2x cos x - x^2 sin x."""

    def h(x: Any) -> Any:
        return x * x * adlib.derivative(adlib.sin)(x)

    x = 0.7
    expected = 2 * x * math.cos(x) - x * x * math.sin(x)
    assert_close(adlib.derivative(h)(x), expected)
    assert_close(expected, central_derivative(lambda s: s * s * math.cos(s), x), rtol=RTOL_FD)


def test_nested_derivative_over_an_array_closure() -> None:
    """Inside jvp over y, d/dx sum(x + y) = n, a constant: its tangent along y is 0."""

    def inner(y: Any) -> Any:
        return adlib.derivative(lambda x: adlib.sum(x + y * y))(1.0)

    value, tangent = adlib.jvp(inner, (np.arange(3.0),), (np.ones(3),))
    assert_close(value, 3.0)
    assert_close(tangent, 0.0)


def test_nested_mixed_partial_through_an_array() -> None:
    """g(y) = d/dx sum(x * y^2) = sum(y^2); its directional derivative along v is 2 y . v."""

    def g(y: Any) -> Any:
        return adlib.derivative(lambda x: adlib.sum(x * y * y))(2.0)

    y, v = np.array([1.0, -2.0, 0.5]), np.array([0.3, 1.0, -1.0])
    value, tangent = adlib.jvp(g, (y,), (v,))
    assert_close(value, float(y @ y))
    assert_close(tangent, float(2 * y @ v))


def test_hand_built_dual_numbers_inside_derivative() -> None:
    """A tag-0 ForwardDiff used inside derivative() is a constant there, carrying its own tangent:
    d/dx (x c) = c, returned as the dual number c."""
    c = ForwardDiff(3.0, 1.0)
    out = adlib.derivative(lambda x: x * c)(2.0)
    assert isinstance(out, ForwardDiff)
    assert out.value == 3.0 and out.grad == 1.0


# ---------------------------------------------------------------- second order: forward over forward

LIB = {
    "adlib": {
        "log_softmax": lambda x: adlib.log_softmax(x, axis=-1),
        "sum": adlib.sum,
        "matrix": np.array([[1.0, -0.5, 2.0, 0.25], [0.5, 1.5, -1.0, 1.0]]),
        **{
            n: getattr(adlib, n)
            for n in "exp log sin cos tan tanh sqrt abs relu sigmoid softplus erf".split()
        },
    },
    "torch": {
        "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
        "sum": torch.sum,
        "matrix": torch.tensor([[1.0, -0.5, 2.0, 0.25], [0.5, 1.5, -1.0, 1.0]], dtype=torch.float64),
        "softplus": torch.nn.functional.softplus,
        "erf": torch.special.erf,
        **{n: getattr(torch, n) for n in "exp log sin cos tan tanh sqrt abs relu sigmoid".split()},
    },
}

# Scalar functions of a vector of 4 entries, together covering every primitive; (name, domain, f(x, L)).
SECOND_ORDER: list[tuple[str, str, Callable[[Any, dict[str, Any]], Any]]] = [
    ("exp*sin", "any", lambda x, L: L["sum"](L["exp"](x) * L["sin"](x))),
    ("log/sqrt", "positive", lambda x, L: L["sum"](L["log"](x) / L["sqrt"](x))),
    ("tan*tanh-cos", "tan", lambda x, L: L["sum"](L["tan"](x) * L["tanh"](x) - L["cos"](x))),
    ("sigmoid^3", "any", lambda x, L: L["sum"](L["sigmoid"](x) ** 3)),
    ("softplus*erf", "any", lambda x, L: L["sum"](L["softplus"](x) * L["erf"](x))),
    ("kinks", "kink", lambda x, L: L["sum"](L["abs"](x) * x * x + L["relu"](x) * x * x * x)),
    ("x^x", "positive", lambda x, L: L["sum"](x**x)),
    ("1/(1+x^2)", "any", lambda x, L: L["sum"](1.0 / (1.0 + x * x))),
    ("-(x-x^2)^2", "any", lambda x, L: L["sum"](-((x - x**2) ** 2))),
    ("(Ax)^2", "any", lambda x, L: L["sum"]((L["matrix"] @ x) ** 2)),
    ("matrix square", "any", lambda x, L: (x.reshape(2, 2) @ x.reshape(2, 2)).sum()),
    ("transpose/mean", "any", lambda x, L: (x.reshape(2, 2).T[0] * x[1:3]).mean() * x.sum()),
    ("repeated index", "any", lambda x, L: (x[[0, 0, 2]] ** 3).sum()),
    (
        "log_softmax",
        "any",
        lambda x, L: (L["log_softmax"](x.reshape(2, 2) * x[::3]) * L["matrix"][:, :2]).sum(),
    ),
]


def _torch_hvp(f: Callable[[Any, dict[str, Any]], Any], x: np.ndarray, u: np.ndarray, v: np.ndarray) -> float:
    """u^T H v by double backward in torch float64."""
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(f(t, LIB["torch"]), t, create_graph=True)
    (hv,) = torch.autograd.grad(g @ torch.tensor(v, dtype=torch.float64), t)
    return float(hv.detach().numpy() @ u)


@pytest.mark.parametrize(("name", "domain", "f"), SECOND_ORDER, ids=[s[0] for s in SECOND_ORDER])
@FAST
@given(data=st.data())
def test_second_order_forward_over_forward_matches_torch(
    name: str, domain: str, f: Callable[[Any, dict[str, Any]], Any], data: Any
) -> None:
    """A JVP of a JVP is u^T H v; it must equal torch's double backward, and be symmetric in u, v."""
    x = data.draw(arrays_of((4,), DOMAINS[domain]))
    u = data.draw(arrays_of((4,), reals(-1.0, 1.0)))
    v = data.draw(arrays_of((4,), reals(-1.0, 1.0)))

    def directional(y: Any, direction: np.ndarray) -> Any:
        return adlib.jvp(lambda z: f(z, LIB["adlib"]), (y,), (direction,))[1]

    uhv = adlib.jvp(lambda y: directional(y, u), (x,), (v,))[1]
    vhu = adlib.jvp(lambda y: directional(y, v), (x,), (u,))[1]
    expected = _torch_hvp(f, x, u, v)
    scale = 1.0 + abs(expected)
    assert_close(uhv, expected, rtol=1e-9, atol=1e-11 * scale)
    assert_close(vhu, expected, rtol=1e-9, atol=1e-11 * scale)
