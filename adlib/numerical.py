"""Numerical differentiation: finite differences, their step size, and gradient checking.

A finite difference replaces the limit in the definition of the derivative by a small but
finite step h > 0. For f: R -> R,

    forward difference   D_h f(x) = (f(x + h) - f(x)) / h            = f'(x) + f''(x) h / 2 + O(h^2)
    central difference   C_h f(x) = (f(x + h) - f(x - h)) / (2h)     = f'(x) + f'''(x) h^2 / 6 + O(h^4)

so the *truncation error* (the Taylor remainder) is O(h) for the forward and O(h^2) for the
central difference. In floating point the two function values carry a relative *rounding error*
of about the machine epsilon u = 2^-52 ~ 2.2e-16 each, and their difference is divided by h, so
the rounding error grows like u |f(x)| / h. The total error therefore has a V shape in log-log
axes, with its minimum where the two balance:

    forward: h* ~ sqrt(u) ~ 1.5e-8,     central: h* ~ u^(1/3) ~ 6e-6

(times a factor that depends on |f| and on f'' or f'''); :func:`step_size_study` measures this V.

For f: R^n -> R the gradient takes one difference per coordinate along the unit vector e_i:

    d f / d x_i ~ (f(x + h e_i) - f(x)) / h             (forward: n + 1 evaluations of f)
    d f / d x_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)   (central: 2n evaluations of f)

This O(n) cost makes finite differences useless for training, but ideal as an independent
*correctness test* of an AD gradient: :func:`gradcheck` does exactly that.

Counting evaluations: wrap a function in :class:`CountingFunction` (its ``calls`` attribute counts
the calls), or pass ``return_calls=True`` to :func:`numerical_gradient` /
:func:`numerical_jacobian`, which then return ``(result, calls)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CountingFunction",
    "GradcheckError",
    "GradcheckResult",
    "StepSizeStudy",
    "central_difference",
    "forward_difference",
    "gradcheck",
    "numerical_gradient",
    "numerical_jacobian",
    "step_size_study",
]

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


# --------------------------------------------------------------------------- step-size study


@dataclass(frozen=True)
class StepSizeStudy:
    """Error of a finite difference against the exact derivative, over a range of steps h.

    ``errors[k] = |FD_{hs[k]} f(x) - f'(x)|``; ``best_h`` is the step with the smallest measured
    error. ``truncation`` and ``rounding`` are the two model terms of the error:

        forward:  truncation = |f''(x)| h / 2,     rounding = u |f(x)| / h
        central:  truncation = |f'''(x)| h^2 / 6,  rounding = u |f(x)| / (2h)

    (u = machine epsilon; the rounding model assumes f is evaluated to within an ulp and ignores
    the rounding of x + h). ``model_best_h`` minimises their sum.

    Near the bottom of the V the rounding error is erratic: at some steps the errors of f(x + h)
    and f(x) cancel by luck. So ``best_h`` is the step that minimises the *running maximum* of
    the error over ``window`` neighbouring steps on each side (with the default grid of 5 steps
    per decade and window 3, about +-0.6 decades); ``best_error`` is the measured error at best_h.
    """

    x: float
    method: str
    hs: np.ndarray
    errors: np.ndarray
    best_h: float
    best_error: float
    higher_derivative: float
    truncation: np.ndarray
    rounding: np.ndarray
    model_best_h: float

    def plot(self, ax: Axes | None = None) -> Axes:
        """Draw the log-log V curve: measured error, truncation and rounding model lines."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6, 4))
        tiny = np.finfo(np.float64).tiny
        order = "h" if self.method == "forward" else "h^2"
        ax.loglog(self.hs, np.maximum(self.errors, tiny), "o-", ms=3, label="measured error")
        ax.loglog(self.hs, np.maximum(self.truncation, tiny), "--", label=f"truncation O({order})")
        ax.loglog(
            self.hs,
            self.rounding,
            ":",
            label="rounding ~ u|f(x)|/" + ("h" if self.method == "forward" else "(2h)"),
        )
        ax.axvline(self.best_h, color="grey", lw=0.8, label=f"best h = {self.best_h:.1e}")
        finite = self.errors[self.errors > 0]
        if finite.size:
            ax.set_ylim(max(finite.min() / 10, 1e-18), max(finite.max() * 10, 1e-12))
        ax.set_title(f"{self.method.capitalize()} difference error at x = {self.x:g}")
        ax.set_xlabel("step size h")
        ax.set_ylabel("absolute error |FD - f'(x)|")
        ax.legend(fontsize="small")
        return ax


def _estimate_higher_derivative(f: Callable[[float], Any], x: float, method: str) -> float:
    """f''(x) (forward) or f'''(x) (central) by a wide-step central difference.

    f''  ~ (f(x+k) - 2 f(x) + f(x-k)) / k^2                          with k = 1e-4 max(1, |x|)
    f''' ~ (f(x+2k) - 2 f(x+k) + 2 f(x-k) - f(x-2k)) / (2 k^3)         with k = 1e-3 max(1, |x|)
    Only used to draw the truncation model line, so a few correct digits suffice.
    """

    def at(t: float) -> float:
        return _scalar_output(f(t), "f(x)")

    if method == "forward":
        k = 1e-4 * max(1.0, abs(x))
        return (at(x + k) - 2.0 * at(x) + at(x - k)) / k**2
    k = 1e-3 * max(1.0, abs(x))
    return (at(x + 2 * k) - 2.0 * at(x + k) + 2.0 * at(x - k) - at(x - 2 * k)) / (2.0 * k**3)


def step_size_study(
    f: Callable[[float], Any],
    df: Callable[[float], Any],
    x: float,
    hs: Any = None,
    method: Method = "forward",
    higher_derivative: float | None = None,
    window: int = 3,
) -> StepSizeStudy:
    """Measure |FD_h f(x) - f'(x)| over steps h (default: 76 points log-spaced from 1e-16 to 1e-1).

    ``df`` is the exact derivative. The minimum of the measured V curve (``best_h``) lies near
    sqrt(u) ~ 1.5e-8 for the forward and near u^(1/3) ~ 6e-6 for the central difference, times a
    factor of order one that depends on f. ``higher_derivative`` is f''(x) (forward) or f'''(x)
    (central) for the truncation model line; by default it is estimated by finite differences.
    ``window`` is the half-width of the running maximum used to pick ``best_h`` (0: plain argmin;
    see :class:`StepSizeStudy`). The steps are sorted in increasing order.
    """
    _check_callable(f)
    _check_callable(df, "df")
    _check_method(method)
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"x must be a real number, got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"x must be finite, got {x}")
    if hs is None:
        hs_arr = np.logspace(-16, -1, 76)
    else:
        hs_arr = _as_float_array(hs, "hs").reshape(-1)
        if hs_arr.size == 0 or not np.all(hs_arr > 0):
            raise ValueError("hs must be a non-empty array of steps > 0")
        hs_arr = np.sort(hs_arr)
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 0:
        raise ValueError(f"window must be an integer >= 0, got {window!r}")
    exact = _scalar_output(df(x), "df(x)")
    fx = _scalar_output(f(x), "f(x)")
    difference = forward_difference if method == "forward" else central_difference
    approx = np.array([difference(f, x, float(h)) for h in hs_arr])
    errors = np.abs(approx - exact)
    padded = np.pad(errors, int(window), mode="edge")
    envelope = np.lib.stride_tricks.sliding_window_view(padded, 2 * int(window) + 1).max(axis=1)
    k = int(np.argmin(envelope))

    d_high = _estimate_higher_derivative(f, x, method) if higher_derivative is None else higher_derivative
    d_high = float(d_high)
    if method == "forward":
        truncation = abs(d_high) * hs_arr / 2.0
        rounding = EPS * abs(fx) / hs_arr
        model_best_h = math.sqrt(2.0 * EPS * abs(fx) / abs(d_high)) if d_high and fx else math.sqrt(EPS)
    else:
        truncation = abs(d_high) * hs_arr**2 / 6.0
        rounding = EPS * abs(fx) / (2.0 * hs_arr)
        model_best_h = (1.5 * EPS * abs(fx) / abs(d_high)) ** (1 / 3) if d_high and fx else EPS ** (1 / 3)
    return StepSizeStudy(
        x=x,
        method=method,
        hs=hs_arr,
        errors=errors,
        best_h=float(hs_arr[k]),
        best_error=float(errors[k]),
        higher_derivative=d_high,
        truncation=truncation,
        rounding=rounding,
        model_best_h=float(model_best_h),
    )


# --------------------------------------------------------------------------- gradient checking


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` with ``raise_on_failure=True`` when the gradients disagree."""


