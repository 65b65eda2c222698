"""Finite differences: scalar differences, gradients and Jacobians, with an evaluation counter."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

#: Machine epsilon of float64, u = 2^-52.
EPS: float = float(np.finfo(np.float64).eps)

Method = Literal["forward", "central"]

_METHODS = ("forward", "central")


class CountingFunction:
    """Wrap a function and count how often it is called.

    ``CountingFunction(f)(*args)`` returns ``f(*args)`` and increments ``calls`` by one. Use it
    to check the cost of a finite-difference gradient: n + 1 calls (forward) or 2n (central).
    """

    def __init__(self, f: Callable[..., Any]) -> None:
        if not callable(f):
            raise TypeError(f"CountingFunction needs a callable, got {type(f).__name__}")
        self.f = f
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.f(*args, **kwargs)

    def reset(self) -> None:
        """Set the call counter back to zero."""
        self.calls = 0

    def __repr__(self) -> str:
        return f"CountingFunction({getattr(self.f, '__name__', self.f)!r}, calls={self.calls})"


# --------------------------------------------------------------------------- validation helpers


def _check_callable(f: Any, name: str = "f") -> None:
    if not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__}")


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise ValueError(f"method must be 'forward' or 'central', got {method!r}")


def _check_step(h: Any, name: str = "h") -> float:
    if isinstance(h, bool) or not isinstance(h, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(h).__name__}")
    h = float(h)
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {h!r}")
    return h


def _as_float_array(x: Any, name: str = "x") -> np.ndarray:
    """A float64 *copy* of x; complex, non-numeric and non-finite inputs are rejected."""
    try:
        arr = np.array(x)  # np.array copies, so the caller's x is never touched
    except Exception as exc:  # e.g. a torch tensor that requires grad
        raise TypeError(f"{name} must be convertible to a numpy array, got {type(x).__name__}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype} ({type(x).__name__})")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (inf or nan)")
    return arr


def _as_real_output(value: Any, what: str) -> np.ndarray:
    """The output of f as a float64 array (not copied further); rejects complex/object outputs."""
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise TypeError(f"{what} must be a number or array, got {type(value).__name__}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_
    ):
        raise TypeError(f"{what} must be real-valued, got dtype {arr.dtype} ({type(value).__name__})")
    return arr.astype(np.float64, copy=False)


def _scalar_output(value: Any, what: str = "f(x)") -> float:
    arr = _as_real_output(value, what)
    if arr.shape != ():
        raise ValueError(
            f"{what} must be a scalar (f: R^n -> R), but it returned an array of shape {arr.shape}; "
            "use numerical_jacobian for vector-valued functions"
        )
    return float(arr)


def _steps(x: np.ndarray, h: Any, method: str) -> np.ndarray:
    """Per-coordinate steps: h (scalar or array of x's shape), or the default scaled step.

    The default is h_i = c * max(1, |x_i|) with c = sqrt(u) (forward) or u^(1/3) (central): the
    optimal order of the step, scaled so that x_i + h_i changes x_i by a fixed *relative* amount
    when |x_i| is large.
    """
    if h is None:
        c = math.sqrt(EPS) if method == "forward" else EPS ** (1.0 / 3.0)
        return c * np.maximum(1.0, np.abs(x))
    if np.ndim(h) == 0:
        return np.full(x.shape, _check_step(h))
    steps = _as_float_array(h, "h")
    if steps.shape != x.shape:
        raise ValueError(f"h must be a scalar or have the shape of x: h has shape {steps.shape}, x {x.shape}")
    if not np.all(steps > 0):
        raise ValueError("every step in h must be > 0")
    return steps


# --------------------------------------------------------------------------- scalar differences


def forward_difference(f: Callable[[Any], Any], x: Any, h: float = 1e-6) -> Any:
    """Forward difference (f(x + h) - f(x)) / h, an O(h) approximation of f'(x).

    Taylor: f(x + h) = f(x) + h f'(x) + h^2/2 f''(xi), so the truncation error is
    h/2 |f''(xi)| = O(h); the rounding error is about u |f(x)| / h (u = machine epsilon).

    ``x`` is a float, or a numpy array when f acts elementwise (then every entry gets its own
    difference). Returns a float for scalar x, otherwise an array of x's shape.
    """
    _check_callable(f)
    h = _check_step(h)
    xa = _as_float_array(x)
    result = (_as_real_output(f(xa + h), "f(x + h)") - _as_real_output(f(xa), "f(x)")) / h
    return float(result) if xa.ndim == 0 else result


def central_difference(f: Callable[[Any], Any], x: Any, h: float = 1e-5) -> Any:
    """Central difference (f(x + h) - f(x - h)) / (2h), an O(h^2) approximation of f'(x).

    Taylor: the even powers of h cancel, leaving the truncation error h^2/6 |f'''(xi)| = O(h^2);
    the rounding error is about u |f(x)| / (2h) times a small constant.

    ``x`` is a float, or a numpy array when f acts elementwise. Returns a float for scalar x,
    otherwise an array of x's shape.
    """
    _check_callable(f)
    h = _check_step(h)
    xa = _as_float_array(x)
    result = (_as_real_output(f(xa + h), "f(x + h)") - _as_real_output(f(xa - h), "f(x - h)")) / (2.0 * h)
    return float(result) if xa.ndim == 0 else result


# --------------------------------------------------------------------------- gradients, Jacobians


def _difference_columns(
    f: Callable[[np.ndarray], Any], x0: np.ndarray, steps: np.ndarray, method: str, scalar: bool
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Difference quotients along every e_i, stacked as columns of an (m, n) array.

    Returns the columns and the shape of f's output. Every call of f gets a fresh copy of the
    point, so a function that mutates its input (or keeps a reference to it) can disturb neither
    the computation nor the caller's x. Forward differences call f exactly n + 1 times, central
    ones exactly 2n times (once more only in the degenerate case n = 0, to learn the output shape).
    """

    def evaluate(point: np.ndarray) -> np.ndarray:
        value = f(point)
        if scalar:
            return np.asarray(_scalar_output(value))
        return _as_real_output(value, "f(x)").copy()

    n = x0.size
    flat_x = x0.reshape(-1)
    flat_h = steps.reshape(-1)

    def shifted(i: int, sign: float) -> np.ndarray:
        point = flat_x.copy()
        point[i] += sign * flat_h[i]
        return point.reshape(x0.shape)

    base = evaluate(x0.copy()) if (method == "forward" or n == 0) else None
    out_shape = None if base is None else base.shape
    columns: list[np.ndarray] = []
    for i in range(n):
        plus = evaluate(shifted(i, +1.0))
        if method == "forward":
            minus, denom = base, flat_h[i]
        else:
            minus, denom = evaluate(shifted(i, -1.0)), 2.0 * flat_h[i]
        for value in (plus, minus):
            if out_shape is None:
                out_shape = value.shape
            elif value.shape != out_shape:
                raise ValueError(f"f returned outputs of different shapes {out_shape} and {value.shape}")
        columns.append(((plus - minus) / denom).reshape(-1))
    assert out_shape is not None
    if n == 0:
        return np.zeros((math.prod(out_shape), 0)), out_shape
    return np.stack(columns, axis=1), out_shape


def numerical_gradient(
    f: Callable[[np.ndarray], Any],
    x: Any,
    h: Any = None,
    method: Method = "forward",
    return_calls: bool = False,
) -> np.ndarray | tuple[np.ndarray, int]:
    """Finite-difference gradient of a scalar f: R^n -> R at x (x of any shape).

        forward:  g_i = (f(x + h_i e_i) - f(x)) / h_i                exactly n + 1 calls of f
        central:  g_i = (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i)  exactly 2n calls of f

    ``h`` is a scalar step, an array of x's shape (one step per coordinate), or None for the
    default h_i = c max(1, |x_i|) with c = sqrt(u) ~ 1.5e-8 (forward) or u^(1/3) ~ 6e-6 (central).
    f receives float64 arrays of x's shape (fresh copies; the caller's x is never modified) and
    must return a scalar. Returns an array of x's shape, or ``(gradient, calls)`` when
    ``return_calls`` is true.
    """
    _check_callable(f)
    _check_method(method)
    x0 = _as_float_array(x)
    steps = _steps(x0, h, method)
    counted = CountingFunction(f)
    columns, _ = _difference_columns(counted, x0, steps, method, scalar=True)
    grad = columns.reshape(x0.shape)
    return (grad, counted.calls) if return_calls else grad


def numerical_jacobian(
    f: Callable[[np.ndarray], Any],
    x: Any,
    h: Any = None,
    method: Method = "central",
    return_calls: bool = False,
) -> np.ndarray | tuple[np.ndarray, int]:
    """Finite-difference Jacobian J[j..., i...] = d f_j / d x_i of f: R^n -> R^m at x.

    Column i is the difference quotient along e_i (see :func:`numerical_gradient` for the
    formulas and the default step), so forward costs n + 1 calls of f and central 2n. The result
    has shape ``f(x).shape + x.shape``: for a vector function of a vector that is the usual m x n
    layout. Returns ``(jacobian, calls)`` when ``return_calls`` is true.
    """
    _check_callable(f)
    _check_method(method)
    x0 = _as_float_array(x)
    steps = _steps(x0, h, method)
    counted = CountingFunction(f)
    columns, out_shape = _difference_columns(counted, x0, steps, method, scalar=False)
    jac = columns.reshape(out_shape + x0.shape)
    return (jac, counted.calls) if return_calls else jac
