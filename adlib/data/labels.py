"""One-hot encoding of integer class labels.

For labels y_1..y_N in {0, ..., K-1} the one-hot matrix E is N x K with
E[n, k] = 1 if y_n = k else 0, so each row sums to 1 and argmax_k E[n, k] = y_n.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["one_hot"]


def one_hot(y: np.ndarray, num_classes: int = 10, *, dtype: DTypeLike = np.float64) -> np.ndarray:
    """Return the (N, num_classes) one-hot matrix of the 1-D integer labels ``y``.

    E[n, k] = 1 when y[n] == k, else 0; the result has ``dtype`` (float64 by default).

    Raises:
        TypeError: ``y`` does not have an integer dtype (bool and float labels are
            refused rather than cast), or ``num_classes`` is not an int.
        ValueError: ``y`` is not 1-D, ``num_classes`` < 1, or a label lies outside
            0..num_classes-1.
    """
    labels = np.asarray(y)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels y must have an integer dtype, got {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"labels y must be 1-D, got shape {labels.shape}")
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise ValueError(f"labels must lie in 0..{num_classes - 1}; found {bad[:5].tolist()}")
    encoded = np.zeros((labels.shape[0], int(num_classes)), dtype=dtype)
    encoded[np.arange(labels.shape[0]), labels] = 1
    return encoded
