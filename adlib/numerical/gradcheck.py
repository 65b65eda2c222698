"""Gradient checking: an AD gradient against central differences, in float64."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .differences import EPS, _as_float_array, _as_real_output, _check_callable, _check_step, _scalar_output

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
