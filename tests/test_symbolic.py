"""Tests for adlib.symbolic: SymPy derivatives, the rules table, and expression swell.

The swell-table expectations are typed in by hand from seed 000's printed table; derivative
values are checked against central differences computed here, and AD's operation count against
a small dual-number class defined here, all independent of the code under test.
"""

from __future__ import annotations

import math
from itertools import pairwise

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import sympy as sp
from helpers.reference import central_derivative
from hypothesis import given, settings
from hypothesis import strategies as st

from adlib.symbolic import (
    AD_PRIMAL_OPS_PER_STEP,
    AD_TANGENT_OPS_PER_STEP,
    Rule,
    SwellRow,
    SwellSizes,
    derivative,
    expression_size,
    gradient,
    logistic_map,
    logistic_map_factored,
    plot_swell,
    rules_table,
    simplified_logistic_derivative,
    swell_sizes,
    swell_table,
    to_function,
    verify_rule,
)

x, y = sp.symbols("x y")
FAST = settings(max_examples=30, deadline=None)


def central(fn, t, h=1e-5):
    return (fn(t + h) - fn(t - h)) / (2 * h)


# --------------------------------------------------------------------------- derivative, gradient


def test_derivative_and_gradient_basics():
    assert derivative(x**3, x) == 3 * x**2
    assert derivative(sp.sin(x) * y, y) == sp.sin(x)
    grad = gradient(2 * x**2 + 3 * y**2, [x, y])
    assert grad == [4 * x, 6 * y]
    # (16, 30) at (4, 5). Erratum: seed 003 prints (15, 30); 4 * 4 = 16.
    assert [g.subs({x: 4, y: 5}) for g in grad] == [16, 30]
    assert derivative(5, x) == 0


def test_derivative_errors_name_the_problem():
    with pytest.raises(TypeError, match=r"var must be a sympy.Symbol, got str"):
        derivative(x**2, "x")
    with pytest.raises(TypeError, match="expr must be a SymPy expression"):
        derivative("x**2", x)
    with pytest.raises(TypeError, match=r"variables\[1\] must be a sympy.Symbol"):
        gradient(x * y, [x, 2])
    with pytest.raises(ValueError, match="twice"):
        gradient(x * y, [x, x])


# Random expressions in x and y: leaves and a few unary/binary operations.
leaves = st.sampled_from([x, y, sp.Integer(2), sp.Rational(1, 2), sp.Integer(-3)])
unary = st.sampled_from([sp.sin, sp.cos, sp.tanh, sp.exp])
expressions = st.recursive(
    leaves,
    lambda sub: st.one_of(
        st.tuples(sub, sub).map(lambda t: t[0] + t[1]),
        st.tuples(sub, sub).map(lambda t: t[0] * t[1]),
        st.tuples(unary, sub).map(lambda t: t[0](t[1])),
    ),
    max_leaves=6,
)


@FAST
@given(expr=expressions, px=st.floats(-1, 1), py=st.floats(-1, 1))
def test_symbolic_gradient_matches_central_differences(expr, px, py):
    f = to_function(expr, [x, y])
    gx, gy = (to_function(g, [x, y]) for g in gradient(expr, [x, y]))
    num_x = central(lambda t: f(t, py), px)
    num_y = central(lambda t: f(px, t), py)
    scale = 1 + abs(float(f(px, py)))
    assert float(gx(px, py)) == pytest.approx(num_x, abs=1e-5 * (scale + abs(num_x)))
    assert float(gy(px, py)) == pytest.approx(num_y, abs=1e-5 * (scale + abs(num_y)))


def test_to_function_broadcasts_and_validates():
    f = to_function(sp.Integer(3), x)  # d/dx (3x): a constant still gives an array of x's shape
    np.testing.assert_array_equal(f(np.zeros(4)), np.full(4, 3.0))
    g = to_function(x * y + sp.sin(x), [x, y])
    np.testing.assert_allclose(g(np.array([0.0, 1.0]), 2.0), [0.0, 2.0 + math.sin(1.0)])
    with pytest.raises(ValueError, match="free symbols not listed in variables: y"):
        to_function(x * y, [x])
    with pytest.raises(TypeError, match="expected 2 argument"):
        g(1.0)
    with pytest.raises(TypeError, match=r"variables must be a sympy\.Symbol or a sequence"):
        to_function(x, "x")


# --------------------------------------------------------------------------- rules table


