"""Function transforms: jvp, vjp, derivative, grad, value_and_grad, jacobian and pass counting.

Expected Jacobians are written out by hand (e.g. for X -> X A the Jacobian is
J[i, j, k, l] = delta_ik A[l, j]) or come from central differences.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from helpers.reference import ATOL_FD, RTOL_FD, assert_close, central_jacobian
from helpers.strategies import FAST, arrays_of, reals
from hypothesis import given
from hypothesis import strategies as st

import adlib

A = np.array([[1.0, -2.0, 0.5, 3.0], [0.0, 1.5, -1.0, 2.0], [2.5, 0.25, 1.0, -0.5]])  # 3 x 4


# ---------------------------------------------------------------- jvp / derivative


def test_jvp_returns_value_and_directional_derivative() -> None:
    """f(x, y) = x y + sin x: J (tx, ty) = (y + cos x) tx + x ty."""
    value, tangent = adlib.jvp(lambda x, y: x * y + adlib.sin(x), (2.0, 3.0), (0.5, -1.0))
    assert_close(value, 6.0 + math.sin(2.0))
    assert_close(tangent, (3.0 + math.cos(2.0)) * 0.5 + 2.0 * -1.0)


def test_jvp_of_a_constant_function_is_zero() -> None:
    value, tangent = adlib.jvp(lambda x: np.ones(3), (np.ones(2),), (np.ones(2),))
    assert_close(value, np.ones(3))
    assert_close(tangent, np.zeros(3))


def test_jvp_needs_one_tangent_per_primal() -> None:
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        adlib.jvp(lambda x, y: x * y, (1.0, 2.0), (1.0,))


def test_derivative_is_elementwise_on_arrays() -> None:
    x = np.array([0.1, 0.5, 2.0])
    assert_close(adlib.derivative(adlib.sin)(x), np.cos(x))


def test_derivative_accepts_ints() -> None:
    assert adlib.derivative(lambda x: x**3)(2) == 12.0


# ---------------------------------------------------------------- vjp


def test_vjp_value_and_cotangents() -> None:
    """f(x, W) = W x: bar x = W^T ybar, bar W = ybar x^T."""
    x = np.array([1.0, -1.0, 2.0, 0.5])
    value, pull = adlib.vjp(lambda w, v: w @ v, A, x)
    assert_close(value, A @ x)
    ybar = np.array([1.0, 2.0, -1.0])
    gw, gx = pull(ybar)
    assert_close(gw, np.outer(ybar, x))
    assert_close(gx, A.T @ ybar)


def test_vjp_function_can_be_called_again_one_pass_each() -> None:
    _, pull = adlib.vjp(lambda v: A @ v, np.ones(4))
    with adlib.count_passes() as passes:
        rows = [pull(e)[0] for e in np.eye(3)]
    assert passes.reverse == 3 and passes.forward == 0
    assert_close(np.stack(rows), A)


def test_vjp_of_an_unused_argument_is_zero() -> None:
    _, pull = adlib.vjp(lambda a, b: a * 2.0, np.ones(2), 5.0)
    ga, gb = pull(np.ones(2))
    assert_close(ga, np.full(2, 2.0))
    assert gb == 0.0


def test_vjp_results_are_writable_copies() -> None:
    """Reductions give broadcast (read-only) cotangents internally; callers get their own arrays."""
    ybar = np.ones(3)
    _, pull = adlib.vjp(lambda v: adlib.reshape(v, 3), np.ones(3))
    (g,) = pull(ybar)
    g += 1.0
    assert_close(ybar, np.ones(3))
    gsum = adlib.grad(lambda v: v.sum())(np.ones((2, 2)))
    gsum *= 3.0
    assert_close(gsum, np.full((2, 2), 3.0))


# ---------------------------------------------------------------- grad / value_and_grad


@FAST
@given(x=arrays_of((3,), reals(-2.0, 2.0)), y=reals(0.5, 2.0))
def test_grad_with_argnums(x: np.ndarray, y: float) -> None:
    """f(x, y) = sum(sin(x) y^2): df/dx = cos(x) y^2, df/dy = 2 y sum(sin x)."""

    def f(a: Any, b: Any) -> Any:
        return (adlib.sin(a) * b**2).sum()

    assert_close(adlib.grad(f)(x, y), np.cos(x) * y**2)
    assert_close(adlib.grad(f, argnums=1)(x, y), 2 * y * np.sin(x).sum())
    assert_close(adlib.grad(f, argnums=-1)(x, y), 2 * y * np.sin(x).sum())
    gx, gy = adlib.grad(f, argnums=(0, 1))(x, y)
    assert_close(gx, np.cos(x) * y**2)
    assert_close(gy, 2 * y * np.sin(x).sum())
    (only_y,) = adlib.grad(f, argnums=(1,))(x, y)
    assert_close(only_y, gy)


def test_value_and_grad() -> None:
    value, g = adlib.value_and_grad(lambda x: (x * x).sum())(np.array([1.0, 2.0]))
    assert value == 5.0
    assert_close(g, np.array([2.0, 4.0]))


def test_grad_one_reverse_pass() -> None:
    with adlib.count_passes() as passes:
        adlib.grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(np.ones(5), np.ones(5))
    assert (passes.forward, passes.reverse) == (0, 1)


def test_grad_argnums_out_of_range() -> None:
    with pytest.raises(ValueError, match="argnums 2 is out of range for 2 arguments"):
        adlib.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)


def test_grad_of_a_constant_function_is_zero() -> None:
    assert adlib.grad(lambda x: 3.0)(2.0) == 0.0
    assert_close(adlib.grad(lambda x: 3.0)(np.ones(2)), np.zeros(2))


# ---------------------------------------------------------------- jacobian


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_vector_to_vector(mode: str) -> None:
    """f(x) = A^T x + x_0 x_1 e_0 (R^3 -> R^4)."""

    def f(x: Any) -> Any:
        return x @ A + x[0] * x[1] * np.array([1.0, 0.0, 0.0, 0.0])

    x = np.array([2.0, -1.0, 0.5])
    expected = A.T.copy()
    expected[0, 0] += x[1]
    expected[0, 1] += x[0]
    jac = adlib.jacobian(f, mode=mode)(x)
    assert jac.shape == (4, 3)
    assert_close(jac, expected)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_matrix_input_shape_out_plus_in(mode: str) -> None:
    """F(X) = X A for X of shape (2, 3): J[i, j, k, l] = dF_ij / dX_kl = delta_ik A[l, j]."""
    x = np.arange(6.0).reshape(2, 3)
    jac = adlib.jacobian(lambda m: m @ A, mode=mode)(x)
    assert jac.shape == (2, 4, 2, 3)
    expected = np.einsum("ik,lj->ijkl", np.eye(2), A)
    assert_close(jac, expected)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_scalar_function_of_matrix_is_the_gradient(mode: str) -> None:
    """f(X) = sum(X^2) / 2 has gradient X, shape (2, 3)."""
    x = np.arange(6.0).reshape(2, 3) - 2.5
    jac = adlib.jacobian(lambda m: (m * m).sum() / 2.0, mode=mode)(x)
    assert jac.shape == (2, 3)
    assert_close(jac, x)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_of_scalar_function_of_scalar(mode: str) -> None:
    jac = adlib.jacobian(adlib.exp, mode=mode)(1.0)
    assert jac.shape == ()
    assert_close(jac, math.e)


@FAST
@given(x=arrays_of((2, 2), reals(-1.5, 1.5)))
def test_jacobian_modes_agree_with_central_differences(x: np.ndarray) -> None:
    def f(m: Any) -> Any:
        return adlib.tanh(m @ m) + adlib.log_softmax(m, axis=0)

    forward = adlib.jacobian(f, mode="forward")(x)
    reverse = adlib.jacobian(f, mode="reverse")(x)
    assert forward.shape == (2, 2, 2, 2)
    assert_close(forward, reverse)
    assert_close(forward, central_jacobian(f, [x], 0), rtol=RTOL_FD, atol=ATOL_FD)


@pytest.mark.parametrize(("n", "m"), [(1, 5), (5, 1), (3, 4), (6, 2)])
def test_count_passes_forward_per_input_reverse_per_output(n: int, m: int) -> None:
    """R^n -> R^m: forward mode needs n passes (a column each), reverse mode m (a row each)."""
    w = np.arange(float(n * m)).reshape(m, n) / 10.0

    def f(x: Any) -> Any:
        return adlib.sin(w @ x)

    x = np.linspace(-1.0, 1.0, n)
    with adlib.count_passes() as fwd:
        jf = adlib.jacobian(f, mode="forward")(x)
    with adlib.count_passes() as rev:
        jr = adlib.jacobian(f, mode="reverse")(x)
    assert (fwd.forward, fwd.reverse) == (n, 0)
    assert (rev.forward, rev.reverse) == (0, m)
    assert_close(jf, np.cos(w @ x)[:, None] * w)
    assert_close(jr, jf)


def test_count_passes_matrix_input() -> None:
    x = np.ones((2, 3))
    with adlib.count_passes() as passes:
        adlib.jacobian(lambda m: m.sum(axis=1), mode="forward")(x)
        adlib.jacobian(lambda m: m.sum(axis=1), mode="reverse")(x)
    assert (passes.forward, passes.reverse) == (6, 2)


def test_count_passes_nest_and_stop_counting_after_the_block() -> None:
    with adlib.count_passes() as outer:
        adlib.derivative(adlib.sin)(1.0)
        with adlib.count_passes() as inner:
            adlib.grad(adlib.sin)(1.0)
    adlib.grad(adlib.sin)(1.0)
    assert (outer.forward, outer.reverse) == (1, 1)
    assert (inner.forward, inner.reverse) == (0, 1)


def test_pass_count_is_a_dataclass_with_zero_defaults() -> None:
    assert adlib.PassCount() == adlib.PassCount(forward=0, reverse=0)


@FAST
@given(x=arrays_of((3,), reals(-2.0, 2.0)), t=st.integers(0, 2))
def test_jvp_is_a_jacobian_column_and_vjp_a_row(x: np.ndarray, t: int) -> None:
    def f(v: Any) -> Any:
        return adlib.erf(v) * v.sum()

    jac = adlib.jacobian(f)(x)
    e = np.eye(3)[t]
    assert_close(adlib.jvp(f, (x,), (e,))[1], jac[:, t])
    assert_close(adlib.vjp(f, x)[1](e)[0], jac[t, :])


def test_identity_and_unused_arguments() -> None:
    """f(x, y) = x: the output is the leaf itself; grad is (1, 0) and the Jacobian is I."""
    assert adlib.grad(lambda x, y: x, argnums=(0, 1))(2.0, 3.0) == (1.0, 0.0)
    assert_close(adlib.jacobian(lambda x: x, mode="reverse")(np.ones(3)), np.eye(3))
    assert_close(adlib.jacobian(lambda x: x, mode="forward")(np.ones(3)), np.eye(3))
    leaf = adlib.ReverseDiff(2.0)
    leaf.backward()
    assert leaf.grad == 1.0
