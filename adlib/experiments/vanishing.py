"""Vanishing gradients: the lectures' Figure 5, reproduced on the digits.

Backpropagating through an elementwise activation multiplies the adjoint by phi'(s) entry by
entry, and through a linear layer by W^T. Going from the loss back to layer l the gradient of
W_l is

    dL/dW_l = h_{l-1}^T delta_l,   delta_l = (delta_{l+1} W_{l+1}^T) * phi'(s_l),

so every hidden layer between W_l and the loss contributes one factor W^T diag(phi'(s)). For
the sigmoid, phi' = sigma(1 - sigma) <= 1/4, and with weights drawn from U[-0.5, 0.5] (standard
deviation 1/sqrt(12) ~ 0.29) such a factor shrinks the adjoint at every layer for the widths
used here, so the gradient norm decays geometrically towards the input layer. ReLU's
derivative is 1 on the active units, so the factor stays near one and the norms stay level.

The setting follows the lecture: 5 hidden layers, every weight (and bias) drawn from
U[-0.5, 0.5], cross-entropy on a few examples. The width is not given there; 32 units per hidden
layer is used by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from adlib.data import load_digits
from adlib.nn.layers import MLP
from adlib.nn.losses import cross_entropy

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "COMPARED_ACTIVATIONS",
    "VanishingResult",
    "compare_activations",
    "plot_vanishing_gradients",
    "uniform_init",
    "vanishing_gradients",
]

#: Activations compared by default (all single-argument ones of ``adlib.activations.ACTIVATIONS``).
COMPARED_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus")


@dataclass(frozen=True)
class VanishingResult:
    """Gradient norms of one network.

    Attributes:
        activation: the hidden activation.
        sizes: the layer widths, input first, e.g. (64, 32, 32, 32, 32, 32, 10).
        grad_norms: Frobenius norm of dL/dW_l for each linear layer l, input layer first
            (depth + 1 entries: the hidden layers, then the output layer).
        loss: the cross-entropy the gradients belong to.
    """

    activation: str
    sizes: tuple[int, ...]
    grad_norms: np.ndarray
    loss: float

    @property
    def ratio(self) -> float:
        """grad_norms[0] / grad_norms[-1]: how much smaller the input layer's gradient is."""
        return float(self.grad_norms[0] / self.grad_norms[-1])


def uniform_init(half_width: float) -> Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]:
    """An initialiser for :class:`adlib.nn.Linear` drawing from U[-half_width, half_width]."""
    if not half_width > 0:
        raise ValueError(f"half_width must be positive, got {half_width!r}")

    def init(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return rng.uniform(-half_width, half_width, size=shape)

    return init


def vanishing_gradients(
    activation: str = "sigmoid",
    depth: int = 5,
    *,
    width: int = 32,
    n_samples: int = 16,
    seed: int = 0,
    init_range: float = 0.5,
) -> VanishingResult:
    """One backward pass through a deep MLP on ``n_samples`` digits; the weight-gradient norm per layer.

    Args:
        activation: a name from ``adlib.activations.ACTIVATIONS`` (or ``"prelu"``, ``"swish"``).
        depth: number of hidden layers (5 in the lecture).
        width: units per hidden layer.
        n_samples: how many digits (drawn with ``seed``) the cross-entropy averages over.
        seed: seeds both the choice of samples and the weights.
        init_range: weights and biases are drawn from U[-init_range, init_range].
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive int, got {depth!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    X, y = load_digits()
    if n_samples > X.shape[0]:
        raise ValueError(f"n_samples={n_samples} exceeds the {X.shape[0]} digits available")
    rng = np.random.default_rng(seed)
    pick = rng.choice(X.shape[0], size=n_samples, replace=False)
    xb, yb = X[pick] / 16.0, y[pick]
    sizes = (X.shape[1], *([width] * depth), 10)
    model = MLP(sizes, activation, rng=rng, init=uniform_init(init_range))
    loss = cross_entropy(model(xb), yb)
    loss.backward()
    norms = np.array([np.linalg.norm(layer.weight.grad) for layer in model.linears])
    return VanishingResult(activation=activation, sizes=sizes, grad_norms=norms, loss=float(loss.value))


def compare_activations(
    activations: Sequence[str] = COMPARED_ACTIVATIONS, **kwargs: Any
) -> dict[str, VanishingResult]:
    """:func:`vanishing_gradients` for each activation, with the same data and weights (same seed)."""
    return {name: vanishing_gradients(name, **kwargs) for name in activations}


def plot_vanishing_gradients(
    results: VanishingResult | Mapping[str, VanishingResult], ax: Axes | None = None
) -> Axes:
    """Gradient norm per layer (log scale), one line per activation; returns the axes."""
    if isinstance(results, VanishingResult):
        results = {results.activation: results}
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    depth = None
    for name, res in results.items():
        layers = np.arange(1, len(res.grad_norms) + 1)
        ax.semilogy(layers, res.grad_norms, marker="o", label=name)
        depth = len(res.sizes) - 2
    ax.set_xlabel("linear layer (1 = input layer, last = output layer)")
    ax.set_ylabel("norm of dL/dW (Frobenius)")
    ax.set_title(f"Gradient norms with {depth} hidden layers, weights ~ U[-0.5, 0.5]")
    ax.legend(fontsize=8)
    return ax
