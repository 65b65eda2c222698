"""The derivative table for array operations that are not elementwise.

These primitives give their JVP and VJP directly. For a linear map ``y = L(x)`` (sum, reshape,
transpose, indexing) the JVP is ``L`` applied to the tangent and the VJP is the transpose
``L^T`` applied to the cotangent. Matrix multiplication is bilinear:

    Y = A B,   dY = dA B + A dB,   bar A = bar Y B^T,   bar B = A^T bar Y.

Log-softmax, ``y_i = x_i - log sum_j exp x_j``, has the Jacobian ``I - 1 softmax(x)^T`` along its
axis, so ``y_dot = x_dot - <softmax, x_dot>`` and ``bar x = bar y - softmax * sum(bar y)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from .calculus import exp
from .dispatch import apply
from .primitive import Primitive, unbroadcast

Axis = int | tuple[int, ...] | None


def _swap(m: np.ndarray) -> np.ndarray:
    return np.swapaxes(m, -1, -2)


# ---------------------------------------------------------------- matmul


def _matmul_value(a: Any, b: Any) -> Any:
    sa, sb = np.shape(a), np.shape(b)
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul needs arrays of at least one dimension, got shapes {sa} and {sb}")
    inner_a = sa[-1]
    inner_b = sb[0] if len(sb) == 1 else sb[-2]
    if inner_a != inner_b:
        raise ValueError(
            f"matmul shape mismatch: {sa} @ {sb} (the inner dimensions {inner_a} and {inner_b} differ)"
        )
    return np.matmul(a, b)


def matmul_tangent(a: Any, b: Any, ta: Any, tb: Any) -> Any:
    """The tangent of ``a @ b`` by the product rule, ``d(A B) = dA B + A dB``.

    A tangent that is None (its argument does not move) drops its term; the result is None when
    both are. Every product goes through :func:`matmul`, so nested forward mode sees it.
    """
    out = None
    if ta is not None:
        out = matmul(ta, b)
    if tb is not None:
        term = matmul(a, tb)
        out = term if out is None else out + term
    return out


def _matmul_jvp(tangents: tuple[Any, ...], ans: Any, a: Any, b: Any) -> Any:
    return matmul_tangent(a, b, *tangents)


def _matmul_vjp(g: Any, ans: Any, wanted: tuple[Any, ...], a: Any, b: Any) -> tuple[Any, Any]:
    # Promote vectors to matrices (a row for a, a column for b) so one formula covers every case.
    # (A constant argument may be a list: the value accepted it, so the cotangent must too.)
    a, b = np.asarray(a), np.asarray(b)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    g2 = np.reshape(g, (*np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]), a2.shape[-2], b2.shape[-1]))
    ga = gb = None
    if wanted[0]:
        # unbroadcast sums the batch axes that matmul broadcast a over.
        ga = unbroadcast(g2 @ _swap(b2), a2.shape).reshape(a.shape)
    if wanted[1]:
        gb = unbroadcast(_swap(a2) @ g2, b2.shape).reshape(b.shape)
    return ga, gb


MATMUL = Primitive("matmul", _matmul_value, jvp_rule=_matmul_jvp, vjp_rule=_matmul_vjp, template="{0} @ {1}")

# ---------------------------------------------------------------- reductions


def _normalise_axis(axis: Axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for ax in axes:
        if not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"axis {ax} is out of range for an array of {ndim} dimensions")
    return tuple(sorted(ax % max(ndim, 1) for ax in axes))


def _expand_cotangent(g: Any, x: Any, axis: Axis, keepdims: bool) -> np.ndarray:
    """Broadcast a reduced cotangent back over the axes of ``x`` the reduction removed.

    A Python-float cotangent (the seed 1 of ``backward``) takes the dtype of ``x``, so float32
    inputs get float32 gradients.
    """
    shape = np.shape(x)
    g = np.asarray(g, dtype=np.result_type(g, np.asarray(x).dtype))
    if not keepdims and shape:
        g = np.expand_dims(g, _normalise_axis(axis, len(shape)))
    return np.broadcast_to(g, shape)


SUM = Primitive(
    "sum",
    lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims),
    jvp_rule=lambda t, ans, x, axis=None, keepdims=False: sum(t[0], axis=axis, keepdims=keepdims),
    vjp_rule=lambda g, ans, wanted, x, axis=None, keepdims=False: (_expand_cotangent(g, x, axis, keepdims),),
    template="Σ {0}",
)


def _count(shape: tuple[int, ...], axis: Axis) -> int:
    return int(np.prod([shape[ax] for ax in _normalise_axis(axis, len(shape))])) if shape else 1


MEAN = Primitive(
    "mean",
    lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims),
    jvp_rule=lambda t, ans, x, axis=None, keepdims=False: mean(t[0], axis=axis, keepdims=keepdims),
    vjp_rule=lambda g, ans, wanted, x, axis=None, keepdims=False: (
        _expand_cotangent(g / _count(np.shape(x), axis), x, axis, keepdims),
    ),
    template="mean {0}",
)

# ---------------------------------------------------------------- shape changes and indexing


def _reshape_value(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    try:
        return np.reshape(x, shape)
    except ValueError:
        raise ValueError(f"cannot reshape an array of shape {np.shape(x)} into shape {shape}") from None


RESHAPE = Primitive(
    "reshape",
    _reshape_value,
    jvp_rule=lambda t, ans, x, shape: reshape(t[0], shape),
    vjp_rule=lambda g, ans, wanted, x, shape: (np.reshape(g, np.shape(x)),),
    template="reshape {0}",
)


def _transpose_vjp(
    g: Any, ans: Any, wanted: tuple[Any, ...], x: Any, axes: tuple[int, ...] | None = None
) -> tuple[Any]:
    if axes is None:
        return (np.transpose(g),)
    # The inverse permutation; negative axes (-1 for the last) are normalised first, since
    # argsort would read them as the smallest positions.
    ndim = np.ndim(g)
    return (np.transpose(g, np.argsort([ax % ndim for ax in axes])),)


TRANSPOSE = Primitive(
    "transpose",
    lambda x, axes=None: np.transpose(x, axes),
    jvp_rule=lambda t, ans, x, axes=None: transpose(t[0], axes),
    vjp_rule=_transpose_vjp,
    template="{0}ᵀ",
)


def _getitem_vjp(g: Any, ans: Any, wanted: tuple[Any, ...], x: Any, index: Any) -> tuple[np.ndarray]:
    out = np.zeros(np.shape(x), dtype=x.dtype if x.dtype.kind == "f" else np.float64)
    # add.at, not assignment: an entry picked twice (x[[0, 0]]) gets both contributions.
    np.add.at(out, index, g)
    return (out,)


GETITEM = Primitive(
    "getitem",
    lambda x, index: x[index],
    jvp_rule=lambda t, ans, x, index: getitem(t[0], index),
    vjp_rule=_getitem_vjp,
    template="{0}[…]",
)

# ---------------------------------------------------------------- log-softmax


def _log_softmax_jvp(t: tuple[Any, ...], ans: Any, x: Any, axis: int = -1) -> Any:
    softmax = exp(ans)
    return t[0] - sum(t[0] * softmax, axis=axis, keepdims=True)


LOG_SOFTMAX = Primitive(
    "log_softmax",
    lambda x, axis=-1: x - special.logsumexp(x, axis=axis, keepdims=True),
    jvp_rule=_log_softmax_jvp,
    vjp_rule=lambda g, ans, wanted, x, axis=-1: (g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True),),
    template="log_softmax {0}",
)

# ---------------------------------------------------------------- the generic functions


def matmul(a: Any, b: Any) -> Any:
    """Matrix product a @ b (numpy's rules for vectors and stacks of matrices)."""
    return apply(MATMUL, a, b)


def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Sum over ``axis`` (all axes by default)."""
    return apply(SUM, x, axis=axis, keepdims=keepdims)


def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Mean over ``axis`` (all axes by default)."""
    return apply(MEAN, x, axis=axis, keepdims=keepdims)


def reshape(x: Any, shape: int | tuple[int, ...]) -> Any:
    """The same entries in a new shape."""
    return apply(RESHAPE, x, shape=(shape,) if isinstance(shape, int) else tuple(shape))


def transpose(x: Any, axes: tuple[int, ...] | None = None) -> Any:
    """Permute axes (reverse them by default)."""
    return apply(TRANSPOSE, x, axes=axes)


def getitem(x: Any, index: Any) -> Any:
    """``x[index]`` with numpy indexing (slices, integer arrays, tuples of them)."""
    return apply(GETITEM, x, index=index)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """log softmax(x) along ``axis``, computed as x - logsumexp(x): no overflow for large x."""
    return apply(LOG_SOFTMAX, x, axis=axis)
