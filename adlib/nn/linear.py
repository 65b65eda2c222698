"""The linear (fully connected) layer Y = X W + b: its forward map and its hand-derived backward.

Convention (the lectures'): a batch of B row vectors X (B, H1), weights W (H1, H2), bias b (H2,),
output Y (B, H2) with

    Y_ik = sum_j X_ij W_jk + b_k.

PyTorch's ``torch.nn.Linear`` stores the transpose, A = W^T of shape (H2, H1), and computes
y = x A^T + b; :meth:`adlib.nn.Linear.from_torch` converts between the two.

Backward, one component at a time
---------------------------------
Let L be a scalar loss computed from Y, and G = dL/dY (B, H2) the upstream gradient. By the chain
rule, every entry of Y that X_ij influences contributes:

    dL/dX_ij = sum_i' sum_k G_i'k dY_i'k/dX_ij.

Since Y_i'k = sum_j' X_i'j' W_j'k, the derivative dY_i'k/dX_ij is W_jk when i' = i and 0
otherwise: X_ij only reaches row i of Y. The double sum collapses to an inner product of row i of
G with row j of W:

    dL/dX_ij = sum_k G_ik W_jk = (G W^T)_ij,          so  dL/dX = G W^T        (B, H1).

For the weights, dY_ik/dW_jl = X_ij when l = k and 0 otherwise (W_jl only reaches column l of
Y), and each of the B rows contributes:

    dL/dW_jl = sum_i G_il X_ij = (X^T G)_jl,          so  dL/dW = X^T G        (H1, H2).

For the bias, dY_ik/db_l = [k = l] for every row i, so dL/db = sum_i G_i:  (H2,).

Each gradient has the shape of the thing it differentiates (dL/dX like X, dL/dW like W). (The
lecture's summary slide lists both as B x H2; that is a slip, the shapes are B x H1 and H1 x H2.)

Why the Jacobians are never formed
----------------------------------
Flattened, dY/dX is a (B H2) x (B H1) matrix and dY/dW a (B H2) x (H1 H2) matrix, almost all
zeros. For the middle layer of the lectures' 784-512-512-10 MNIST network with a batch of 64
(B = 64, H1 = H2 = 512):

    dY/dX: 32,768 x 32,768  = 2^30 ~ 1.07e9 entries  (8 GiB in float64)
    dY/dW: 32,768 x 262,144 = 2^33 ~ 8.59e9 entries  (64 GiB in float64)

while the products above need only G (32,768 numbers) and two matrix products of
B H1 H2 ~ 1.7e7 multiply-adds each. This is the vector-Jacobian product at work: reverse mode
needs G^T J, never J itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arrays import matmul, matmul_tangent, sum, transpose
from ..dispatch import Box, apply, raw
from ..primitive import Primitive

__all__ = ["LINEAR", "linear_backward", "linear_forward"]


def _checked(name: str, a: Any, ndim: int, where: str) -> Any:
    """Validate one operand: numeric real dtype (ints cast to float64), ``ndim`` axes, no empty axis."""
    if isinstance(a, Box):
        value = raw(a)
    else:
        if isinstance(a, np.generic | int | float | list | tuple) and not isinstance(a, bool | np.bool_):
            a = np.asarray(a)
        if not isinstance(a, np.ndarray):
            raise TypeError(
                f"{where}: {name} must be a numpy array or an adlib value, got {type(a).__name__}"
            )
        value = a
    dtype = np.asarray(value).dtype
    if dtype.kind in "iu" and not isinstance(a, Box):
        a = value = a.astype(np.float64)
    elif dtype.kind != "f":
        raise TypeError(
            f"{where}: {name} has dtype {dtype}; expected real floating point numbers "
            "(integers are cast to float64; bool, complex and object arrays are refused)"
        )
    shape = np.shape(value)
    if len(shape) != ndim:
        raise ValueError(f"{where}: {name} must have {ndim} dimension(s), got shape {shape}")
    if 0 in shape:
        what = "an empty batch" if name in ("X", "dY") and shape[0] == 0 else "an empty axis"
        raise ValueError(f"{where}: {name} of shape {shape} has {what}; nothing to compute")
    return a


# ---------------------------------------------------------------- the primitive


def _linear_value(X: Any, W: Any, b: Any = None) -> Any:
    Y = X @ W
    return Y if b is None else Y + b


def _linear_jvp(tangents: tuple[Any, ...], ans: Any, X: Any, W: Any, b: Any = None) -> Any:
    # Y = X W + b is bilinear in (X, W) and linear in b:  dY = dX W + X dW + db.
    tb = tangents[2] if len(tangents) > 2 else None
    out = matmul_tangent(X, W, tangents[0], tangents[1])
    if tb is not None:
        # Adding zeros of Y's shape spreads db over the batch even when it is the only tangent.
        out = tb + np.zeros(np.shape(raw(ans))) if out is None else out + tb
    return out


def _linear_vjp(g: np.ndarray, ans: Any, wanted: tuple[Any, ...], X: Any, W: Any, b: Any = None) -> tuple:
    # The three formulas derived in the module docstring, each only when its cotangent is needed.
    dX = g @ W.T if wanted[0] else None
    dW = X.T @ g if wanted[1] else None
    if len(wanted) == 2:
        return dX, dW
    db = g.sum(axis=0) if wanted[2] else None
    return dX, dW, db


# No template: a trace shows the node as linear(X, W) or linear(X, W, b).
LINEAR = Primitive("linear", _linear_value, jvp_rule=_linear_jvp, vjp_rule=_linear_vjp)

# ---------------------------------------------------------------- public functions


def linear_forward(X: Any, W: Any, b: Any = None) -> Any:
    """Y = X W (+ b) for X (B, H1), W (H1, H2), b (H2,) or None; returns Y (B, H2).

    Works on numpy arrays and on adlib values (:class:`~adlib.ReverseDiff`,
    :class:`~adlib.ForwardDiff`); with reverse-mode inputs the recorded node's VJP is exactly
    :func:`linear_backward`'s formulas.

    Raises:
        TypeError: an operand is not a real numeric array (bool, complex, object), or not an array.
        ValueError: wrong number of dimensions, an empty batch or axis, or mismatched shapes (the
            message names both shapes).
    """
    where = "linear_forward"
    X = _checked("X", X, 2, where)
    W = _checked("W", W, 2, where)
    xs, ws = np.shape(raw(X)), np.shape(raw(W))
    if xs[1] != ws[0]:
        raise ValueError(
            f"{where}: X has shape {xs} and W has shape {ws}; X's columns ({xs[1]}) must equal W's rows "
            f"({ws[0]}) (W is stored as (in_features, out_features))"
        )
    if b is None:
        return apply(LINEAR, X, W)
    b = _checked("b", b, 1, where)
    bs = np.shape(raw(b))
    if bs != (ws[1],):
        raise ValueError(f"{where}: b has shape {bs} but W has shape {ws}; b must have shape ({ws[1]},)")
    return apply(LINEAR, X, W, b)


def linear_backward(dY: Any, X: Any, W: Any) -> tuple[Any, Any, Any]:
    """Gradients of a scalar loss through Y = X W + b, given dY = dL/dY.

    Returns ``(dX, dW, db)``:

        dX = dY W^T          (B, H1)     dL/dX_ij = sum_k dL/dY_ik W_jk
        dW = X^T dY          (H1, H2)    dL/dW_jk = sum_i X_ij dL/dY_ik
        db = sum_i dY_i      (H2,)       dL/db_k  = sum_i dL/dY_ik

    (db does not depend on whether the forward pass had a bias; ignore it if it had none.)
    No Jacobian is formed; see the module docstring for why, and for the derivation.

    Raises:
        TypeError / ValueError: as :func:`linear_forward`; additionally dY must have shape
            (B, H2) = (X.shape[0], W.shape[1]).
    """
    where = "linear_backward"
    dY = _checked("dY", dY, 2, where)
    X = _checked("X", X, 2, where)
    W = _checked("W", W, 2, where)
    gs, xs, ws = np.shape(raw(dY)), np.shape(raw(X)), np.shape(raw(W))
    if xs[1] != ws[0]:
        raise ValueError(
            f"{where}: X has shape {xs} and W has shape {ws}; X's columns ({xs[1]}) must equal W's rows "
            f"({ws[0]})"
        )
    if gs != (xs[0], ws[1]):
        raise ValueError(
            f"{where}: dY has shape {gs} but X has shape {xs} and W has shape {ws}; "
            f"dY must have the shape of Y = X W, ({xs[0]}, {ws[1]})"
        )
    dX = matmul(dY, transpose(W))
    dW = matmul(transpose(X), dY)
    db = sum(dY, axis=0)
    return dX, dW, db
