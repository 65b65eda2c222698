"""Tests for adlib.numerical: finite differences, step sizes, evaluation counts and gradcheck.

Every expected value comes from a closed-form derivative written out by hand, never from the
code under test.
"""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from adlib.numerical import (
    CountingFunction,
    GradcheckError,
    GradcheckResult,
    StepSizeStudy,
    central_difference,
    forward_difference,
    gradcheck,
    numerical_gradient,
    numerical_jacobian,
    step_size_study,
)

EPS = np.finfo(np.float64).eps
FAST = settings(max_examples=25, deadline=None)


def cubic(x):
    return 2 * x**3 - 6 * x**2 + x + 1


def quadratic_bowl(p):
    return 2 * p[0] ** 2 + 3 * p[1] ** 2


# --------------------------------------------------------------------------- seed facts


def test_seed_slope_of_cubic_at_2_is_1():
    # Seed 003: f(x) = 2x^3 - 6x^2 + x + 1, f'(x) = 6x^2 - 12x + 1, and f'(2) = 24 - 24 + 1 = 1.
    # Forward truncation error |f''(2)| h / 2 = 12 * 1e-6 / 2 = 6e-6.
    assert forward_difference(cubic, 2.0) == pytest.approx(1.0, abs=1e-5)
    # Central truncation error |f'''| h^2 / 6 = 12 * 1e-10 / 6 = 2e-10 (plus ~1e-10 rounding).
    assert central_difference(cubic, 2.0) == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("method", ["forward", "central"])
def test_seed_gradient_of_2x2_plus_3y2_at_4_5(method):
    # grad(2x^2 + 3y^2) = (4x, 6y) = (16, 30) at (4, 5).
    # Erratum: seed 003 prints (15, 30); 4 * 4 = 16, so the kit uses (16, 30).
    g = numerical_gradient(quadratic_bowl, np.array([4.0, 5.0]), method=method)
    np.testing.assert_allclose(g, [16.0, 30.0], rtol=1e-6)


# --------------------------------------------------------------------------- scalar differences


def test_truncation_orders_forward_O_h_and_central_O_h2():
    # Halving h halves the forward error (O(h)) and quarters the central error (O(h^2)).
    exact = math.e  # d/dx e^x at x = 1
    fwd = [abs(forward_difference(np.exp, 1.0, h) - exact) for h in (1e-2, 5e-3)]
    cen = [abs(central_difference(np.exp, 1.0, h) - exact) for h in (1e-2, 5e-3)]
    assert fwd[0] / fwd[1] == pytest.approx(2.0, rel=0.02)
    assert cen[0] / cen[1] == pytest.approx(4.0, rel=0.02)
    # Leading terms: f''(1) h / 2 and f'''(1) h^2 / 6 with f'' = f''' = e.
    assert fwd[0] == pytest.approx(math.e * 1e-2 / 2, rel=0.01)
    assert cen[0] == pytest.approx(math.e * 1e-4 / 6, rel=0.01)


def test_scalar_in_float_out_and_elementwise_arrays():
    assert isinstance(forward_difference(np.sin, 0.3), float)
    assert isinstance(central_difference(np.sin, 0.3), float)
    xs = np.linspace(-2, 2, 7).reshape(7, 1)
    for diff in (forward_difference, central_difference):
        d = diff(np.sin, xs)
        assert d.shape == xs.shape
        np.testing.assert_allclose(d, np.cos(xs), atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"h": 0.0}, ValueError, "h must be a finite number > 0"),
        ({"h": -1e-3}, ValueError, "h must be"),
        ({"h": float("nan")}, ValueError, "h must be"),
        ({"h": "small"}, TypeError, "h must be a real number"),
    ],
)
def test_scalar_difference_rejects_bad_steps(kwargs, error, match):
    with pytest.raises(error, match=match):
        forward_difference(np.sin, 1.0, **kwargs)
    with pytest.raises(error, match=match):
        central_difference(np.sin, 1.0, **kwargs)


def test_scalar_difference_rejects_bad_inputs():
    with pytest.raises(TypeError, match="callable"):
        forward_difference(3.0, 1.0)
    with pytest.raises(TypeError, match="complex"):
        central_difference(np.sin, 1.0 + 2.0j)
    with pytest.raises(ValueError, match="non-finite"):
        forward_difference(np.sin, float("inf"))


# --------------------------------------------------------------------------- gradients and counts


def sum_sin_x2(x):
    return float(np.sum(np.sin(x) * x**2))