def test_rules_table_covers_the_seed_rules():
    names = {rule.name for rule in rules_table()}
    required = {
        "constant", "identity", "linear", "constant multiple", "power", "sum", "difference",
        "product", "quotient", "chain", "exp", "exponential base a", "ln", "log base a",
        "sin", "cos", "tan", "csc", "sec", "cot", "arcsin", "arccos", "arctan",
        "sinh", "cosh", "tanh", "coth", "arcsinh", "arccosh", "arctanh", "arccsch",
    }  # fmt: skip
    assert required <= names
    for rule in rules_table():
        assert isinstance(rule, Rule)
        assert rule.latex.startswith(r"\frac{d}{dx}") and "=" in rule.latex


@pytest.mark.parametrize("rule", rules_table(), ids=lambda r: r.name)
def test_every_rule_is_verified_by_sympy(rule):
    residual = sp.simplify(sp.diff(rule.function, rule.var) - rule.derivative)
    if residual != 0:
        # SymPy cannot always simplify |x| away: then check the rule's domain points (>= 3 of them).
        assert len(rule.points) >= 3, f"{rule.name}: residual {residual} and no points to check"
        for p in rule.points:
            assert abs(complex(residual.subs(rule.var, p).evalf())) < 1e-12, (rule.name, p)
    assert verify_rule(rule)


@pytest.mark.parametrize("rule", [r for r in rules_table() if r.points], ids=lambda r: r.name)
def test_concrete_rules_match_central_differences(rule):
    f = to_function(rule.function, rule.var)
    df = to_function(rule.derivative, rule.var)
    for p in rule.points:
        assert float(df(p)) == pytest.approx(central(f, p, 1e-6), rel=1e-6, abs=1e-8), (rule.name, p)


def test_seed_errata_in_the_rules_are_real():
    t = sp.Symbol("x", real=True)
    # seed 003 printed forms, typed in by hand; each differs from the true derivative somewhere
    seed_coth = -sp.csch(t)
    seed_acsch = -1 / (sp.Abs(t) * sp.sqrt(1 - t**2))
    seed_asec = 1 / (t * sp.sqrt(t**2 - 1))
    assert sp.N((sp.diff(sp.coth(t), t) - seed_coth).subs(t, 1)) != 0
    assert abs(sp.N((sp.diff(sp.acsch(t), t) - seed_acsch).subs(t, sp.Rational(1, 2)))) > 0.1
    assert abs(sp.N((sp.diff(sp.asec(t), t) - seed_asec).subs(t, -2))) > 0.1
    notes = {r.name: r.note for r in rules_table()}
    for name in ("coth", "arccsch", "arcsec", "arccsc"):
        assert notes[name].startswith("Erratum")


def test_verify_rule_can_fail():
    t = sp.Symbol("x", real=True)
    wrong = Rule("wrong sin", r"\frac{d}{dx} \sin x = -\cos x", sp.sin(t), -sp.cos(t), t, (0.3, 1.0, 2.0))
    assert not verify_rule(wrong)
    wrong_generic = Rule("wrong product", "", sp.Function("f")(t) * t, sp.Function("f")(t), t)
    assert not verify_rule(wrong_generic)


# --------------------------------------------------------------------------- logistic map


def test_logistic_map_indexing_follows_seed_l1_is_x():
    assert logistic_map(1) == x
    assert logistic_map(2) == 4 * x * (1 - x)
    assert sp.expand(logistic_map(3) - 16 * x * (1 - x) * (1 - 2 * x) ** 2) == 0
    value = 0.3
    for _ in range(4):
        value = 3.5 * value * (1 - value)
    assert float(logistic_map(5, 0.3, r=3.5)) == pytest.approx(value, rel=1e-12)
    r = sp.Symbol("r")
    assert logistic_map(2, x, r) == r * x * (1 - x)


def test_logistic_map_rejects_bad_n():
    with pytest.raises(ValueError, match="n must be >= 1"):
        logistic_map(0)
    with pytest.raises(TypeError, match="n must be an integer"):
        logistic_map(2.0)
    with pytest.raises(TypeError, match=r"x must be a sympy\.Symbol"):
        logistic_map_factored(2, 0.5)
    with pytest.raises(ValueError, match="n_max must be >= 1"):
        swell_table(0)


@pytest.mark.parametrize("n", range(1, 7))
def test_factored_form_equals_the_recursion(n):
    assert sp.expand(logistic_map_factored(n) - logistic_map(n)) == 0


