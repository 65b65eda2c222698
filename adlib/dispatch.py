"""Routing a primitive to plain numpy, forward mode or reverse mode.

``apply(prim, *args)`` is the one entry point every operation goes through. If no argument
is a :class:`Box` (a value that carries derivative information), it just computes
``prim.fn(*args)``. Otherwise the *outermost* box lifts the operation into its mode.

Nesting. Forward-mode boxes carry a ``tag``; a derivative taken inside another derivative
gets a newer (larger) tag, so its box is the outer layer and the other box is treated as a
constant at that layer. Keeping perturbations apart this way avoids *perturbation confusion*
(Siskind and Pearlmutter, 2005): without tags, ``d/dx [x * d/dy (x + y)]`` comes out 2, not 1.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .primitive import Primitive

_tags = itertools.count(1)


def new_tag() -> int:
    """A fresh perturbation tag, larger than every tag handed out before."""
    return next(_tags)


class Box:
    """Base of every value that carries derivative information through ``apply``.

    ``_level`` orders boxes when several meet in one operation: the highest level is the
    outermost layer and lifts the operation. Subclasses implement ``_lift``.
    """

    __slots__ = ()
    _level: int = -1

    # numpy must not treat a box as a scalar and loop over it elementwise: returning None here
    # makes ``ndarray + box`` defer to ``box.__radd__``.
    __array_ufunc__ = None

    @classmethod
    def _lift(cls, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any], level: int) -> Any:
        raise NotImplementedError


def apply(prim: Primitive, *args: Any, **params: Any) -> Any:
    """Evaluate ``prim`` on ``args``, carrying derivatives for any boxed argument."""
    top = None
    for a in args:
        if isinstance(a, Box) and (top is None or a._level > top._level):
            top = a
    if top is None:
        return prim.fn(*args, **params)
    return type(top)._lift(prim, args, params, top._level)


def raw(x: Any) -> Any:
    """The plain number or array under any number of boxes (derivative information dropped)."""
    while isinstance(x, Box):
        x = x.value  # type: ignore[attr-defined]
    return x


def as_value(x: Any) -> Any:
    """Normalise a user-supplied primal or tangent: ints become floats, lists become float arrays.

    Float arrays keep their precision (float32 stays float32); integer and boolean arrays become
    float64, so that derivatives are never truncated to integers.
    """
    if isinstance(x, Box):
        return x
    if isinstance(x, bool | int):
        return float(x)
    if isinstance(x, float | np.floating):
        return x
    if isinstance(x, np.ndarray):
        return x if x.dtype.kind == "f" else x.astype(np.float64)
    if isinstance(x, list | tuple):
        return np.asarray(x, dtype=np.float64)
    if isinstance(x, np.generic) and x.dtype.kind in "iub":
        return float(x)
    raise TypeError(f"expected a number or a numpy array, got {type(x).__name__}")


def mixing_error(kinds: str) -> TypeError:
    """The error for an operation that combines forward-mode and reverse-mode values."""
    return TypeError(
        f"cannot combine {kinds} in one operation: forward mode (ForwardDiff) and reverse mode "
        "(ReverseDiff) build different things; differentiate with one of them"
    )


def show(x: Any) -> str:
    """A short text form of a value for reprs and traces (numpy scalars shown as plain numbers)."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, np.ndarray):
        return np.array2string(x, precision=6, separator=", ", threshold=20)
    return repr(x)
