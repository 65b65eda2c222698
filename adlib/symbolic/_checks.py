"""Argument checks shared by the symbolic modules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

if TYPE_CHECKING:
    pass

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
