"""Stochastic gradient descent, with optional (heavy-ball) momentum.

Plain SGD takes one step against the gradient g = dL/dw of the current mini-batch loss:

    w <- w - lr g.

With momentum mu a velocity v (zero at the start) accumulates past gradients,

    v <- mu v + g,    w <- w - lr v,

which is PyTorch's ``torch.optim.SGD`` (dampening 0, no Nesterov, no weight decay); on the first
step v = g, so both agree with plain SGD there.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from .reverse import ReverseDiff

__all__ = ["SGD"]


class SGD:
    """SGD over a fixed list of parameters (leaves of the graph, usually ``model.parameters()``).

    Args:
        params: the parameters to update; each must be a leaf :class:`~adlib.ReverseDiff`
            (a :class:`~adlib.nn.Parameter` with ``requires_grad=False`` is left alone).
        lr: learning rate, > 0.
        momentum: mu in [0, 1).
    """

    def __init__(self, params: Iterable[ReverseDiff], lr: float, momentum: float = 0.0) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("SGD got an empty list of parameters")
        seen: set[int] = set()
        for i, p in enumerate(self.params):
            if not isinstance(p, ReverseDiff):
                raise TypeError(f"SGD parameter {i} must be a ReverseDiff/Parameter, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    f"SGD parameter {i} is computed by an operation ({p.op}); only leaves can be updated"
                )
            if id(p) in seen:
                raise ValueError(f"SGD parameter {i} appears twice in the list; it would be updated twice")
            seen.add(id(p))
        self.lr = _real("lr", lr)
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {lr!r}")
        self.momentum = _real("momentum", momentum)
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        self._velocity: dict[int, np.ndarray] = {}

    def step(self) -> None:
        """Update every trainable parameter that has a gradient (parameters without one are skipped)."""
        for p in self.params:
            if p.grad is None or not getattr(p, "requires_grad", True):
                continue
            g = np.asarray(p.grad)
            if np.shape(g) != np.shape(p.value):
                raise ValueError(
                    f"a gradient of shape {np.shape(g)} does not fit a parameter of shape {np.shape(p.value)}"
                )
            if self.momentum:
                v = self._velocity.get(id(p))
                v = g.copy() if v is None else self.momentum * v + g
                self._velocity[id(p)] = v
                g = v
            # A new array, not an in-place update: graphs recorded earlier keep the values they saw.
            new = p.value - self.lr * g
            p.value = new.astype(p.value.dtype, copy=False) if isinstance(p.value, np.ndarray) else float(new)

    def zero_grad(self) -> None:
        """Set ``.grad`` of every parameter to ``None`` (gradients accumulate across backward calls)."""
        for p in self.params:
            p.grad = None


def _real(name: str, x: object) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    if not math.isfinite(float(x)):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return float(x)
