"""Mini-batch training: batches, epochs, a train loop and accuracy.

The procedure of the lectures for extracting mini-batches:

1. shuffle the whole data set;
2. cut it into consecutive blocks of M = ``batch_size`` samples and take one SGD step per block;
3. after the last block, go back to 1.

One full pass is an *epoch*: with N samples it has ceil(N / M) steps, the last block holding the
N - M floor(N / M) left-over samples when M does not divide N (it is kept, so every sample is
used exactly once per epoch). Each step minimises the mini-batch estimate of the loss,

    J(w) ~ (1/M) sum_{i in batch} loss(f(x_i; w), y_i),

whose gradient is an unbiased but noisy estimate of the full gradient; a smaller M means more,
cheaper, noisier steps per epoch.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .dispatch import raw
from .nn.layers import Module
from .nn.losses import cross_entropy
from .optim import SGD

__all__ = ["History", "accuracy", "evaluate_loss", "iterate_minibatches", "train"]


def _int_at_least(name: str, n: Any, low: int) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    if n < low:
        raise ValueError(f"{name} must be at least {low}, got {n}")
    return int(n)


def _check_data(X: Any, y: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{where}: X and y need a sample axis; got shapes X {X.shape}, y {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{where}: X has {X.shape[0]} samples (shape {X.shape}) but y has {y.shape[0]} (shape {y.shape})"
        )
    if X.shape[0] == 0:
        raise ValueError(f"{where}: the data set is empty")
    return X, y


def iterate_minibatches(
    X: Any, y: Any, batch_size: int, rng: np.random.Generator | int | None = None, shuffle: bool = True
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield the ``(X_batch, y_batch)`` pairs of one epoch.

    With ``shuffle=True`` the order is a fresh permutation drawn from ``rng`` (a numpy Generator,
    or an int seed); pass the same Generator every epoch to get a different order each time. The
    last batch is smaller when ``batch_size`` does not divide the number of samples.
    """
    X, y = _check_data(X, y, "iterate_minibatches")
    m = _int_at_least("batch_size", batch_size, 1)
    n = X.shape[0]
    if shuffle:
        if rng is None:
            raise ValueError("iterate_minibatches: shuffle=True needs rng (a numpy Generator or an int seed)")
        gen = (
            rng
            if isinstance(rng, np.random.Generator)
            else np.random.default_rng(_int_at_least("rng", rng, 0))
        )
        order = gen.permutation(n)
    else:
        order = np.arange(n)
    for start in range(0, n, m):
        idx = order[start : start + m]
        yield X[idx], y[idx]


def accuracy(model: Callable[[Any], Any], X: Any, y: Any) -> float:
    """The fraction of samples whose largest output (logit) is at the true class."""
    X, y = _check_data(X, y, "accuracy")
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise TypeError(f"accuracy: y must be 1-D integer labels, got dtype {y.dtype} and shape {y.shape}")
    out = np.asarray(raw(model(X)))
    if out.ndim != 2 or out.shape[0] != y.shape[0]:
        raise ValueError(f"accuracy: the model returned shape {out.shape}; expected ({y.shape[0]}, classes)")
    return float(np.mean(np.argmax(out, axis=1) == y))


def evaluate_loss(
    model: Callable[[Any], Any], X: Any, y: Any, loss: Callable[[Any, Any], Any] = cross_entropy
) -> float:
    """The loss of ``model`` on all of (X, y), as a float."""
    X, y = _check_data(X, y, "evaluate_loss")
    return float(raw(loss(model(X), y)))


@dataclass
class History:
    """What :func:`train` records, one entry per epoch (index 0 = after the first epoch).

    Attributes:
        train_loss: loss on the whole training set after the epoch.
        running_loss: mean of the epoch's mini-batch losses (weighted by batch size), measured as
            the weights changed; noisier and a little behind ``train_loss``.
        train_accuracy, val_loss, val_accuracy: after the epoch (validation only when given;
            accuracies only for integer labels).
        epoch_seconds: wall time of the epoch's SGD steps (evaluation not included).
        elapsed: cumulative training wall time at the end of each epoch.
        step_losses: every mini-batch loss, in order (the noisy SGD curve).
        steps_per_epoch: ceil(N / batch_size).
        initial_train_loss: training-set loss before the first step.
    """

    batch_size: int
    steps_per_epoch: int
    initial_train_loss: float
    train_loss: list[float] = field(default_factory=list)
    running_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)
    step_losses: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> list[int]:
        """1, 2, ..., number of epochs run."""
        return list(range(1, len(self.train_loss) + 1))


def train(
    model: Module,
    X: Any,
    y: Any,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float = 0.0,
    seed: int = 0,
    X_val: Any = None,
    y_val: Any = None,
    loss: Callable[[Any, Any], Any] = cross_entropy,
) -> History:
    """Train ``model`` with mini-batch SGD for ``epochs`` passes over (X, y).

    Each epoch shuffles with a generator seeded once by ``seed`` (so runs are reproducible and
    every epoch has its own order), then for each mini-batch: zero the gradients, compute the
    loss, ``backward()``, take an SGD step. The model's parameters are updated in place (each
    parameter's ``.value`` is replaced). Returns a :class:`History`.
    """
    X, y = _check_data(X, y, "train")
    n_epochs = _int_at_least("epochs", epochs, 1)
    m = _int_at_least("batch_size", batch_size, 1)
    seed = _int_at_least("seed", seed, 0)
    if (X_val is None) != (y_val is None):
        raise ValueError("train: give both X_val and y_val, or neither")
    if X_val is not None:
        X_val, y_val = _check_data(X_val, y_val, "train (validation data)")
    classify = y.dtype.kind in "iu" and y.ndim == 1
    opt = SGD(model.parameters(), lr=lr, momentum=momentum)
    gen = np.random.default_rng(seed)
    n = X.shape[0]
    hist = History(
        batch_size=m, steps_per_epoch=-(-n // m), initial_train_loss=evaluate_loss(model, X, y, loss)
    )
    total = 0.0
    for _ in range(n_epochs):
        weighted = 0.0
        start = time.perf_counter()
        for xb, yb in iterate_minibatches(X, y, m, gen):
            opt.zero_grad()
            batch_loss = loss(model(xb), yb)
            batch_loss.backward()
            opt.step()
            value = float(raw(batch_loss))
            hist.step_losses.append(value)
            weighted += value * xb.shape[0]
        seconds = time.perf_counter() - start
        total += seconds
        hist.epoch_seconds.append(seconds)
        hist.elapsed.append(total)
        hist.running_loss.append(weighted / n)
        hist.train_loss.append(evaluate_loss(model, X, y, loss))
        if classify:
            hist.train_accuracy.append(accuracy(model, X, y))
        if X_val is not None:
            hist.val_loss.append(evaluate_loss(model, X_val, y_val, loss))
            if classify:
                hist.val_accuracy.append(accuracy(model, X_val, y_val))
    return hist
