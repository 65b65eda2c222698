"""Checks for assignment test cells: failures that say what was checked, what was expected,
what came back, and a hint, without giving the solution away.

    check_close("x2.grad", x2.grad, 1.7163378,
                hint="is the adjoint summed over both uses of x2?")
    AssertionError: x2.grad: expected 1.7163, got -0.2837: is the adjoint summed over both uses of x2?

Also guards that an answer is the student's own: :func:`check_own_class` (not adlib's class
under another name) and :func:`no_autograd` (no call into torch's autograd while a hand-written
backward runs).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = [
    "DelegationError",
    "check_close",
    "check_equal",
    "check_own_class",
    "check_own_function",
    "check_shape",
    "check_true",
    "no_autograd",
    "rng",
]


class DelegationError(AssertionError):
    """An answer called the reference implementation (or torch's autograd) instead of its own code."""


def rng(seed: int) -> np.random.Generator:
    """The seeded generator hidden tests draw their inputs from, so grading is reproducible."""
    return np.random.default_rng(seed)


def _short(x: Any) -> str:
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        return f"{x:.4f}" if 1e-3 <= abs(x) < 1e5 or x == 0 else f"{x:.4g}"
    if isinstance(x, np.ndarray):
        return np.array2string(x, precision=4, threshold=8, edgeitems=2, separator=", ")
    return repr(x)


def _fail(what: str, detail: str, hint: str) -> AssertionError:
    return AssertionError(f"{what}: {detail}" + (f": {hint}" if hint else ""))


def _to_array(x: Any, what: str) -> np.ndarray:
    value = getattr(x, "value", x)  # accept a student's ForwardDiff/ReverseDiff as its value
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what}: expected a number or an array, got {type(x).__name__}") from None


def check_close(
    what: str, got: Any, expected: Any, *, hint: str = "", rtol: float = 1e-6, atol: float = 1e-9
) -> None:
    """Assert ``got`` equals ``expected`` within tolerance, numbers or arrays (same shape)."""
    if got is None:
        raise _fail(what, f"expected {_short(expected)}, got None", hint or "did you return a value?")
    g, e = _to_array(got, what), _to_array(expected, what)
    if g.shape != e.shape:
        raise _fail(what, f"expected shape {e.shape}, got shape {g.shape}", hint)
    if np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        return
    if g.ndim == 0:
        raise _fail(what, f"expected {_short(e.item())}, got {_short(g.item())}", hint)
    bad = np.argwhere(~np.isclose(g, e, rtol=rtol, atol=atol, equal_nan=True))
    idx = tuple(int(i) for i in bad[0])
    detail = (
        f"{len(bad)} of {g.size} entries differ; first at index {idx}: "
        f"expected {_short(e[idx].item())}, got {_short(g[idx].item())}"
    )
    raise _fail(what, detail, hint)


def check_equal(what: str, got: Any, expected: Any, *, hint: str = "") -> None:
    """Assert ``got == expected`` exactly (counts, names, shapes, booleans)."""
    if got != expected:
        raise _fail(what, f"expected {expected!r}, got {got!r}", hint)


def check_shape(what: str, got: Any, expected: tuple[int, ...], *, hint: str = "") -> None:
    """Assert the shape of an array (or of a boxed value's ``.value``)."""
    shape = np.shape(getattr(got, "value", got))
    if tuple(shape) != tuple(expected):
        raise _fail(what, f"expected shape {tuple(expected)}, got shape {tuple(shape)}", hint)


def check_true(what: str, condition: bool, *, hint: str = "") -> None:
    """Assert a condition that has no single expected value (a plot has a title, a curve falls)."""
    if not condition:
        raise _fail(what, "check failed", hint)


def check_own_class(cls: Any, what: str) -> None:
    """Fail unless ``cls`` is a class the student wrote, not adlib's (or a subclass of it)."""
    if not inspect.isclass(cls):
        raise AssertionError(f"{what}: expected a class, got {type(cls).__name__}")
    for base in cls.__mro__:
        module = getattr(base, "__module__", "") or ""
        if module == "adlib" or module.startswith("adlib."):
            raise DelegationError(
                f"{what} comes from the reference library ({module}.{base.__name__}); "
                "write your own class: this exercise earns no points with adlib's"
            )


def check_own_function(fn: Callable[..., Any], what: str) -> None:
    """Fail unless ``fn`` is a function defined by the student, not one imported from adlib."""
    module = getattr(fn, "__module__", "") or ""
    if module == "adlib" or module.startswith("adlib."):
        raise DelegationError(f"{what} is adlib's {module}.{fn.__name__}; write your own")


@contextlib.contextmanager
def no_autograd(what: str) -> Iterator[None]:
    """Within the block, any use of torch's autograd raises :class:`DelegationError`.

    For exercises that ask for a hand-written backward: ``torch.autograd.grad``,
    ``torch.autograd.backward`` and ``Tensor.backward`` are replaced for the duration.
    """
    try:
        import torch
    except ImportError:  # nothing to guard
        yield
        return

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise DelegationError(f"{what} must compute gradients by hand, not with torch's autograd")

    saved = (torch.autograd.grad, torch.autograd.backward, torch.Tensor.backward)
    torch.autograd.grad, torch.autograd.backward, torch.Tensor.backward = refuse, refuse, refuse
    try:
        yield
    finally:
        torch.autograd.grad, torch.autograd.backward, torch.Tensor.backward = saved
