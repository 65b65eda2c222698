"""The step-size study: the error of a finite difference against h, truncation against rounding."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .differences import (
    EPS,
    Method,
    _as_float_array,
    _check_callable,
    _check_method,
    _scalar_output,
    central_difference,
    forward_difference,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

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
