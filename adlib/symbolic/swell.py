"""Expression swell: the logistic map differentiated symbolically against AD's constant work per step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

if TYPE_CHECKING:
    from matplotlib.axes import Axes

from ._checks import _as_expr, _as_symbol, _check_count

#: Elementary operations per logistic-map step in the primal trace: 1 - l, r * l, product.
AD_PRIMAL_OPS_PER_STEP = 3
#: Elementary operations per step in the tangent trace: -dl, r * dl, and dl' = du t + u dt (2 mul, 1 add).
AD_TANGENT_OPS_PER_STEP = 5


# --------------------------------------------------------------------------- logistic map


def logistic_map(n: int, x: Any = None, r: Any = 4) -> Any:
    """The n-th iterate of the logistic map, l_1 = x, l_{n+1} = r l_n (1 - l_n).

    Indexing follows seed 000: l_1 is x itself (no step taken), so l_n takes n - 1 steps.
    ``x`` defaults to ``sympy.Symbol("x")`` and may also be a number (then the result is a
    number); the result is the literal nested expression of the recursion, not simplified.
    """
    n = _check_count(n, "n")
    value = sp.Symbol("x") if x is None else _as_expr(x, "x")
    rate = _as_expr(r, "r")
    for _ in range(n - 1):
        value = rate * value * (1 - value)
    return value


def logistic_map_factored(n: int, x: sp.Symbol | None = None) -> sp.Expr:
    """l_n for r = 4 in the factored form printed in the lecture's swell table.

    Uses 1 - l_{k+1} = 1 - 4 l_k + 4 l_k^2 = (1 - 2 l_k)^2, which gives
        l_n = 4^{n-1} x (1 - x) prod_{k=1}^{n-2} (1 - 2 l_k)^2      (n >= 2),
    with each factor 1 - 2 l_k expanded: l_3 = 16 x (1 - x)(1 - 2x)^2,
    l_4 = 64 x (1 - x)(1 - 2x)^2 (1 - 8x + 8x^2)^2.
    """
    n = _check_count(n, "n")
    var = sp.Symbol("x") if x is None else _as_symbol(x, "x")
    if n == 1:
        return var
    result = 4 ** (n - 1) * var * (1 - var)
    for k in range(1, n - 1):
        result *= sp.expand(1 - 2 * logistic_map(k, var)) ** 2
    return result


def simplified_logistic_derivative(n: int, x: sp.Symbol | None = None, r: Any = 4) -> sp.Expr:
    """dl_n/dx as an expanded polynomial in x (the "simplified form" of the swell table).

    Built cheaply by iterating the map in ``sympy.Poly`` arithmetic and differentiating the
    resulting polynomial of degree 2^{n-1}; expanding the unsimplified derivative instead takes
    seconds already at n = 8. Smaller is not always better: the coefficients are huge and of
    alternating sign, so evaluating this form in floating point cancels badly for n >= 6
    (evaluate it with exact rationals, or use the nested form or AD).
    """
    n = _check_count(n, "n")
    var = sp.Symbol("x") if x is None else _as_symbol(x, "x")
    rate = _as_expr(r, "r")
    poly = sp.Poly(var, var)
    for _ in range(n - 1):
        poly = poly * rate * (1 - poly)
    return poly.diff(var).as_expr()


@dataclass(frozen=True)
class SwellRow:
    """One row of the expression-swell table: l_n and its derivative, unsimplified and simplified."""

    n: int
    l_n: sp.Expr
    naive_derivative: sp.Expr
    simplified_derivative: sp.Expr

    def as_latex(self) -> tuple[str, str, str, str]:
        """The row as LaTeX strings (n, l_n, dl_n/dx, simplified dl_n/dx)."""
        return (
            str(self.n),
            sp.latex(self.l_n),
            sp.latex(self.naive_derivative),
            sp.latex(self.simplified_derivative),
        )


def swell_table(n_max: int = 4) -> list[SwellRow]:
    """The lecture's table of logistic-map iterates (r = 4) and their derivatives, n = 1..n_max.

    Column l_n is the factored form (:func:`logistic_map_factored`); the naive derivative is
    ``sympy.diff`` of that form with no simplification afterwards (product and chain rule only;
    SymPy's automatic canonicalisation still merges numeric factors, e.g. 4(1 - x) - 4x becomes
    4 - 8x); the simplified derivative is the expanded polynomial
    (:func:`simplified_logistic_derivative`).
    """
    n_max = _check_count(n_max, "n_max")
    x = sp.Symbol("x")
    rows = []
    for n in range(1, n_max + 1):
        l_n = logistic_map_factored(n, x)
        rows.append(SwellRow(n, l_n, sp.diff(l_n, x), simplified_logistic_derivative(n, x)))
    return rows


# --------------------------------------------------------------------------- sizes


def expression_size(expr: Any) -> int:
    """Number of nodes of the expression tree (``len(list(sympy.preorder_traversal(expr)))``).

    Every operator, function, symbol and number counts once, and a shared sub-expression counts
    once per occurrence (this is the size of the printed formula). Examples: x has size 1,
    x + 1 has size 3 (Add, x, 1), 4x(1 - x) has size 8 (Mul, 4, x, Add, 1, Mul, -1, x).
    """
    return sum(1 for _ in sp.preorder_traversal(_as_expr(expr)))


@dataclass(frozen=True)
class SwellSizes:
    """Sizes for l_n: the expression, its naive and simplified derivative, and AD's op counts."""

    n: int
    function_size: int
    naive_derivative_size: int
    simplified_derivative_size: int
    ad_primal_ops: int
    ad_tangent_ops: int

    @property
    def ad_ops(self) -> int:
        """Elementary operations of forward-mode AD for l_n and dl_n/dx together: 8 (n - 1)."""
        return self.ad_primal_ops + self.ad_tangent_ops


