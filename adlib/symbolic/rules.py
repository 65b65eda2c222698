"""The derivative rules of the lectures as a table, each row verified by SymPy."""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

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
