"""a1's tests against other ways of writing its answers, graded through the engine.

Correct answers written differently from the key (vectorised or with lists, reusing earlier tasks or
not, simplifying derivatives or not, other association orders) earn full marks; a mistake in one task
costs points in that task's tests only, also where later answers call the faulty function. Each case
is the answer key with one solution cell edited, graded in one run as `adcourse check` grades the
typical mistakes of tests/mutants.
"""

import functools

import pytest
from helpers.alternatives import assert_key_full, assert_loses_nothing, assert_loses_only, case

from autograder.check import AssignmentCheck, check_assignment

NAME = "a1_numerical_symbolic"
NOTEBOOK = "numerical_symbolic.ipynb"

_KEY_FORWARD = """    return (f(x + h) - f(x)) / h"""
_KEY_CENTRAL = """    return (f(x + h) - f(x - h)) / (2 * h)"""
_KEY_GRADIENT = """    x = np.array(x, dtype=float)  # a copy, so the caller's x is never modified
    fx = f(x)
    grad = np.zeros(x.size)
    for i in range(x.size):
        x_step = x.copy()
        x_step[i] += h
        grad[i] = (f(x_step) - fx) / h
    return grad"""
_KEY_STEP_ERRORS = """    if method == "forward":
        difference = forward_difference
    elif method == "central":
        difference = central_difference
    else:
        raise ValueError(f"method must be 'forward' or 'central', got {method!r}")
    exact = df(x)
    errors = [abs(difference(f, x, h) - exact) for h in hs]
    return np.array(errors, dtype=float)"""
_KEY_BEST_STEP = """    errors = step_errors(f, df, x, hs, method)
    return float(hs[int(np.argmin(errors))])"""
_KEY_DIFF_START = """    if is_constant(expr):
        return 0
    if isinstance(expr, str):
        return 1 if expr == var else 0
    op, *args = expr"""
_KEY_SIZE = """    if isinstance(expr, tuple):
        op, *args = expr
        return 1 + sum(size(a) for a in args)
    return 1"""
_KEY_LOGISTIC = """    tree = "x"
    for _ in range(n - 1):
        tree = ("mul", ("mul", 4, tree), ("sub", 1, tree))
    return tree"""

# A diff that simplifies as it goes (0 + u, 1 * u, 0 * u, u^1 ...), with its rules in tables.
_SIMPLIFYING_DIFF = """    def add(a, b):
        if a == 0:
            return b
        return a if b == 0 else ("add", a, b)

    def sub(a, b):
        if b == 0:
            return a
        return ("mul", -1, b) if a == 0 else ("sub", a, b)

    def mul(a, b):
        if a == 0 or b == 0:
            return 0
        if a == 1:
            return b
        return a if b == 1 else ("mul", a, b)

    def power(a, n):
        if n == 0:
            return 1
        return a if n == 1 else ("pow", a, n)

    outer = {
        "exp": lambda u: ("exp", u),
        "log": lambda u: ("div", 1, u),
        "sin": lambda u: ("cos", u),
        "cos": lambda u: mul(-1, ("sin", u)),
    }
    if isinstance(expr, (int, float)):
        return 0
    if isinstance(expr, str):
        return int(expr == var)
    op = expr[0]
    if op in outer:
        return mul(outer[op](expr[1]), diff(expr[1], var))
    if op == "pow":
        u, n = expr[1], expr[2]
        return mul(mul(n, power(u, n - 1)), diff(u, var))
    if op not in ("add", "sub", "mul", "div"):
        raise ValueError(f"diff does not know the operation {op!r}")
    u, v = expr[1], expr[2]
    du, dv = diff(u, var), diff(v, var)
    if op == "add":
        return add(du, dv)
    if op == "sub":
        return sub(du, dv)
    if op == "mul":
        return add(mul(du, v), mul(u, dv))
    return ("div", sub(mul(du, v), mul(u, dv)), ("mul", v, v))
    op, *args = expr"""

# Other forms of the same rules: the power rule as n u^n / u, the quotient rule as u' v^-1 - u v' v^-2,
# ln' as u' u^-1, cos' as 0 - sin.
_REWRITTEN_RULES_DIFF = """    if is_constant(expr):
        return 0.0
    if isinstance(expr, str):
        return 1.0 if expr == var else 0.0
    name, *operands = expr
    if name == "add":
        return ("add", diff(operands[0], var), diff(operands[1], var))
    if name == "sub":
        return ("sub", diff(operands[0], var), diff(operands[1], var))
    if name == "mul":
        u, v = operands
        return ("add", ("mul", u, diff(v, var)), ("mul", diff(u, var), v))
    if name == "div":
        u, v = operands
        first = ("mul", diff(u, var), ("pow", v, -1))
        return ("sub", first, ("mul", ("mul", u, diff(v, var)), ("pow", v, -2)))
    if name == "pow":
        u, n = operands
        return ("mul", ("div", ("mul", n, expr), u), diff(u, var))
    if name == "exp":
        return ("mul", diff(operands[0], var), expr)
    if name == "log":
        return ("mul", diff(operands[0], var), ("pow", operands[0], -1))
    if name == "sin":
        return ("mul", diff(operands[0], var), ("cos", operands[0]))
    if name == "cos":
        return ("mul", diff(operands[0], var), ("sub", 0, ("sin", operands[0])))
    raise ValueError("unknown operation " + repr(name))
    op, *args = expr"""