@dataclass(frozen=True)
class GradcheckResult:
    """Outcome of :func:`gradcheck`.

    ``expected`` is the central-difference gradient, ``got`` the gradient under test. Entry i
    passes when |got_i - expected_i| <= allowed_i with

        allowed_i = atol + rtol |expected_i| + noise_i,
        noise_i   = 4 u (|f(x + eps e_i)| + |f(x - eps e_i)|) / (2 eps),

    where noise_i bounds the rounding error of the difference quotient itself (u = machine
    epsilon; the factor 4 allows f a few ulps of error). ``rel_errors`` are
    |got - expected| / max(|expected|, atol) (atol keeps zero entries finite); ``worst_index``
    is the entry with the largest ratio |got - expected| / allowed.
    """

    ok: bool
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple[int, ...]
    expected: np.ndarray
    got: np.ndarray
    abs_errors: np.ndarray
    rel_errors: np.ndarray
    allowed: np.ndarray
    eps: float
    rtol: float
    atol: float

    def __bool__(self) -> bool:
        return self.ok

    def _worst_line(self) -> str:
        i = self.worst_index
        return (
            f"worst entry {_index_str(i)}: expected {self.expected[i]:.10g} (central differences), "
            f"got {self.got[i]:.10g}; |difference| = {self.abs_errors[i]:.3g}, allowed {self.allowed[i]:.3g}"
        )

    def __str__(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        n_bad = int(np.sum(self.abs_errors > self.allowed))
        lines = [
            f"gradcheck {verdict}: {n_bad} of {self.got.size} entries outside tolerance "
            f"(eps={self.eps:g}, rtol={self.rtol:g}, atol={self.atol:g})",
            f"max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g}",
        ]
        if self.got.size:
            lines.append(self._worst_line())
        return "\n".join(lines)


def _index_str(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in index) + "]"


def gradcheck(
    f: Callable[[np.ndarray], Any],
    grad: Any,
    x: Any,
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    raise_on_failure: bool = False,
) -> GradcheckResult:
    """Check a gradient of a scalar f: R^n -> R at x against central differences in float64.

    ``grad`` is the gradient under test, either an array of x's shape or a callable
    ``grad(x) -> array``. The reference is expected_i = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),
    whose truncation error |f'''| eps^2 / 6 ~ 1e-13 |f'''| is far below the default tolerances.
    See :class:`GradcheckResult` for the exact acceptance rule. With ``raise_on_failure`` a
    failing check raises :class:`GradcheckError` naming the worst entry.

    Errors: ValueError when grad's shape differs from x's, when f is not scalar-valued, or when
    x, f or grad contain inf/nan; TypeError when f returns a lower precision than float64 (its
    rounding noise would swamp the comparison) or an input has the wrong type.
    """
    _check_callable(f)
    eps = _check_step(eps, "eps")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if isinstance(tol, bool) or not isinstance(tol, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number, got {type(tol).__name__}")
        if not (math.isfinite(tol) and tol >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {tol!r}")
    x0 = _as_float_array(x)

    def evaluate(point: np.ndarray) -> float:
        value = f(point)
        dtype = np.asarray(value).dtype if not isinstance(value, (int, float)) else np.dtype(np.float64)
        if np.issubdtype(dtype, np.floating) and np.finfo(dtype).bits < 64:
            raise TypeError(f"f returned {dtype}; gradcheck needs float64 values of f (compute f in float64)")
        out = _scalar_output(value)
        if not math.isfinite(out):
            raise ValueError(f"f returned a non-finite value {out} at a point near x")
        return out

    evaluate(x0.copy())  # validates f at x itself before the n perturbed pairs

    got_raw = grad(x0.copy()) if callable(grad) else grad
    got = _as_real_output(got_raw, "grad").copy()
    if got.shape != x0.shape:
        raise ValueError(f"grad has shape {got.shape} but x has shape {x0.shape}; they must match")
    if not np.all(np.isfinite(got)):
        raise ValueError(f"grad contains non-finite values at {np.argwhere(~np.isfinite(got)).tolist()}")

    expected = np.empty_like(x0)
    noise = np.empty_like(x0)
    for index in np.ndindex(x0.shape):
        plus, minus = x0.copy(), x0.copy()
        plus[index] += eps
        minus[index] -= eps
        f_plus, f_minus = evaluate(plus), evaluate(minus)
        expected[index] = (f_plus - f_minus) / (2.0 * eps)
        noise[index] = 4.0 * EPS * (abs(f_plus) + abs(f_minus)) / (2.0 * eps)

    abs_errors = np.abs(got - expected)
    allowed = atol + rtol * np.abs(expected) + noise
    floor = atol if atol > 0 else np.finfo(np.float64).tiny
    rel_errors = abs_errors / np.maximum(np.abs(expected), floor)
    if x0.size:
        ratio = abs_errors / allowed if np.all(allowed > 0) else np.where(abs_errors > allowed, np.inf, 0.0)
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratio)), x0.shape))
    else:
        worst = ()
    result = GradcheckResult(
        ok=bool(np.all(abs_errors <= allowed)),
        max_abs_error=float(abs_errors.max(initial=0.0)),
        max_rel_error=float(rel_errors.max(initial=0.0)),
        worst_index=worst,
        expected=expected,
        got=got,
        abs_errors=abs_errors,
        rel_errors=rel_errors,
        allowed=allowed,
        eps=eps,
        rtol=float(rtol),
        atol=float(atol),
    )
    if raise_on_failure and not result.ok:
        raise GradcheckError(f"gradient check failed: {result._worst_line()}\n{result}")
    return result
