"""Symbolic differentiation with SymPy, the derivative rules, and expression swell.

Symbolic differentiation applies the derivative rules (sum, product, chain, ...) to an
expression tree and returns a new expression tree. It is exact, but the result can be far larger
than the input: every product rule application copies both factors, so differentiating a
nested expression repeatedly duplicates sub-expressions. The classic illustration iterates the
logistic map

    l_1 = x,    l_{n+1} = r l_n (1 - l_n)    (r = 4 in the lecture),

for which the unsimplified derivative dl_n/dx grows exponentially in n, while forward-mode AD
computes the same derivative *value* with a fixed number of operations per iteration:

    primal:   t = 1 - l,   u = r l,   l' = u t                       3 operations
    tangent:  dt = -dl,    du = r dl, dl' = du t + u dt              5 operations

so AD needs 8 (n - 1) elementary operations for l_n and dl_n/dx, linear in n.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "AD_PRIMAL_OPS_PER_STEP",
    "AD_TANGENT_OPS_PER_STEP",
    "Rule",
    "SwellRow",
    "SwellSizes",
    "derivative",
    "expression_size",
    "gradient",
    "logistic_map",
    "logistic_map_factored",
    "plot_swell",
    "rules_table",
    "simplified_logistic_derivative",
    "swell_sizes",
    "swell_table",
    "to_function",
    "verify_rule",
]

#: Elementary operations per logistic-map step in the primal trace: 1 - l, r * l, product.
AD_PRIMAL_OPS_PER_STEP = 3
#: Elementary operations per step in the tangent trace: -dl, r * dl, and dl' = du t + u dt (2 mul, 1 add).
AD_TANGENT_OPS_PER_STEP = 5


# --------------------------------------------------------------------------- validation helpers


def _as_expr(expr: Any, name: str = "expr") -> sp.Basic:
    """A SymPy object from a SymPy expression or a number; strings are refused (no eval)."""
    try:
        return sp.sympify(expr, strict=True)
    except sp.SympifyError as exc:
        raise TypeError(
            f"{name} must be a SymPy expression or a number, got {type(expr).__name__}"
            " (build expressions from sympy.Symbol objects rather than strings)"
        ) from exc


def _as_symbol(var: Any, name: str = "var") -> sp.Symbol:
    if not isinstance(var, sp.Symbol):
        raise TypeError(f"{name} must be a sympy.Symbol, got {type(var).__name__} ({var!r})")
    return var


def _as_symbols(variables: Any, name: str = "vars") -> tuple[sp.Symbol, ...]:
    if isinstance(variables, sp.Symbol):
        return (variables,)
    if isinstance(variables, (str, bytes)) or not isinstance(variables, Iterable):
        raise TypeError(
            f"{name} must be a sympy.Symbol or a sequence of them, got {type(variables).__name__}"
        )
    symbols = tuple(variables)
    for i, v in enumerate(symbols):
        _as_symbol(v, f"{name}[{i}]")
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"{name} contains a symbol twice: {symbols}")
    return symbols


def _check_count(n: Any, name: str, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {n}")
    return int(n)


# --------------------------------------------------------------------------- derivatives


def derivative(expr: Any, var: sp.Symbol) -> sp.Expr:
    """d expr / d var, exactly as ``sympy.diff`` returns it (no simplification)."""
    return sp.diff(_as_expr(expr), _as_symbol(var))


def gradient(expr: Any, variables: Sequence[sp.Symbol]) -> list[sp.Expr]:
    """The gradient [d expr / d v for v in variables] as a list of SymPy expressions."""
    e = _as_expr(expr)
    return [sp.diff(e, v) for v in _as_symbols(variables, "variables")]


def to_function(expr: Any, variables: Any) -> Callable[..., Any]:
    """A numpy function of ``variables`` evaluating ``expr`` (via ``sympy.lambdify``).

    ``variables`` is one Symbol (the function then takes one argument) or a sequence of them
    (one positional argument each). Arguments may be floats or numpy arrays; the result is
    broadcast to the arguments' common shape, so a constant such as d/dx (3x) = 3 still returns
    an array of the input's shape. Every free symbol of ``expr`` must be among ``variables``.
    """
    e = _as_expr(expr)
    symbols = _as_symbols(variables, "variables")
    missing = e.free_symbols - set(symbols)
    if missing:
        names = ", ".join(sorted(str(s) for s in missing))
        raise ValueError(f"expr has free symbols not listed in variables: {names}")
    compiled = sp.lambdify(symbols, e, modules="numpy")

    def function(*args: Any) -> Any:
        if len(args) != len(symbols):
            raise TypeError(f"expected {len(symbols)} argument(s) {symbols}, got {len(args)}")
        out = compiled(*args)
        shape = np.broadcast_shapes(*(np.shape(a) for a in args))
        if np.shape(out) != shape:
            out = np.broadcast_to(np.asarray(out, dtype=float), shape).copy()
        return out

    function.__doc__ = f"Evaluate {e} at ({', '.join(map(str, symbols))})."
    return function


# --------------------------------------------------------------------------- derivative rules


@dataclass(frozen=True)
class Rule:
    """One derivative rule: d/dx ``function`` = ``derivative``, also written as ``latex``.

    ``function`` and ``derivative`` are SymPy expressions in ``var``; generic rules (sum,
    product, chain, ...) use undefined functions f(x), g(x), and f'(x) appears as
    ``Derivative(f(x), x)``. ``points`` lie in the rule's domain (empty for generic rules) and
    allow a numerical check where SymPy cannot simplify the difference to 0 by itself (e.g.
    rules with |x|). ``note`` records a correction of the seed material, if any.
    """

    name: str
    latex: str
    function: sp.Expr
    derivative: sp.Expr
    var: sp.Symbol
    points: tuple[float, ...] = ()
    note: str = ""


def rules_table() -> list[Rule]:
    """The derivative rules of the lecture (basic rules, exp/log, trig, hyperbolic and inverses).

    Each row's claimed derivative is checked against ``sympy.diff`` by :func:`verify_rule` and
    by the test-suite. Four rules are printed wrongly in the seed material and corrected here
    (see the ``note`` of the rows ``coth``, ``arccsch``, ``arcsec`` and ``arccsc``).
    """
    x = sp.Symbol("x", real=True)
    c, n = sp.Symbol("c", real=True), sp.Symbol("n", real=True)
    a = sp.Symbol("a", positive=True)
    f, g = sp.Function("f"), sp.Function("g")
    fx, gx = f(x), g(x)
    df, dg = sp.Derivative(fx, x), sp.Derivative(gx, x)
    u = sp.Dummy("u")
    absx = sp.Abs(x)
    both_sides = (-3.0, -1.5, 1.5, 3.0)
    rows = [
        ("constant", r"\frac{d}{dx} c = 0", c, sp.Integer(0), ()),
        ("identity", r"\frac{d}{dx} x = 1", x, sp.Integer(1), (-1.0, 0.5, 2.0)),
        ("linear", r"\frac{d}{dx} (c x) = c", c * x, c, ()),
        ("constant multiple", r"\frac{d}{dx} [c f(x)] = c f'(x)", c * fx, c * df, ()),
        ("power", r"\frac{d}{dx} x^n = n x^{n-1}", x**n, n * x ** (n - 1), ()),
        ("sum", r"\frac{d}{dx} [f(x) + g(x)] = f'(x) + g'(x)", fx + gx, df + dg, ()),
        ("difference", r"\frac{d}{dx} [f(x) - g(x)] = f'(x) - g'(x)", fx - gx, df - dg, ()),
        ("product", r"\frac{d}{dx} [f(x) g(x)] = f(x) g'(x) + g(x) f'(x)", fx * gx, fx * dg + gx * df, ()),
        (
            "quotient",
            r"\frac{d}{dx} \frac{f(x)}{g(x)} = \frac{g(x) f'(x) - f(x) g'(x)}{g(x)^2}",
            fx / gx,
            (gx * df - fx * dg) / gx**2,
            (),
        ),
        (
            "chain",
            r"\frac{d}{dx} f(g(x)) = f'(g(x))\, g'(x)",
            f(gx),
            sp.Subs(sp.Derivative(f(u), u), u, gx) * dg,
            (),
        ),
        ("exp", r"\frac{d}{dx} e^x = e^x", sp.exp(x), sp.exp(x), (-1.0, 0.0, 2.0)),
        ("exponential base a", r"\frac{d}{dx} a^x = a^x \ln a", a**x, a**x * sp.log(a), ()),
        ("exp chain", r"\frac{d}{dx} e^{g(x)} = e^{g(x)} g'(x)", sp.exp(gx), sp.exp(gx) * dg, ()),
        (
            "base a chain",
            r"\frac{d}{dx} a^{g(x)} = \ln(a)\, a^{g(x)} g'(x)",
            a**gx,
            sp.log(a) * a**gx * dg,
            (),
        ),
        ("ln", r"\frac{d}{dx} \ln x = \frac{1}{x}, \quad x > 0", sp.log(x), 1 / x, (0.5, 1.0, 3.0)),
        ("ln chain", r"\frac{d}{dx} \ln g(x) = \frac{g'(x)}{g(x)}", sp.log(gx), dg / gx, ()),
        ("log base a", r"\frac{d}{dx} \log_a x = \frac{1}{x \ln a}", sp.log(x, a), 1 / (x * sp.log(a)), ()),
        (
            "log base a chain",
            r"\frac{d}{dx} \log_a g(x) = \frac{g'(x)}{g(x) \ln a}",
            sp.log(gx, a),
            dg / (gx * sp.log(a)),
            (),
        ),
        ("sin", r"\frac{d}{dx} \sin x = \cos x", sp.sin(x), sp.cos(x), (-2.0, 0.3, 1.0)),
        ("cos", r"\frac{d}{dx} \cos x = -\sin x", sp.cos(x), -sp.sin(x), (-2.0, 0.3, 1.0)),
        ("tan", r"\frac{d}{dx} \tan x = \sec^2 x", sp.tan(x), sp.sec(x) ** 2, (-1.0, 0.3, 1.2)),
        ("csc", r"\frac{d}{dx} \csc x = -\csc x \cot x", sp.csc(x), -sp.csc(x) * sp.cot(x), (-1.0, 0.3, 2.0)),
        ("sec", r"\frac{d}{dx} \sec x = \sec x \tan x", sp.sec(x), sp.sec(x) * sp.tan(x), (-1.0, 0.3, 1.2)),
        ("cot", r"\frac{d}{dx} \cot x = -\csc^2 x", sp.cot(x), -(sp.csc(x) ** 2), (-1.0, 0.3, 2.0)),
        (
            "arcsin",
            r"\frac{d}{dx} \sin^{-1} x = \frac{1}{\sqrt{1 - x^2}}, \quad |x| < 1",
            sp.asin(x),
            1 / sp.sqrt(1 - x**2),
            (-0.9, 0.2, 0.7),
        ),
        (
            "arccos",
            r"\frac{d}{dx} \cos^{-1} x = \frac{-1}{\sqrt{1 - x^2}}, \quad |x| < 1",
            sp.acos(x),
            -1 / sp.sqrt(1 - x**2),
            (-0.9, 0.2, 0.7),
        ),
        ("arctan", r"\frac{d}{dx} \tan^{-1} x = \frac{1}{1 + x^2}", sp.atan(x), 1 / (1 + x**2), both_sides),
        ("arccot", r"\frac{d}{dx} \cot^{-1} x = \frac{-1}{1 + x^2}", sp.acot(x), -1 / (1 + x**2), both_sides),
        (
            "arcsec",
            r"\frac{d}{dx} \sec^{-1} x = \frac{1}{|x| \sqrt{x^2 - 1}}, \quad |x| > 1",
            sp.asec(x),
            1 / (absx * sp.sqrt(x**2 - 1)),
            both_sides,
        ),
        (
            "arccsc",
            r"\frac{d}{dx} \csc^{-1} x = \frac{-1}{|x| \sqrt{x^2 - 1}}, \quad |x| > 1",
            sp.acsc(x),
            -1 / (absx * sp.sqrt(x**2 - 1)),
            both_sides,
        ),
        ("sinh", r"\frac{d}{dx} \sinh x = \cosh x", sp.sinh(x), sp.cosh(x), (-1.0, 0.5, 2.0)),
        ("cosh", r"\frac{d}{dx} \cosh x = \sinh x", sp.cosh(x), sp.sinh(x), (-1.0, 0.5, 2.0)),
        (
            "tanh",
            r"\frac{d}{dx} \tanh x = \operatorname{sech}^2 x",
            sp.tanh(x),
            sp.sech(x) ** 2,
            (-1.0, 0.5, 2.0),
        ),
        (
            "csch",
            r"\frac{d}{dx} \operatorname{csch} x = -\operatorname{csch} x \coth x",
            sp.csch(x),
            -sp.csch(x) * sp.coth(x),
            (-1.0, 0.5, 2.0),
        ),
        (
            "sech",
            r"\frac{d}{dx} \operatorname{sech} x = -\operatorname{sech} x \tanh x",
            sp.sech(x),
            -sp.sech(x) * sp.tanh(x),
            (-1.0, 0.5, 2.0),
        ),
        (
            "coth",
            r"\frac{d}{dx} \coth x = -\operatorname{csch}^2 x",
            sp.coth(x),
            -(sp.csch(x) ** 2),
            (-1.0, 0.5, 2.0),
        ),
        (
            "arcsinh",
            r"\frac{d}{dx} \sinh^{-1} x = \frac{1}{\sqrt{1 + x^2}}",
            sp.asinh(x),
            1 / sp.sqrt(1 + x**2),
            both_sides,
        ),
        (
            "arccosh",
            r"\frac{d}{dx} \cosh^{-1} x = \frac{1}{\sqrt{x^2 - 1}}, \quad x > 1",
            sp.acosh(x),
            1 / sp.sqrt(x**2 - 1),
            (1.5, 2.0, 5.0),
        ),
        (
            "arctanh",
            r"\frac{d}{dx} \tanh^{-1} x = \frac{1}{1 - x^2}, \quad |x| < 1",
            sp.atanh(x),
            1 / (1 - x**2),
            (-0.9, 0.2, 0.7),
        ),
        (
            "arccsch",
            r"\frac{d}{dx} \operatorname{csch}^{-1} x = \frac{-1}{|x| \sqrt{1 + x^2}}, \quad x \ne 0",
            sp.acsch(x),
            -1 / (absx * sp.sqrt(1 + x**2)),
            (-3.0, -0.5, 0.5, 3.0),
        ),
        (
            "arcsech",
            r"\frac{d}{dx} \operatorname{sech}^{-1} x = \frac{-1}{x \sqrt{1 - x^2}}, \quad 0 < x < 1",
            sp.asech(x),
            -1 / (x * sp.sqrt(1 - x**2)),
            (0.2, 0.5, 0.9),
        ),
        (
            "arccoth",
            r"\frac{d}{dx} \coth^{-1} x = \frac{1}{1 - x^2}, \quad |x| > 1",
            sp.acoth(x),
            1 / (1 - x**2),
            both_sides,
        ),
    ]
    notes = {
        "coth": "Erratum: seed 003 prints -csch x; the derivative of coth x is -csch^2 x.",
        "arccsch": "Erratum: seed 003 prints sqrt(1 - x^2); the correct factor is sqrt(1 + x^2).",
        "arcsec": "Erratum: seed 003 prints x instead of |x|, which has the wrong sign for x < -1.",
        "arccsc": "Erratum: seed 003 prints x instead of |x|, which has the wrong sign for x < -1.",
    }
    return [
        Rule(name, latex, sp.sympify(func), sp.sympify(deriv), x, tuple(points), notes.get(name, ""))
        for name, latex, func, deriv, points in rows
    ]


def verify_rule(rule: Rule, tol: float = 1e-12) -> bool:
    """True when d/dx ``rule.function`` equals ``rule.derivative`` according to SymPy.

    First tries ``sympy.simplify(diff - claimed) == 0``; if SymPy cannot decide it symbolically
    (as for the |x| in arcsec), falls back to evaluating the difference at ``rule.points``
    (all of which must lie in the rule's domain) to within ``tol``.
    """
    residual = sp.simplify(sp.diff(rule.function, rule.var) - rule.derivative)
    if residual == 0:
        return True
    if not rule.points:
        return False
    return all(abs(complex(residual.subs(rule.var, p).evalf())) <= tol for p in rule.points)


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
