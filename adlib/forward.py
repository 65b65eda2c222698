"""Forward-mode AD with dual numbers.

A ``ForwardDiff`` pairs a primal value :math:`v` with a tangent :math:`\\dot v`, the derivative
of :math:`v` along one chosen input direction. Every primitive maps the pair
:math:`(v, \\dot v)` to :math:`(f(v), J_f(v)\\,\\dot v)`, so one evaluation of a program on
``ForwardDiff`` inputs gives its value and one Jacobian-vector product (JVP): a column of the
Jacobian when the input tangent is a unit vector :math:`e_i`.

Values and tangents may be numpy arrays (elementwise, with broadcasting), so one pass with
array tangents computes a whole JVP.

>>> x = ForwardDiff(2.0, 1.0)   # dx/dx = 1
>>> y = ForwardDiff(5.0, 0.0)   # dy/dx = 0
>>> f = x.log() + x * y - y.sin()
>>> round(f.value, 3), round(f.grad, 3)
(11.652, 5.5)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dispatch import Box, apply, as_value, mixing_error, show
from .operators import Operators
from .primitive import Primitive


class ForwardDiff(Operators):
    """A dual number: ``value`` and its derivative ``grad`` along one input direction.

    Args:
        value: the primal, a number or numpy array.
        grad: the tangent, of the same shape; zeros when omitted (a constant).
        tag: which derivative this tangent belongs to. Values you build by hand share tag 0;
            :func:`adlib.derivative`, :func:`adlib.jvp` and friends use a fresh tag per call, so
            derivatives taken inside derivatives keep their perturbations apart.
    """

    __slots__ = ("_level", "grad", "value")

    def __init__(self, value: Any, grad: Any = None, *, tag: int = 0) -> None:
        value = as_value(value)
        if isinstance(value, Box) and not isinstance(value, ForwardDiff):
            raise mixing_error("a ForwardDiff around a ReverseDiff")
        if grad is None:
            grad = np.zeros_like(value) if isinstance(value, np.ndarray) else 0.0
        else:
            grad = as_value(grad)
            vshape, gshape = np.shape(_bottom(value)), np.shape(_bottom(grad))
            if vshape != gshape:
                try:
                    fits = np.broadcast_shapes(vshape, gshape) == vshape
                except ValueError:
                    fits = False
                if not fits:
                    raise ValueError(f"tangent of shape {gshape} does not fit a value of shape {vshape}")
                grad = _widen(grad, vshape)
        self.value = value
        self.grad = grad
        self._level = tag

    @property
    def tag(self) -> int:
        """The perturbation this tangent belongs to (0 for hand-built values)."""
        return self._level

    @classmethod
    def _lift(cls, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any], level: int) -> ForwardDiff:
        primals = []
        tangents = []
        for a in args:
            if isinstance(a, ForwardDiff) and a._level == level:
                primals.append(a.value)
                tangents.append(a.grad)
            elif isinstance(a, Box) and not isinstance(a, ForwardDiff):
                raise mixing_error("ForwardDiff and ReverseDiff")
            else:
                primals.append(a)
                tangents.append(None)
        primal_args = tuple(primals)
        ans = apply(prim, *primal_args, **params)
        tangent = prim.jvp(tuple(tangents), ans, primal_args, params)
        out = object.__new__(cls)
        out.value = ans
        # Broadcasting can widen the value beyond the tangent (x + array): widen the tangent too.
        # The value may itself be a box of an inner derivative (nested forward mode), so compare
        # the shapes of what lies at the bottom of both.
        if isinstance(ans, np.ndarray | Box) and np.shape(tangent) != np.shape(ans):
            tangent = _widen(tangent, np.shape(ans))
        out.grad = tangent
        out._level = level
        return out

    def __repr__(self) -> str:
        return f"ForwardDiff(value={show(self.value)}, grad={show(self.grad)})"


def _widen(tangent: Any, shape: tuple[int, ...]) -> Any:
    """Broadcast ``tangent`` to ``shape`` (a boxed tangent by adding zeros, which keeps its own
    derivative)."""
    if isinstance(tangent, Box):
        return tangent + np.zeros(shape, dtype=np.asarray(_bottom(tangent)).dtype)
    return np.broadcast_to(tangent, shape).copy()


def _bottom(x: Any) -> Any:
    while isinstance(x, ForwardDiff):
        x = x.value
    return x


def tangent_of(out: Any, tag: int) -> Any:
    """The tangent for perturbation ``tag`` carried by ``out``; 0 when ``out`` does not depend on it."""
    if isinstance(out, ForwardDiff) and out._level == tag:
        return out.grad
    if isinstance(out, ForwardDiff) and out._level > tag:
        raise ValueError("a derivative's result escaped the function it belongs to")
    return np.zeros_like(np.asarray(_bottom(out)), dtype=float) if np.ndim(_bottom(out)) else 0.0


def primal_of(out: Any, tag: int) -> Any:
    """``out`` with perturbation ``tag`` removed."""
    if isinstance(out, ForwardDiff) and out._level == tag:
        return out.value
    return out
