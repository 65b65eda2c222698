"""Tests for adlib.activations: values and derivatives against PyTorch (float64), central
differences and hand-written closed forms, in forward and reverse mode, nested, and at |x| = 1000."""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import adlib
from adlib.activations import (
    ACTIVATIONS,
    activation_derivative,
    elu,
    gelu,
    leaky_relu,
    prelu,
    silu,
    swish,
)

FAST = settings(max_examples=30, deadline=None)

# name -> (adlib function, torch function), both of one argument.
PAIRS = {
    "sigmoid": (adlib.sigmoid, torch.sigmoid),
    "tanh": (adlib.tanh, torch.tanh),
    "relu": (adlib.relu, F.relu),
    "softplus": (adlib.softplus, F.softplus),
    "leaky_relu": (leaky_relu, lambda t: F.leaky_relu(t, 0.01)),
    "leaky_relu_0.2": (lambda x: leaky_relu(x, alpha=0.2), lambda t: F.leaky_relu(t, 0.2)),
    "elu": (elu, F.elu),
    "elu_0.5": (lambda x: elu(x, alpha=0.5), lambda t: F.elu(t, alpha=0.5)),
    "gelu": (gelu, lambda t: F.gelu(t, approximate="none")),
    "silu": (silu, F.silu),
    "prelu_0.25": (lambda x: prelu(x, 0.25), lambda t: F.prelu(t, torch.tensor([0.25], dtype=torch.float64))),
}
KINKED = {"relu", "leaky_relu", "leaky_relu_0.2", "elu_0.5", "prelu_0.25"}

# Points where every function is differentiable (|x| >= 1e-2 keeps central differences off the kinks).
points = hnp.arrays(
    np.float64,
    st.integers(1, 8),
    elements=st.floats(-12, 12).filter(lambda v: abs(v) >= 1e-2),
)


