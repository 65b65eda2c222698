"""Expected values computed independently of the code under test, and the comparison.

Nothing here uses adlib, so it can serve as the source of expected values:

* :func:`central_jacobian` is a float64 five-point central difference written out here (not
  ``adlib.numerical``). For a step :math:`h`,

  .. math:: f'(x) \\approx \\frac{8\\,[f(x+h) - f(x-h)] - [f(x+2h) - f(x-2h)]}{12 h},

  whose truncation error is :math:`O(h^4 f^{(5)})` and rounding error :math:`O(\\epsilon f / h)`;
  with :math:`h = 10^{-3} \\max(|x|, 0.1)` both stay far below the ``RTOL_FD`` tolerance on the
  domains :mod:`helpers.strategies` draws from.
* :func:`torch_vjp` and :func:`torch_jvp` ask PyTorch (float64) for the same products.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

# Exact rules against torch / the other mode: only rounding differs.
RTOL_EXACT = 1e-10
ATOL_EXACT = 1e-12
# Central differences: truncation and rounding error of the stencil.
RTOL_FD = 1e-6
ATOL_FD = 1e-6


# ---------------------------------------------------------------- reference derivatives


def _five_point(g: Callable[[float], np.ndarray], h: float) -> np.ndarray:
    return (8.0 * (g(h) - g(-h)) - (g(2.0 * h) - g(-2.0 * h))) / (12.0 * h)


def central_jacobian(f: Callable[..., Any], args: Sequence[Any], argnum: int) -> np.ndarray:
    """d f / d args[argnum] by five-point central differences in float64; shape out + in."""
    base = [np.asarray(a, dtype=np.float64) for a in args]
    x = base[argnum]
    out_shape = np.shape(f(*base))
    columns = []
    for i in range(x.size):

        def along(step: float, i: int = i) -> np.ndarray:
            moved = x.copy().reshape(-1)
            moved[i] += step
            call = list(base)
            call[argnum] = moved.reshape(x.shape)
            return np.asarray(f(*call), dtype=np.float64).reshape(-1)

        h = 1e-3 * max(abs(float(x.reshape(-1)[i])), 0.1)
        columns.append(_five_point(along, h))
    if not columns:
        return np.zeros(out_shape + x.shape)
    return np.stack(columns, axis=-1).reshape(out_shape + x.shape)


def central_derivative(f: Callable[[float], float], x: float, h: float | None = None) -> float:
    """f'(x) of a scalar function by the same five-point stencil (step ``h``, by default as above)."""
    h = 1e-3 * max(abs(x), 0.1) if h is None else h
    return float(_five_point(lambda s: np.asarray(f(x + s), dtype=np.float64), h))


# ---------------------------------------------------------------- torch float64


def to_torch(x: Any, requires_grad: bool = False) -> torch.Tensor:
    """A float64 tensor holding ``x`` (numbers become 0-d tensors)."""
    return torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, requires_grad=requires_grad)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """The float64 array under a tensor."""
    return t.detach().numpy().astype(np.float64)


def torch_vjp(f: Callable[..., torch.Tensor], args: Sequence[Any], cotangent: Any) -> list[np.ndarray]:
    """Cotangents ``ybar^T J_i`` of ``f`` for every argument, by torch.autograd.grad in float64."""
    inputs = [to_torch(a, requires_grad=True) for a in args]
    out = f(*inputs)
    grads = torch.autograd.grad(out, inputs, grad_outputs=to_torch(cotangent), allow_unused=True)
    return [np.zeros(np.shape(a)) if g is None else to_numpy(g) for a, g in zip(args, grads, strict=True)]


def torch_jvp(
    f: Callable[..., torch.Tensor], args: Sequence[Any], tangents: Sequence[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """``(f(args), J · tangents)`` by torch.func.jvp (forward-mode AD in torch) in float64."""
    value, tangent = torch.func.jvp(f, tuple(to_torch(a) for a in args), tuple(to_torch(t) for t in tangents))
    return to_numpy(value), to_numpy(tangent)


def torch_value(f: Callable[..., torch.Tensor], args: Sequence[Any]) -> np.ndarray:
    """``f(args)`` evaluated by torch in float64."""
    with torch.no_grad():
        return to_numpy(f(*(to_torch(a) for a in args)))


# ---------------------------------------------------------------- comparisons


def assert_close(actual: Any, expected: Any, rtol: float = RTOL_EXACT, atol: float = ATOL_EXACT) -> None:
    """Equal shapes (no broadcasting a scalar against an array) and entries within tolerance."""
    actual_arr = np.asarray(actual, dtype=np.float64)
    expected_arr = np.asarray(expected, dtype=np.float64)
    assert actual_arr.shape == expected_arr.shape, (
        f"shape {actual_arr.shape} != expected {expected_arr.shape}"
    )
    # The quick test first; numpy's assert (slow, but with a good report) only on failure.
    if not np.all(np.abs(actual_arr - expected_arr) <= atol + rtol * np.abs(expected_arr)):
        np.testing.assert_allclose(actual_arr, expected_arr, rtol=rtol, atol=atol)