def grad_sum_sin_x2(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@FAST
@given(x=hnp.arrays(np.float64, shapes, elements=st.floats(-3, 3)))
def test_gradient_counts_and_values_any_shape(x):
    n = x.size
    calls = []

    def f(p):
        calls.append(1)  # an independent counter, not the module's CountingFunction
        return sum_sin_x2(p)

    g_fwd, reported = numerical_gradient(f, x, method="forward", return_calls=True)
    assert len(calls) == n + 1 == reported
    calls.clear()
    g_cen, reported = numerical_gradient(f, x, method="central", return_calls=True)
    assert len(calls) == 2 * n == reported
    exact = grad_sum_sin_x2(x)
    assert g_fwd.shape == g_cen.shape == x.shape
    np.testing.assert_allclose(g_fwd, exact, atol=2e-6)
    np.testing.assert_allclose(g_cen, exact, atol=1e-8)


def test_counting_function_counts_and_resets():
    counted = CountingFunction(sum_sin_x2)
    numerical_gradient(counted, np.ones((2, 3)))
    assert counted.calls == 7
    counted.reset()
    numerical_gradient(counted, np.ones(5), method="central")
    assert counted.calls == 10
    assert "calls=10" in repr(counted)
    with pytest.raises(TypeError, match="callable"):
        CountingFunction(None)


def test_gradient_does_not_mutate_x_even_if_f_mutates_its_input():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()

    def vandal(p):
        value = float(np.sum(p**2))
        p[...] = 1e9  # a badly behaved f that overwrites its argument
        return value

    g = numerical_gradient(vandal, x, method="central")
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(g, 2 * before, atol=1e-8)


def test_gradient_accepts_int_input_and_step_arrays():
    g = numerical_gradient(quadratic_bowl, [4, 5], h=np.array([1e-6, 1e-7]), method="central")
    np.testing.assert_allclose(g, [16.0, 30.0], rtol=1e-7)


def test_gradient_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"scalar.*shape \(2,\)"):
        numerical_gradient(lambda p: p * 2, np.ones(2))
    with pytest.raises(ValueError, match="method must be 'forward' or 'central'"):
        numerical_gradient(sum_sin_x2, np.ones(2), method="backward")
    with pytest.raises(ValueError, match=r"h has shape \(3,\), x \(2,\)"):
        numerical_gradient(sum_sin_x2, np.ones(2), h=np.full(3, 1e-6))
    with pytest.raises(TypeError, match="real numbers"):
        numerical_gradient(sum_sin_x2, np.array(["a", "b"]))
    with pytest.raises(ValueError, match="non-finite"):
        numerical_gradient(sum_sin_x2, np.array([1.0, np.nan]))


# --------------------------------------------------------------------------- Jacobians


def test_jacobian_vector_function_closed_form_and_counts():
    a = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]])
    x = np.array([0.3, -0.7, 1.1])

    def f(p):
        return a @ p + np.array([np.sin(p[0] * p[1]), p[2] ** 3])

    # J = A + [[x1 cos(x0 x1), x0 cos(x0 x1), 0], [0, 0, 3 x2^2]]
    c = np.cos(x[0] * x[1])
    exact = a + np.array([[x[1] * c, x[0] * c, 0.0], [0.0, 0.0, 3 * x[2] ** 2]])
    jac, calls = numerical_jacobian(f, x, return_calls=True)
    assert jac.shape == (2, 3)
    assert calls == 6
    np.testing.assert_allclose(jac, exact, atol=1e-9)
    jac_fwd, calls = numerical_jacobian(f, x, method="forward", return_calls=True)
    assert calls == 4
    np.testing.assert_allclose(jac_fwd, exact, atol=1e-6)


def test_jacobian_shape_is_out_shape_plus_in_shape():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3))

    def layer(x):  # (2, 4) -> (2, 3), Y = X W, so dY[b, j]/dX[c, k] = [b == c] W[k, j]
        return x @ w

    x = rng.normal(size=(2, 4))
    jac = numerical_jacobian(layer, x)
    assert jac.shape == (2, 3, 2, 4)
    exact = np.einsum("bc,kj->bjck", np.eye(2), w)
    np.testing.assert_allclose(jac, exact, atol=1e-9)


def test_jacobian_rejects_outputs_of_changing_shape():
    with pytest.raises(ValueError, match="different shapes"):
        numerical_jacobian(lambda p: np.ones(2) if p[0] > 0 else np.ones(3), np.zeros(2))


# --------------------------------------------------------------------------- step-size study


