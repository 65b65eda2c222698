"""Loss functions: mean squared error and cross-entropy, on arrays and adlib values alike.

Both return the *mean* over the batch, so the loss (and its gradient's scale) does not grow with
the batch size; this matches PyTorch's default ``reduction="mean"``.

Cross-entropy of logits z (B, C) against integer labels y (B,):

    L = -(1/B) sum_i log softmax(z_i)_{y_i} = (1/B) sum_i (logsumexp(z_i) - z_{i, y_i}),

computed with :func:`adlib.log_softmax` (z - logsumexp z), which never overflows. Its gradient is
dL/dz_i = (softmax(z_i) - e_{y_i}) / B.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arrays import getitem, log_softmax, mean
from ..dispatch import Box, raw

__all__ = ["cross_entropy", "mse"]


def _plain_or_box(name: str, a: Any, where: str) -> Any:
    if isinstance(a, Box):
        return a
    arr = np.asarray(a)
    if arr.dtype.kind in "iu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"{where}: {name} must hold real numbers, got dtype {arr.dtype}")
    return arr


def mse(pred: Any, target: Any) -> Any:
    """Mean squared error (1/N) sum_n (pred_n - target_n)^2 over all N entries.

    ``pred`` and ``target`` must have the same shape: no broadcasting, because a (B, 1)
    prediction against a (B,) target would silently broadcast to (B, B).

    Raises:
        ValueError: shapes differ, or there are no entries.
        TypeError: non-real dtypes.
    """
    pred = _plain_or_box("pred", pred, "mse")
    target = _plain_or_box("target", target, "mse")
    ps, ts = np.shape(raw(pred)), np.shape(raw(target))
    if ps != ts:
        raise ValueError(f"mse: pred has shape {ps} but target has shape {ts}; they must be equal")
    if int(np.prod(ps, dtype=np.int64)) == 0:
        raise ValueError(f"mse: pred of shape {ps} is empty; the mean of no entries is undefined")
    diff = pred - target
    return mean(diff * diff)


def cross_entropy(logits: Any, labels: Any) -> Any:
    """Mean cross-entropy of logits (B, C) against integer class labels (B,) in 0..C-1.

    Raises:
        TypeError: labels are not integers (floats and bools are refused, not cast), or logits
            are not real numbers.
        ValueError: logits not 2-D, labels not 1-D, batch sizes differ, an empty batch, or a
            label outside 0..C-1.
    """
    logits = _plain_or_box("logits", logits, "cross_entropy")
    if isinstance(labels, Box):
        raise TypeError("cross_entropy: labels are data, not something to differentiate; pass an int array")
    y = np.asarray(labels)
    if y.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integers, got dtype {y.dtype}")
    ls = np.shape(raw(logits))
    if len(ls) != 2:
        raise ValueError(f"cross_entropy: logits must have shape (B, C), got {ls}")
    if y.ndim != 1:
        raise ValueError(f"cross_entropy: labels must have shape (B,), got {y.shape}")
    if y.shape[0] != ls[0]:
        raise ValueError(f"cross_entropy: logits have shape {ls} but labels have shape {y.shape}; B differs")
    if ls[0] == 0:
        raise ValueError("cross_entropy: empty batch (B = 0); the mean over no samples is undefined")
    n_classes = ls[1]
    bad = (y < 0) | (y >= n_classes)
    if bad.any():
        raise ValueError(
            f"cross_entropy: labels must lie in 0..{n_classes - 1} for {n_classes} classes; "
            f"found {y[bad][:5].tolist()}"
        )
    log_probs = log_softmax(logits, axis=1)
    picked = getitem(log_probs, (np.arange(ls[0]), y))
    return -mean(picked)