_case = functools.partial(case, NOTEBOOK)


CORRECT = [
    _case(
        "alt-differences-as-floats",
        "finite-differences",
        _KEY_FORWARD,
        "    x, h = float(x), float(h)\n    fx, fxh = f(x), f(x + h)\n    return (fxh - fx) / h",
    ),
    _case(
        "alt-central-as-mean-of-one-sided",
        "finite-differences",
        _KEY_CENTRAL,
        "    return ((f(x + h) - f(x)) / h + (f(x) - f(x - h)) / h) / 2",
    ),
    _case(
        "alt-gradient-unit-vectors",
        "gradient-fd",
        _KEY_GRADIENT,
        "    x = np.asarray(x, dtype=float)\n    fx = f(x)\n"
        "    return np.array([(f(x + h * e) - fx) / h for e in np.eye(x.size)])",
    ),
    _case(
        "alt-gradient-python-lists",
        "gradient-fd",
        _KEY_GRADIENT,
        "    point = [float(v) for v in x]\n    fx = f(np.array(point))\n    partials = []\n"
        "    for i in range(len(point)):\n        moved = list(point)\n        moved[i] = moved[i] + h\n"
        "        partials.append((f(np.array(moved)) - fx) / h)\n    return np.array(partials)",
    ),
    _case(
        "alt-step-errors-inline",
        "step-size",
        _KEY_STEP_ERRORS,
        "    if method not in {'forward', 'central'}:\n"
        "        raise ValueError('unknown method ' + str(method))\n"
        "    out = np.empty(len(hs))\n    for k, h in enumerate(hs):\n        if method == 'central':\n"
        "            approx = (f(x + h) - f(x - h)) / 2 / h\n        else:\n"
        "            approx = (f(x + h) - f(x)) / h\n        out[k] = abs(df(x) - approx)\n    return out",
    ),
    _case(
        "alt-best-step-min-of-pairs",
        "step-size",
        _KEY_BEST_STEP,
        "    pairs = zip(step_errors(f, df, x, hs, method=method), list(hs))\n    return min(pairs)[1]",
    ),
    _case("alt-diff-simplifying", "diff", _KEY_DIFF_START, _SIMPLIFYING_DIFF),
    _case("alt-diff-rewritten-rules", "diff", _KEY_DIFF_START, _REWRITTEN_RULES_DIFF),
    _case(
        "alt-size-with-a-stack",
        "size",
        _KEY_SIZE,
        "    count, todo = 0, [expr]\n    while todo:\n        node = todo.pop()\n        count += 1\n"
        "        if type(node) is tuple:\n            todo += list(node[1:])\n    return count",
    ),
    _case(
        "alt-logistic-recursive",
        "logistic-tree",
        _KEY_LOGISTIC,
        "    if n == 1:\n        return 'x'\n    previous = logistic_tree(n - 1)\n"
        "    return ('mul', 4, ('mul', previous, ('sub', 1, previous)))",
    ),
]

# A mistake in one task, and the only test cell it may cost points in (later answers of the key call
# the faulty function: step_errors calls forward_difference, best_step calls step_errors, and the swell
# test's visible part calls logistic_tree).
CASCADES = {
    _case(
        "slip-forward-difference",
        "finite-differences",
        _KEY_FORWARD,
        "    return (f(x + h) - f(x)) / (2 * h)",
    ): "test-forward-difference",
    _case(
        "slip-central-difference", "finite-differences", _KEY_CENTRAL, "    return (f(x + h) - f(x - h)) / h"
    ): "test-central-difference",
    _case(
        "slip-step-errors",
        "step-size",
        "errors = [abs(difference(f, x, h) - exact) for h in hs]",
        "errors = [difference(f, x, h) - exact for h in hs]",
    ): "test-step-errors",
    _case(
        "slip-logistic-tree", "logistic-tree", "for _ in range(n - 1):", "for _ in range(n):"
    ): "test-logistic-tree",
}


@pytest.fixture(scope="module")
def graded() -> AssignmentCheck:
    return check_assignment(NAME, mutants=CORRECT + list(CASCADES))


def test_the_key_earns_full_marks(graded) -> None:
    assert_key_full(graded)


@pytest.mark.parametrize("name", [c.name for c in CORRECT])
def test_a_correct_alternative_earns_full_marks(graded, name) -> None:
    assert_loses_nothing(graded, name)


@pytest.mark.parametrize("case", list(CASCADES), ids=lambda c: c.name)
def test_a_mistake_costs_points_in_its_own_test_only(graded, case) -> None:
    assert_loses_only(graded, case.name, CASCADES[case])