def swell_sizes(n_max: int = 8, r: Any = 4) -> list[SwellSizes]:
    """Expression swell of the logistic map for n = 1..n_max.

    For each n: :func:`expression_size` of the nested expression l_n of :func:`logistic_map`
    (the recursion as a program would write it), of its unsimplified ``sympy.diff``, and of the
    simplified (expanded) derivative; plus the number of elementary operations forward-mode AD
    spends on the same n - 1 steps (3 primal + 5 tangent per step, see the module docstring).
    The naive derivative grows roughly like n 2^n, AD's work like 8n.
    """
    n_max = _check_count(n_max, "n_max")
    x = sp.Symbol("x")
    rate = _as_expr(r, "r")
    rows = []
    l_n = x
    for n in range(1, n_max + 1):
        if n > 1:
            l_n = rate * l_n * (1 - l_n)
        rows.append(
            SwellSizes(
                n=n,
                function_size=expression_size(l_n),
                naive_derivative_size=expression_size(sp.diff(l_n, x)),
                simplified_derivative_size=expression_size(simplified_logistic_derivative(n, x, rate)),
                ad_primal_ops=AD_PRIMAL_OPS_PER_STEP * (n - 1),
                ad_tangent_ops=AD_TANGENT_OPS_PER_STEP * (n - 1),
            )
        )
    return rows


def plot_swell(sizes: Sequence[SwellSizes], ax: Axes | None = None) -> Axes:
    """Plot the sizes from :func:`swell_sizes` against n on a logarithmic y axis."""
    if not sizes or not all(isinstance(s, SwellSizes) for s in sizes):
        raise TypeError("sizes must be a non-empty sequence of SwellSizes (from swell_sizes)")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    ns = [s.n for s in sizes]

    def positive(values: list[int]) -> np.ndarray:
        arr = np.asarray(values, dtype=float)
        return np.where(arr > 0, arr, np.nan)  # log axis: AD needs 0 operations at n = 1

    ax.plot(ns, positive([s.naive_derivative_size for s in sizes]), "o-", label="naive dl_n/dx (tree nodes)")
    ax.plot(ns, positive([s.function_size for s in sizes]), "s-", label="l_n (tree nodes)")
    ax.plot(ns, positive([s.simplified_derivative_size for s in sizes]), "^-", label="expanded dl_n/dx")
    ax.plot(ns, positive([s.ad_ops for s in sizes]), "d-", label="forward-mode AD (operations)")
    ax.set_yscale("log")
    ax.set_title(r"Expression swell of the logistic map $l_{n+1} = 4 l_n (1 - l_n)$")
    ax.set_xlabel("n (iterate of the logistic map)")
    ax.set_ylabel("size (expression nodes or operations)")
    ax.legend(fontsize="small")
    return ax