def torch_value_and_grad(fn, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = fn(t)
    (g,) = torch.autograd.grad(y.sum(), t)
    return y.detach().numpy(), g.numpy()


def torch_second(fn, x: np.ndarray) -> np.ndarray:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(fn(t).sum(), t, create_graph=True)
    (g2,) = torch.autograd.grad(g.sum(), t)
    return g2.numpy()


def central(fn, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    return (np.asarray(fn(x + h)) - np.asarray(fn(x - h))) / (2 * h)


@contextmanager
def strict_numpy():
    """Overflow, division by zero and invalid operations raise; warnings are errors. (Underflow to
    0 is left at numpy's default, ignore: 0 is the correctly rounded result, and adlib.sigmoid's
    logaddexp in the core already underflows at |x| = 1000.)"""
    with (
        warnings.catch_warnings(),
        np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"),
    ):
        warnings.simplefilter("error")
        yield


# ------------------------------------------------------------------ values and first derivatives


@pytest.mark.parametrize("name", sorted(PAIRS))
@FAST
@given(x=points)
def test_value_and_derivative_match_torch_both_modes(name, x):
    ours, theirs = PAIRS[name]
    y_t, g_t = torch_value_and_grad(theirs, x)
    np.testing.assert_allclose(ours(x), y_t, rtol=1e-13, atol=1e-15)
    # forward mode: one JVP with the all-ones tangent gives f'(x) elementwise
    fwd = adlib.derivative(ours)(x)
    np.testing.assert_allclose(fwd, g_t, rtol=1e-12, atol=1e-15)
    # reverse mode: gradient of sum f(x)
    leaf = adlib.ReverseDiff(x)
    ours(leaf).sum().backward()
    np.testing.assert_allclose(leaf.grad, g_t, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(PAIRS))
@FAST
@given(x=points)
def test_derivative_matches_central_differences(name, x):
    ours, _ = PAIRS[name]
    np.testing.assert_allclose(adlib.derivative(ours)(x), central(ours, x), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("x", [-1.7, 0.3, 2.0])
def test_scalars_in_both_modes(name, x):
    ours, theirs = PAIRS[name]
    y_t, g_t = torch_value_and_grad(theirs, np.array([x]))
    fwd = ours(adlib.ForwardDiff(x, 1.0))
    assert fwd.value == pytest.approx(y_t[0], rel=1e-13)
    assert fwd.grad == pytest.approx(g_t[0], rel=1e-12)
    leaf = adlib.ReverseDiff(x)
    ours(leaf).backward()
    assert leaf.grad == pytest.approx(g_t[0], rel=1e-12)
    assert np.ndim(ours(x)) == 0


# ------------------------------------------------------------------ second derivatives (nesting)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "elu", "elu_0.5", "gelu", "silu"])
@FAST
@given(x=points)
def test_nested_forward_mode_second_derivative_matches_torch(name, x):
    ours, theirs = PAIRS[name]
    d2 = adlib.derivative(adlib.derivative(ours))(x)
    np.testing.assert_allclose(d2, torch_second(theirs, x), rtol=1e-10, atol=1e-13)


def test_second_derivatives_by_hand():
    x = np.array([-1.3, -0.4, 0.6, 2.5])
    neg = x <= 0
    # elu'' = alpha e^x on the negative side, 0 on the positive side
    np.testing.assert_allclose(
        adlib.derivative(adlib.derivative(lambda v: elu(v, alpha=0.7)))(x),
        np.where(neg, 0.7 * np.exp(x), 0.0),
    )
    # gelu'' = phi(x) (2 - x^2), phi the standard normal density
    phi = np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(adlib.derivative(adlib.derivative(gelu))(x), phi * (2 - x**2), rtol=1e-12)
    # silu'' = s(1 - s)(2 + x(1 - 2s)), s = sigma(x)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(
        adlib.derivative(adlib.derivative(silu))(x), s * (1 - s) * (2 + x * (1 - 2 * s)), rtol=1e-12
    )
    # piecewise-linear functions have second derivative 0 away from the kink
    np.testing.assert_array_equal(adlib.derivative(adlib.derivative(leaky_relu))(x), 0.0)


def test_prelu_mixed_second_derivative():
    # d/da (d/dx prelu(x, a)) = [x <= 0]: the slope's partial must carry a's tangent when nested.
    for x in (-1.5, 0.8):
        mixed = adlib.derivative(lambda a, x=x: adlib.derivative(lambda v: prelu(v, a))(x))(0.3)
        assert mixed == (1.0 if x <= 0 else 0.0)


# ------------------------------------------------------------------ kinks: subgradients


def test_relu_derivative_at_zero_is_the_subgradient_zero():
    assert adlib.derivative(adlib.relu)(0.0) == 0.0
    leaf = adlib.ReverseDiff(np.zeros(3))
    adlib.relu(leaf).sum().backward()
    np.testing.assert_array_equal(leaf.grad, 0.0)
    np.testing.assert_array_equal(activation_derivative("relu", np.zeros(2)), 0.0)


@pytest.mark.parametrize("name", sorted(KINKED | {"elu"}))
def test_derivative_at_zero_matches_torch(name):
    ours, theirs = PAIRS[name]
    _, g_t = torch_value_and_grad(theirs, np.zeros(1))
    assert adlib.derivative(ours)(0.0) == g_t[0]
    leaf = adlib.ReverseDiff(np.zeros(1))
    ours(leaf).sum().backward()
    assert leaf.grad[0] == g_t[0]


# ------------------------------------------------------------------ PReLU and Swish parameters


@FAST
@given(
    x=hnp.arrays(np.float64, (4, 3), elements=st.floats(-5, 5).filter(lambda v: abs(v) > 1e-3)),
    a=hnp.arrays(np.float64, (3,), elements=st.floats(-1, 1)),
)
def test_prelu_per_feature_slopes_match_torch(x, a):
    tx = torch.tensor(x, requires_grad=True)
    ta = torch.tensor(a, requires_grad=True)
    g = np.random.default_rng(0).normal(size=x.shape)
    y_t = F.prelu(tx, ta)
    (y_t * torch.tensor(g)).sum().backward()
    X, A = adlib.ReverseDiff(x), adlib.ReverseDiff(a)
    y = prelu(X, A)
    (y * g).sum().backward()
    np.testing.assert_allclose(y.value, y_t.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(X.grad, tx.grad.numpy(), rtol=1e-13)
    # the slope is shared along the batch axis: its adjoint is summed over it
    np.testing.assert_allclose(A.grad, ta.grad.numpy(), rtol=1e-12, atol=1e-14)
    # forward mode in the slope: d/da_j sum_i g_ij prelu(x_ij, a_j) = sum_i g_ij x_ij [x_ij <= 0]
    for j in range(3):
        e = np.zeros(3)
        e[j] = 1.0
        _, t = adlib.jvp(lambda aa: (prelu(x, aa) * g).sum(), (a,), (e,))
        assert t == pytest.approx(float(np.sum(g[:, j] * x[:, j] * (x[:, j] <= 0))), abs=1e-12)


def test_prelu_scalar_slope_gets_summed_gradient():
    x = np.array([[-2.0, 1.0], [3.0, -0.5]])
    a = adlib.ReverseDiff(0.1)
    prelu(x, a).sum().backward()
    assert a.grad == pytest.approx(-2.5)  # the sum of the non-positive entries


@FAST
@given(
    s=hnp.arrays(np.float64, (5, 2), elements=st.floats(-6, 6)),
    params=hnp.arrays(np.float64, (4, 2), elements=st.floats(-2, 2)),
)
def test_trainable_swish_matches_torch_in_all_five_arguments(s, params):
    ts = torch.tensor(s, requires_grad=True)
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    a, b, c, d = tp
    y_t = torch.sigmoid(a * ts + b) * (c * ts + d)
    y_t.sum().backward()
    leaves = [adlib.ReverseDiff(v) for v in (s, *params)]
    y = swish(*leaves)
    y.sum().backward()
    np.testing.assert_allclose(y.value, y_t.detach().numpy(), rtol=1e-13, atol=1e-15)
    for leaf, t in zip(leaves, [ts, *tp], strict=True):
        np.testing.assert_allclose(leaf.grad, t.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_swish_with_unit_parameters_is_silu():
    x = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(swish(x), silu(x), rtol=1e-15)
    np.testing.assert_allclose(adlib.derivative(swish)(x), adlib.derivative(silu)(x), rtol=1e-13)


# ------------------------------------------------------------------ stability at |x| = 1000


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_large_inputs_give_finite_values_and_gradients_without_warnings(name):
    ours, theirs = PAIRS[name]
    x = np.array([-1000.0, 1000.0])
    with strict_numpy():
        y = ours(x)
        fwd = adlib.derivative(ours)(x)
        leaf = adlib.ReverseDiff(x)
        ours(leaf).sum().backward()
        scalar = adlib.derivative(ours)(-1000.0)
    y_t, g_t = torch_value_and_grad(theirs, x)
    for arr in (y, fwd, leaf.grad):
        assert np.all(np.isfinite(arr))
    assert np.isfinite(scalar)
    np.testing.assert_allclose(y, y_t, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(fwd, g_t, rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(leaf.grad, g_t, rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "elu", "gelu", "silu"])
def test_large_inputs_second_derivative_finite(name):
    ours, _ = PAIRS[name]
    with strict_numpy():
        d2 = adlib.derivative(adlib.derivative(ours))(np.array([-1000.0, 1000.0]))
    assert np.all(np.isfinite(d2))


def test_gelu_keeps_relative_accuracy_far_in_the_left_tail():
    # x Phi(x) with Phi(-10) = erfc(10 / sqrt 2) / 2 ~ 7.62e-24: tiny but not zero.
    from scipy import special

    expected = -10.0 * 0.5 * special.erfc(10.0 / math.sqrt(2.0))
    assert expected != 0.0
    assert gelu(-10.0) == pytest.approx(expected, rel=1e-14)


# ------------------------------------------------------------------ table and derivative helper


def test_activation_derivative_matches_closed_forms():
    x = np.array([-3.0, -0.7, 0.4, 2.2])
    s = 1 / (1 + np.exp(-x))
    expected = {
        "sigmoid": s * (1 - s),
        "tanh": 1 - np.tanh(x) ** 2,
        "relu": (x > 0).astype(float),
        "softplus": s,
        "leaky_relu": np.where(x > 0, 1.0, 0.01),
        "elu": np.where(x > 0, 1.0, np.exp(x)),
        "gelu": 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
        + x * np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi),
        "silu": s * (1 + x * (1 - s)),
    }
    assert set(expected) == set(ACTIVATIONS)
    for name, want in expected.items():
        np.testing.assert_allclose(activation_derivative(name, x), want, rtol=1e-12, err_msg=name)


def test_activations_table_reuses_the_core_functions():
    assert ACTIVATIONS["sigmoid"] is adlib.sigmoid
    assert ACTIVATIONS["relu"] is adlib.relu
    assert ACTIVATIONS["tanh"] is adlib.tanh


def test_unknown_activation_name():
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        activation_derivative("swishy", 1.0)


def test_float32_stays_float32():
    x = np.array([-1.0, 2.0], dtype=np.float32)
    for fn in (leaky_relu, elu, gelu, silu, lambda v: prelu(v, 0.2)):
        assert fn(x).dtype == np.float32
        leaf = adlib.ReverseDiff(x)
        fn(leaf).backward(np.ones(2, dtype=np.float32))
        assert leaf.grad.dtype == np.float32


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("alpha", [np.array([0.1, 0.2]), True, "0.1", None])
def test_alpha_must_be_a_real_number(alpha):
    with pytest.raises(TypeError, match="alpha must be a real number"):
        leaky_relu(np.ones(2), alpha=alpha)


def test_alpha_must_be_finite():
    with pytest.raises(ValueError, match="alpha must be finite"):
        elu(1.0, alpha=float("nan"))


def test_alpha_cannot_be_learned():
    with pytest.raises(TypeError, match="use prelu"):
        leaky_relu(1.0, alpha=adlib.ReverseDiff(0.1))


def test_prelu_slope_shape_errors():
    with pytest.raises(
        ValueError, match=r"slope a of shape \(4,\) does not broadcast against x of shape \(2, 3\)"
    ):
        prelu(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match="would enlarge x"):
        prelu(np.ones(3), np.ones((2, 3)))
    with pytest.raises(TypeError, match="slope a must be"):
        prelu(np.ones(3), "0.25")


def test_swish_parameter_shape_error():
    with pytest.raises(ValueError, match="parameter c of shape"):
        swish(np.ones((2, 3)), 1.0, 0.0, np.ones(2), 0.0)