# Seed 000's table for l_{n+1} = 4 l_n (1 - l_n), l_1 = x, typed in by hand.
SEED_L = {
    1: x,
    2: 4 * x * (1 - x),
    3: 16 * x * (1 - x) * (1 - 2 * x) ** 2,
    4: 64 * x * (1 - x) * (1 - 2 * x) ** 2 * (1 - 8 * x + 8 * x**2) ** 2,
}
SEED_NAIVE_TERMS = {
    1: [sp.Integer(1)],
    2: [4 * (1 - x), -4 * x],
    3: [16 * (1 - x) * (1 - 2 * x) ** 2, -16 * x * (1 - 2 * x) ** 2, -64 * x * (1 - x) * (1 - 2 * x)],
    4: [
        128 * x * (1 - x) * (-8 + 16 * x) * (1 - 2 * x) ** 2 * (1 - 8 * x + 8 * x**2),
        64 * (1 - x) * (1 - 2 * x) ** 2 * (1 - 8 * x + 8 * x**2) ** 2,
        -64 * x * (1 - 2 * x) ** 2 * (1 - 8 * x + 8 * x**2) ** 2,
        -256 * x * (1 - x) * (1 - 2 * x) * (1 - 8 * x + 8 * x**2) ** 2,
    ],
}
SEED_SIMPLIFIED = {
    1: sp.Integer(1),
    2: 4 - 8 * x,
    3: 16 * (1 - 10 * x + 24 * x**2 - 16 * x**3),
    4: 64 * (1 - 42 * x + 504 * x**2 - 2640 * x**3 + 7040 * x**4 - 9984 * x**5 + 7168 * x**6 - 2048 * x**7),
}


def test_swell_table_matches_seed_table():
    table = swell_table(4)
    assert [row.n for row in table] == [1, 2, 3, 4]
    for row in table:
        assert isinstance(row, SwellRow)
        n = row.n
        # l_n: the same factored expression as printed (SymPy canonical forms compare structurally).
        assert row.l_n == SEED_L[n]
        # naive derivative: equal to the seed's, and with as many product-rule terms (n of them).
        assert sp.expand(row.naive_derivative - sum(SEED_NAIVE_TERMS[n])) == 0
        assert len(sp.Add.make_args(row.naive_derivative)) == len(SEED_NAIVE_TERMS[n]) == n
        # simplified derivative: equal to the seed's, and already an expanded polynomial.
        assert sp.expand(row.simplified_derivative - SEED_SIMPLIFIED[n]) == 0
        assert row.simplified_derivative == sp.expand(row.simplified_derivative)
        assert all(isinstance(s, str) and s for s in row.as_latex())
    # From n = 3 on the naive form is not expanded: it is structurally different and larger.
    for row in table[2:]:
        assert row.naive_derivative != row.simplified_derivative
        assert expression_size(row.naive_derivative) > expression_size(row.simplified_derivative)


@FAST
@given(t=st.floats(0.0, 1.0), n=st.integers(1, 6))
def test_logistic_derivatives_match_central_differences(t, n):
    l_fn = to_function(logistic_map(n), x)
    naive = to_function(sp.diff(logistic_map(n), x), x)
    # Five points: l_5 and l_6 have large third derivatives, so the two-point difference's
    # error h^2 f'''(t)/6 alone can exceed the tolerance (n = 5, t = 2^-10: 3.4e-5).
    num = central_derivative(l_fn, t, h=1e-5)
    tol = 1e-5 * (1 + abs(num))
    assert float(naive(t)) == pytest.approx(num, abs=tol)
    # The expanded polynomial has huge coefficients of alternating sign, so evaluating it in
    # floating point cancels catastrophically (e.g. n = 6, t = 0.75); evaluate it exactly instead.
    simple = simplified_logistic_derivative(n).subs(x, sp.Rational(t))
    assert float(simple) == pytest.approx(num, abs=tol)


@pytest.mark.parametrize("n", range(1, 9))
def test_simplified_derivative_degree_and_leading_coefficient(n):
    # l_{k+1} = 4 l_k - 4 l_k^2: degree doubles and the leading coefficient c obeys
    # c_{k+1} = -4 c_k^2 with c_1 = 1, so dl_n/dx has degree 2^(n-1) - 1 and leading
    # coefficient 2^(n-1) c_n.
    c = 1
    for _ in range(n - 1):
        c = -4 * c**2
    poly = sp.Poly(simplified_logistic_derivative(n), x)
    assert poly.degree() == 2 ** (n - 1) - 1
    assert poly.LC() == 2 ** (n - 1) * c


