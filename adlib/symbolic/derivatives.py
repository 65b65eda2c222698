"""Derivatives of SymPy expressions, and turning expressions into numpy functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

if TYPE_CHECKING:
    pass

from ._checks import _as_expr, _as_symbol, _as_symbols

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