@pytest.mark.parametrize(("name", "f", "df"), [("exp", np.exp, np.exp), ("sin", np.sin, np.cos)])
@pytest.mark.parametrize(("method", "theory"), [("forward", math.sqrt(EPS)), ("central", EPS ** (1 / 3))])
def test_best_step_is_near_theory(name, f, df, method, theory):
    study = step_size_study(f, df, 1.0, method=method)
    assert isinstance(study, StepSizeStudy)
    assert theory / 10 <= study.best_h <= theory * 10, (name, study.best_h)
    assert study.best_error == pytest.approx(
        abs(
            (forward_difference if method == "forward" else central_difference)(f, 1.0, study.best_h)
            - df(1.0)
        )
    )


def test_default_grid_spans_1e16_to_1e1():
    study = step_size_study(np.exp, np.exp, 1.0)
    assert study.hs[0] == pytest.approx(1e-16)
    assert study.hs[-1] == pytest.approx(1e-1)
    assert np.all(np.diff(study.hs) > 0)


@pytest.mark.parametrize(
    ("f", "df", "d2f"),
    [(np.exp, np.exp, np.exp), (np.sin, np.cos, lambda t: -np.sin(t))],
)
def test_v_curve_truncation_left_rounding_right(f, df, d2f):
    hs = np.array([1e-14, 1e-1])
    study = step_size_study(f, df, 1.0, hs=hs)
    err_small, err_big = study.errors
    # Large h: the error is the truncation term |f''(x)| h / 2 (hand-computed f''), within 2x.
    trunc_big = abs(d2f(1.0)) * 1e-1 / 2
    assert trunc_big / 2 <= err_big <= 2 * trunc_big
    # Tiny h: the error dwarfs the truncation term and the error at the best step.
    trunc_small = abs(d2f(1.0)) * 1e-14 / 2
    assert err_small > 1e6 * trunc_small
    full = step_size_study(f, df, 1.0)
    assert err_small > 100 * full.best_error


def test_model_lines_and_estimated_higher_derivative():
    study = step_size_study(np.exp, np.exp, 1.0, method="central")
    assert study.higher_derivative == pytest.approx(math.e, rel=1e-4)  # f''' = e
    np.testing.assert_allclose(study.truncation, math.e * study.hs**2 / 6, rtol=1e-4)
    np.testing.assert_allclose(study.rounding, EPS * math.e / (2 * study.hs))
    # The model optimum (3 u |f| / (2 |f'''|))^(1/3) for exp: f = f''' so it is (1.5 u)^(1/3).
    assert study.model_best_h == pytest.approx((1.5 * EPS) ** (1 / 3), rel=1e-3)


def test_step_size_study_rejects_bad_input():
    with pytest.raises(ValueError, match="hs must be"):
        step_size_study(np.exp, np.exp, 1.0, hs=[1e-3, -1.0])
    with pytest.raises(ValueError, match="method"):
        step_size_study(np.exp, np.exp, 1.0, method="sideways")
    with pytest.raises(TypeError, match="x must be a real number"):
        step_size_study(np.exp, np.exp, np.ones(2))
    with pytest.raises(ValueError, match="window"):
        step_size_study(np.exp, np.exp, 1.0, window=-1)


def test_plot_has_title_and_labels():
    study = step_size_study(np.sin, np.cos, 1.0, method="central")
    fig, ax = plt.subplots()
    returned = study.plot(ax)
    assert returned is ax
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert len(ax.get_lines()) >= 3  # measured, truncation, rounding
    plt.close(fig)
    ax2 = study.plot()
    assert ax2.get_title()
    plt.close(ax2.figure)


# --------------------------------------------------------------------------- gradcheck


def logsumexp(x):
    m = np.max(x)
    return float(m + np.log(np.sum(np.exp(x - m))))


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum()


def quartic_matrix(w):
    # f(W) = sum(tanh(W v)) + ||W||_F^4 / 4 on a 2-D W; df/dW = (1 - tanh^2(W v)) v^T + ||W||^2 W
    v = np.array([0.5, -1.0, 2.0])
    return float(np.sum(np.tanh(w @ v)) + np.sum(w**2) ** 2 / 4)


def quartic_matrix_grad(w):
    v = np.array([0.5, -1.0, 2.0])
    return np.outer(1 - np.tanh(w @ v) ** 2, v) + np.sum(w**2) * w