def test_simplified_equals_expanded_naive_for_small_n():
    for n in range(1, 6):
        assert simplified_logistic_derivative(n) == sp.expand(sp.diff(logistic_map(n), x))


# --------------------------------------------------------------------------- sizes


def test_expression_size_counts_tree_nodes():
    assert expression_size(x) == 1
    assert expression_size(x + 1) == 3  # Add, x, 1
    assert expression_size(4 * x * (1 - x)) == 8  # Mul, 4, x, Add, 1, Mul, -1, x
    assert expression_size(sp.sin(x) * sp.sin(x + 1)) == 7  # Mul, sin, x, sin, Add, x, 1
    with pytest.raises(TypeError):
        expression_size("x + 1")


class CountingDual:
    """Forward-mode dual number (value, tangent) that counts primal and tangent operations."""

    primal_ops = 0
    tangent_ops = 0

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent

    def __rsub__(self, other):  # other - self, other a constant
        CountingDual.primal_ops += 1
        CountingDual.tangent_ops += 1  # -dt
        return CountingDual(other - self.value, -self.tangent)

    def __rmul__(self, other):  # constant * self
        CountingDual.primal_ops += 1
        CountingDual.tangent_ops += 1  # c * dt
        return CountingDual(other * self.value, other * self.tangent)

    def __mul__(self, other):
        CountingDual.primal_ops += 1
        CountingDual.tangent_ops += 3  # da * b + a * db: two products and a sum
        return CountingDual(self.value * other.value, self.tangent * other.value + self.value * other.tangent)


def run_logistic_dual(n, t):
    CountingDual.primal_ops = CountingDual.tangent_ops = 0
    v = CountingDual(t, 1.0)
    for _ in range(n - 1):
        v = (4 * v) * (1 - v)
    return v


def test_ad_operation_counts_match_a_dual_number_trace():
    sizes = swell_sizes(6)
    for s in sizes:
        out = run_logistic_dual(s.n, 0.3)
        assert s.ad_primal_ops == CountingDual.primal_ops
        assert s.ad_tangent_ops == CountingDual.tangent_ops
        assert s.ad_ops == CountingDual.primal_ops + CountingDual.tangent_ops == 8 * (s.n - 1)
        # exact rational evaluation: the expanded polynomial loses digits in floating point
        exact = float(simplified_logistic_derivative(s.n).subs(x, sp.Rational(3, 10)))
        assert out.tangent == pytest.approx(exact, rel=1e-12)
    assert (AD_PRIMAL_OPS_PER_STEP, AD_TANGENT_OPS_PER_STEP) == (3, 5)


def test_swell_sizes_grow_and_naive_outgrows_ad():
    sizes = swell_sizes()
    assert [s.n for s in sizes] == list(range(1, 9))
    assert all(isinstance(s, SwellSizes) for s in sizes)
    for column in ("function_size", "naive_derivative_size", "simplified_derivative_size", "ad_ops"):
        values = [getattr(s, column) for s in sizes]
        assert all(b > a for a, b in pairwise(values)), (column, values)
    naive = [s.naive_derivative_size for s in sizes]
    ad = [s.ad_ops for s in sizes]
    # AD grows by a constant 8 per step; the naive derivative by ever larger amounts ...
    assert set(np.diff(ad)) == {8}
    naive_steps = np.diff(naive)
    assert np.all(naive_steps[1:] > naive_steps[:-1])
    # ... so its size relative to AD's work keeps rising (from n = 2, where AD first does work).
    ratios = [a / b for a, b in zip(naive[1:], ad[1:], strict=True)]
    assert all(b > a for a, b in pairwise(ratios))
    # Hand check of the smallest case: l_2 = 4 x (1 - x) has 8 nodes (see expression_size).
    assert sizes[1].function_size == 8
    # The nested l_n repeats l_{n-1} twice, so its size more than doubles each step.
    fs = [s.function_size for s in sizes]
    assert all(b > 2 * a for a, b in pairwise(fs))


def test_plot_swell_has_title_labels_and_log_axis():
    fig, ax = plt.subplots()
    returned = plot_swell(swell_sizes(5), ax=ax)
    assert returned is ax
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_yscale() == "log"
    assert len(ax.get_lines()) == 4
    plt.close(fig)
    with pytest.raises(TypeError, match="SwellSizes"):
        plot_swell([])
