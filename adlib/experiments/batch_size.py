"""Choosing the batch size: the same network trained with mini-batches of different sizes.

With N training samples and batch size M an epoch has ceil(N / M) SGD steps. At a fixed learning
rate a small M takes many cheap, noisy steps per epoch, so the loss falls faster *per epoch*; a
large M takes few, accurate steps, each of which processes more data. Per unit of *wall time* the
picture changes: every step pays a fixed overhead (here adlib's Python graph building, on a GPU
the kernel launches), so tiny batches waste time on overhead while large ones use the vectorised
matrix products better. The lectures' advice follows: pick M to fit the hardware, usually a
power of two (32, 64, 128, ...); M = 1 is online (streaming) learning.

Every run starts from the same initial weights and sees the same train/test split; only the
batch size differs. Wall times are measured, so they vary from machine to machine and run to run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from adlib.data import load_digits, train_test_split
from adlib.nn.layers import MLP
from adlib.training import History, train

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BatchSizeResult", "batch_size_experiment", "plot_batch_size"]


@dataclass(frozen=True)
class BatchSizeResult:
    """One training :class:`~adlib.training.History` per batch size, plus the setting.

    ``loss_vs_epoch(m)`` and ``loss_vs_time(m)`` give curves that start at the untrained
    network (epoch 0, time 0).
    """

    batch_sizes: tuple[int, ...]
    histories: dict[int, History]
    sizes: tuple[int, ...]
    lr: float
    epochs: int

    def _history(self, batch_size: int) -> History:
        if batch_size not in self.histories:
            raise KeyError(f"no run with batch size {batch_size}; ran {self.batch_sizes}")
        return self.histories[batch_size]

    def loss_vs_epoch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(epochs 0..E, training loss after each epoch, before training at epoch 0)."""
        h = self._history(batch_size)
        return np.arange(len(h.train_loss) + 1), np.array([h.initial_train_loss, *h.train_loss])

    def loss_vs_time(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(cumulative training seconds, training loss at those times), starting at (0, initial loss)."""
        h = self._history(batch_size)
        return np.array([0.0, *h.elapsed]), np.array([h.initial_train_loss, *h.train_loss])


def batch_size_experiment(
    batch_sizes: Sequence[int] = (8, 32, 128, 512),
    epochs: int = 10,
    *,
    lr: float = 0.1,
    momentum: float = 0.0,
    hidden: Sequence[int] = (64,),
    activation: str = "relu",
    seed: int = 0,
) -> BatchSizeResult:
    """Train an MLP on the digits (pixels / 16, 80/20 split) once per batch size.

    Returns the loss against epochs and against wall time for each batch size (validation loss
    and accuracy on the 20% test part are in each History too).
    """
    batch_sizes = tuple(batch_sizes)
    if not batch_sizes:
        raise ValueError("batch_sizes is empty")
    if len(set(batch_sizes)) != len(batch_sizes):
        raise ValueError(f"batch_sizes has repeated entries: {batch_sizes}")
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_fraction=0.2, seed=seed)
    sizes = (X.shape[1], *hidden, 10)
    histories = {}
    for m in batch_sizes:
        model = MLP(sizes, activation, rng=seed)  # the same initial weights for every batch size
        histories[m] = train(
            model, X_train, y_train, epochs, m, lr, momentum=momentum, seed=seed, X_val=X_test, y_val=y_test
        )
    return BatchSizeResult(
        batch_sizes=batch_sizes, histories=histories, sizes=sizes, lr=float(lr), epochs=epochs
    )


def plot_batch_size(result: BatchSizeResult, x: str = "epoch", ax: Axes | None = None) -> Axes:
    """Training loss (log scale) against epochs (``x="epoch"``) or wall time (``x="time"``)."""
    if x not in ("epoch", "time"):
        raise ValueError(f"x must be 'epoch' or 'time', got {x!r}")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    for m in result.batch_sizes:
        xs, loss = result.loss_vs_epoch(m) if x == "epoch" else result.loss_vs_time(m)
        ax.semilogy(xs, loss, marker="o" if x == "epoch" else None, label=f"batch size {m}")
    ax.set_xlabel("epoch" if x == "epoch" else "training wall time (s)")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_title(
        f"SGD on the digits, lr = {result.lr:g}: loss against {'epochs' if x == 'epoch' else 'time'}"
    )
    ax.legend(fontsize=8)
    return ax
