"""Operator overloading shared by ``ForwardDiff`` and ``ReverseDiff``.

Every operator and method here only names a primitive; what it computes, and how it is
differentiated, lives in the derivative tables (:mod:`adlib.calculus`, :mod:`adlib.arrays`).
Every one-argument primitive of those tables has its method here (``x.exp()``, ``x.sum()``, ...)
and its function in ``adlib`` (``tests/test_unary_primitives.py`` keeps the two lists complete).
So ``x * y`` means the same in both modes, and with numpy arrays or Python numbers on either side.

Comparisons (``<``, ``>``, ...) compare values and return plain booleans: they are not
differentiable. ``==`` is deliberately *not* overloaded, so boxes stay hashable by identity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import arrays, calculus
from .dispatch import Box, apply, raw

# What an operator accepts next to a box; anything else makes Python raise TypeError naming the type.
_OPERANDS = (Box, np.ndarray, np.generic, int, float)
# Sequences are refused by name. Left to Python, ``[1, 2] * x`` falls back to list repetition and
# its error ("can't multiply sequence by non-int") hides that the list is the problem.
_SEQUENCES = (list, tuple, str, bytes)


def _refuse(symbol: str, left: Any, right: Any) -> Any:
    """The answer to an operand that is not a number, array or box.

    Lists, tuples and strings raise a TypeError naming both types (convert lists with
    ``np.asarray``); other types get ``NotImplemented``, so their own reflected operator may answer
    (and otherwise Python raises its usual TypeError naming both types).
    """
    for side in (left, right):
        if isinstance(side, _SEQUENCES):
            raise TypeError(
                f"unsupported operand type(s) for {symbol}: {type(left).__name__!r} and "
                f"{type(right).__name__!r}; convert a {type(side).__name__} to a numpy array first"
            )
    return NotImplemented


class Operators(Box):
    """Arithmetic, elementary functions and array methods for boxed values."""

    __slots__ = ()

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> Any:
        return apply(calculus.ADD, self, other) if isinstance(other, _OPERANDS) else _refuse("+", self, other)

    def __radd__(self, other: Any) -> Any:
        return apply(calculus.ADD, other, self) if isinstance(other, _OPERANDS) else _refuse("+", other, self)

    def __sub__(self, other: Any) -> Any:
        return apply(calculus.SUB, self, other) if isinstance(other, _OPERANDS) else _refuse("-", self, other)

    def __rsub__(self, other: Any) -> Any:
        return apply(calculus.SUB, other, self) if isinstance(other, _OPERANDS) else _refuse("-", other, self)

    def __mul__(self, other: Any) -> Any:
        return apply(calculus.MUL, self, other) if isinstance(other, _OPERANDS) else _refuse("*", self, other)

    def __rmul__(self, other: Any) -> Any:
        return apply(calculus.MUL, other, self) if isinstance(other, _OPERANDS) else _refuse("*", other, self)

    def __truediv__(self, other: Any) -> Any:
        return apply(calculus.DIV, self, other) if isinstance(other, _OPERANDS) else _refuse("/", self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return apply(calculus.DIV, other, self) if isinstance(other, _OPERANDS) else _refuse("/", other, self)

    def __pow__(self, other: Any) -> Any:
        return (
            apply(calculus.POW, self, other) if isinstance(other, _OPERANDS) else _refuse("**", self, other)
        )

    def __rpow__(self, other: Any) -> Any:
        return (
            apply(calculus.POW, other, self) if isinstance(other, _OPERANDS) else _refuse("**", other, self)
        )

    def __matmul__(self, other: Any) -> Any:
        return (
            apply(arrays.MATMUL, self, other) if isinstance(other, _OPERANDS) else _refuse("@", self, other)
        )

    def __rmatmul__(self, other: Any) -> Any:
        return (
            apply(arrays.MATMUL, other, self) if isinstance(other, _OPERANDS) else _refuse("@", other, self)
        )

    def __neg__(self) -> Any:
        return apply(calculus.NEG, self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return apply(calculus.ABS, self)

    # ------------------------------------------------------------ comparisons (on values)
    def __lt__(self, other: Any) -> Any:
        return raw(self) < raw(other)

    def __le__(self, other: Any) -> Any:
        return raw(self) <= raw(other)

    def __gt__(self, other: Any) -> Any:
        return raw(self) > raw(other)

    def __ge__(self, other: Any) -> Any:
        return raw(self) >= raw(other)

    def __float__(self) -> float:
        return float(raw(self))

    # ------------------------------------------------------------ elementary functions
    def exp(self) -> Any:
        return calculus.exp(self)

    def log(self) -> Any:
        return calculus.log(self)

    def sin(self) -> Any:
        return calculus.sin(self)

    def cos(self) -> Any:
        return calculus.cos(self)

    def tan(self) -> Any:
        return calculus.tan(self)

    def tanh(self) -> Any:
        return calculus.tanh(self)

    def sqrt(self) -> Any:
        return calculus.sqrt(self)

    def abs(self) -> Any:
        return calculus.abs(self)

    def sigmoid(self) -> Any:
        return calculus.sigmoid(self)

    def relu(self) -> Any:
        return calculus.relu(self)

    def softplus(self) -> Any:
        return calculus.softplus(self)

    def erf(self) -> Any:
        return calculus.erf(self)

    # ------------------------------------------------------------ arrays
    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(raw(self))

    @property
    def ndim(self) -> int:
        return np.ndim(raw(self))

    @property
    def size(self) -> int:
        return int(np.size(raw(self)))

    @property
    def dtype(self) -> np.dtype:
        return np.asarray(raw(self)).dtype

    @property
    def T(self) -> Any:
        return arrays.transpose(self)

    def transpose(self, *axes: Any) -> Any:
        """Permute axes; like numpy, ``x.transpose(1, 0)`` and ``x.transpose((1, 0))`` both work."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], tuple | list)):
            axes = axes[0] or ()
        return arrays.transpose(self, tuple(axes) or None)

    def reshape(self, *shape: Any) -> Any:
        return arrays.reshape(self, shape[0] if len(shape) == 1 else shape)

    def sum(self, axis: arrays.Axis = None, keepdims: bool = False) -> Any:
        return arrays.sum(self, axis, keepdims)

    def mean(self, axis: arrays.Axis = None, keepdims: bool = False) -> Any:
        return arrays.mean(self, axis, keepdims)

    def log_softmax(self, axis: int = -1) -> Any:
        return arrays.log_softmax(self, axis)

    def __getitem__(self, index: Any) -> Any:
        return arrays.getitem(self, index)