CASES = [
    ("sum sin x^2", sum_sin_x2, grad_sum_sin_x2, (4,)),
    ("logsumexp", logsumexp, softmax, (5,)),
    (
        "rosenbrock",
        lambda p: float((1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2),
        lambda p: np.array([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)]),
        (2,),
    ),
    ("matrix", quartic_matrix, quartic_matrix_grad, (2, 3)),
]


@FAST
@given(case=st.sampled_from(CASES), data=st.data())
def test_gradcheck_passes_exact_and_fails_0_1_percent_off(case, data):
    _, f, grad, shape = case
    x = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1.5, 1.5)))
    g = grad(x)
    result = gradcheck(f, g, x)
    assert isinstance(result, GradcheckResult)
    assert result.ok, str(result)
    assert gradcheck(f, grad, x).ok  # grad as a callable
    # A gradient 0.1% off must FAIL whenever some entry is not tiny.
    if np.max(np.abs(g)) > 1e-2:
        bad = gradcheck(f, g * 1.001, x)
        assert not bad.ok
        # Measured against a central difference: ~0.1% on every entry that is not tiny. (On a
        # tiny entry, e.g. 1e-8, the difference's own rounding noise ~1e-11 is already ~0.1%.)
        large = np.abs(g) > 1e-2
        assert bad.rel_errors[large] == pytest.approx(np.full(int(large.sum()), 1e-3), rel=1e-2)


def test_gradcheck_fails_on_one_wrong_coordinate_and_names_it():
    x = np.array([[0.3, -0.2, 0.9], [1.1, 0.4, -0.6]])
    g = quartic_matrix_grad(x)
    g_bad = g.copy()
    g_bad[1, 2] += 0.05
    result = gradcheck(quartic_matrix, g_bad, x)
    assert not result.ok
    assert result.worst_index == (1, 2)
    assert result.max_abs_error == pytest.approx(0.05, rel=1e-4)
    assert "FAILED" in str(result) and "[1, 2]" in str(result)
    with pytest.raises(GradcheckError) as info:
        gradcheck(quartic_matrix, g_bad, x, raise_on_failure=True)
    message = str(info.value)
    assert "[1, 2]" in message
    expected = float(re.search(r"expected (\S+)", message).group(1))
    got = float(re.search(r"got (\S+?);", message).group(1))
    assert expected == pytest.approx(g[1, 2], abs=1e-8)  # the central difference ~ the true value
    assert got == pytest.approx(g_bad[1, 2], rel=1e-9)
    assert isinstance(info.value, AssertionError)


def test_gradcheck_passing_result_is_readable_and_truthy():
    result = gradcheck(quadratic_bowl, np.array([16.0, 30.0]), np.array([4.0, 5.0]))
    assert result and result.ok
    assert "passed" in str(result)
    assert gradcheck(quadratic_bowl, np.array([15.0, 30.0]), np.array([4.0, 5.0])).ok is False  # the erratum


def test_gradcheck_tolerates_finite_difference_noise_of_large_f():
    # |f| ~ 1e6: the central difference itself carries ~ u 1e6 / 1e-6 ~ 2e-4 rounding noise,
    # far above atol + rtol |g|; a sound checker must not blame the exact gradient for it.
    def big(p):
        return float(1e6 + np.sum(p**2))

    x = np.array([0.1, -0.2, 0.3])
    assert gradcheck(big, 2 * x, x).ok


def test_gradcheck_validates_inputs():
    x = np.ones((2, 2))
    with pytest.raises(ValueError, match=r"grad has shape \(4,\) but x has shape \(2, 2\)"):
        gradcheck(lambda p: float(np.sum(p)), np.ones(4), x)
    with pytest.raises(ValueError, match=r"scalar.*shape \(2, 2\)"):
        gradcheck(lambda p: p**2, np.ones((2, 2)), x)
    with pytest.raises(ValueError, match="non-finite"):
        gradcheck(lambda p: float(np.sum(p)), np.array([[1.0, np.inf], [1.0, 1.0]]), x)
    with pytest.raises(ValueError, match="non-finite"):
        gradcheck(lambda p: float(np.sum(p)) * math.inf, np.ones((2, 2)), x)
    with pytest.raises(ValueError, match="non-finite"):
        gradcheck(lambda p: float(np.sum(p)), np.ones(2), np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match="float32"):
        gradcheck(lambda p: np.sum(p.astype(np.float32)), np.ones((2, 2)), x)
    with pytest.raises(ValueError, match="rtol"):
        gradcheck(lambda p: float(np.sum(p)), np.ones((2, 2)), x, rtol=-1.0)
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda p: float(np.sum(p)), np.ones((2, 2)), x, eps=0.0)
