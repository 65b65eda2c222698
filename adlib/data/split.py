"""Deterministic train/test splitting of a labelled data set.

With N samples and test fraction f the test part gets n_test = floor(f N + 1/2) samples.
Stratified splitting keeps each class's share: a class with N_c samples puts floor(f N_c)
or ceil(f N_c) of them in the test part, the rounding chosen by the largest-remainder rule
(classes with the largest fractional parts f N_c - floor(f N_c) round up) so the per-class
counts add up to n_test exactly.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["train_test_split"]


def _check_fraction(test_fraction: float) -> float:
    if isinstance(test_fraction, (bool, np.bool_)) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a real number, got {type(test_fraction).__name__}")
    f = float(test_fraction)
    if not (math.isfinite(f) and 0.0 < f < 1.0):
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    return f


def _check_seed(seed: int) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return int(seed)


def _stratified_indices(
    y: np.ndarray, n_test: int, f: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Test and train indices with per-class test counts from the largest-remainder rule."""
    _, inverse = np.unique(y, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse)
    quota = f * counts
    per_class = np.floor(quota).astype(np.int64)
    extra = n_test - int(per_class.sum())
    # Stable sort: equal remainders round up in class order, so the split is reproducible.
    per_class[np.argsort(per_class - quota, kind="stable")[:extra]] += 1
    test_parts, train_parts = [], []
    for c, k in enumerate(per_class):
        members = rng.permutation(np.flatnonzero(inverse == c))
        test_parts.append(members[:k])
        train_parts.append(members[k:])
    return np.concatenate(test_parts), np.concatenate(train_parts)


def train_test_split(
    X: np.ndarray,
    y: np.ndarray,
    test_fraction: float = 0.2,
    seed: int = 0,
    *,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``(X, y)`` into ``(X_train, X_test, y_train, y_test)``.

    Rows of X and entries of y are paired by their first index; a pair goes whole to one
    side. The two parts are disjoint, together hold every sample once, and come back in a
    shuffled order. The same inputs and ``seed`` always give the same split (numpy's
    ``default_rng(seed)``). With ``stratify=True`` (default) y must be 1-D class labels and
    every class keeps its share, to within one sample, in the test part (see the module
    docstring for the rule). The returned arrays are new arrays, not views of X and y.

    Raises:
        TypeError: ``test_fraction`` not a real number, ``seed`` not an int, ``stratify``
            not a bool.
        ValueError: X or y 0-d, their lengths differ, ``test_fraction`` outside (0, 1),
            negative ``seed``, y not 1-D when stratifying, or a part would be empty.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y must have a sample axis; got shapes X {X.shape}, y {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of samples; got X {X.shape}, y {y.shape}")
    f = _check_fraction(test_fraction)
    rng = np.random.default_rng(_check_seed(seed))
    if not isinstance(stratify, (bool, np.bool_)):
        raise TypeError(f"stratify must be a bool, got {type(stratify).__name__}")
    n = X.shape[0]
    n_test = math.floor(f * n + 0.5)
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_fraction={test_fraction!r} of {n} samples gives {n_test} test and {n - n_test} training"
            " samples; each part needs at least one"
        )
    if stratify:
        if y.ndim != 1:
            raise ValueError(f"stratify=True needs 1-D class labels y, got shape {y.shape}")
        test_idx, train_idx = _stratified_indices(y, n_test, f, rng)
    else:
        perm = rng.permutation(n)
        test_idx, train_idx = perm[:n_test], perm[n_test:]
    train_idx, test_idx = rng.permutation(train_idx), rng.permutation(test_idx)
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]
