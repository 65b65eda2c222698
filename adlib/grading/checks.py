"""The checks a test cell calls, in the three places a test runs.

* In a student's own JupyterLab (Validate, ``nbgrader validate``, stock ``nbgrader autograde``) a
  check compares the value with the expected value written in the test and raises
  :class:`AssertionError` with what was checked, what was expected, what came back and a hint::

      check_close("x2.grad", x2.grad, 1.7163378, hint="is the adjoint summed over both uses of x2?")
      AssertionError: x2.grad: expected 1.716338, got -0.2837: is the adjoint summed over both uses of x2?

* In the grading sandbox (``ADCOURSE_CHECKS=observe``) a check decides nothing: it only records an
  *observation*, the check's label and the value as plain data (:mod:`.values`), and goes on. The
  grader has removed every expected value, hint and tolerance from the test's code before the
  kernel saw it, and decides the cell outside the kernel by comparing the observations with the
  answer key's.
* In the answer key's trusted run (``ADCOURSE_CHECKS=reference``) a check records its observation
  with the tolerance and hint the grader applies, and whether the key agrees with the expected
  value written in the test (``adcourse check`` fails when it does not).

Code that computes expected values goes into the expected argument itself or into a
``with reference():`` block; the grader strips both from the student's kernel.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .values import compare, decode, encode, encode_error, message

#: The environment variable that selects how checks behave (``observe``, ``reference``; else assert).
MODE_VARIABLE = "ADCOURSE_CHECKS"

#: The MIME type observations travel under, as display data the grader takes out of the stream.
MIME = "application/vnd.adcourse.observation+json"

#: Checks whose expected value (third argument), hint and tolerances the grader strips.
CHECKS = ("check_close", "check_equal", "check_shape", "check_true", "check_own_class", "check_own_function")

_MISSING: Any = object()


class DelegationError(AssertionError):
    """An answer called the reference implementation (or torch's autograd) instead of its own code."""


def mode() -> str:
    """``"observe"``, ``"reference"`` or ``"assert"`` (the default: compare and raise)."""
    value = os.environ.get(MODE_VARIABLE, "")
    return value if value in ("observe", "reference") else "assert"


def rng(seed: int) -> np.random.Generator:
    """The seeded generator hidden tests draw their inputs from, so grading is reproducible."""
    return np.random.default_rng(seed)


@contextlib.contextmanager
def reference() -> Iterator[None]:
    """A block that computes expected values (with adlib, torch, ...): it runs wherever the test's
    expected values are compared (the student's JupyterLab, the answer key's run), and the grader
    removes it, like every expected argument, before a student's kernel runs the test."""
    yield


#: Observations travel in batches: one display message per cell (or per this many observations),
#: not one per check, since a test of random graphs makes thousands of checks.
BATCH = 500
_pending: list[dict[str, Any]] = []
_hooked: list[bool] = []  # [True] once the flush runs after every cell, [False] outside IPython


def _flush(*_: Any) -> None:
    """Send the observations not sent yet, as one display message (IPython's post_run_cell)."""
    if _pending:
        from IPython.display import display

        batch = list(_pending)
        _pending.clear()
        display({MIME: batch}, raw=True)


def _hook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.events.register("post_run_cell", _flush)
    return True


def _emit(payload: dict[str, Any]) -> None:
    """Queue one observation; the cell's observations go out when it ends (or every BATCH)."""
    if not _hooked:
        _hooked.append(_hook())
    _pending.append(payload)
    if not _hooked[0] or len(_pending) >= BATCH:
        _flush()


def _observe(
    kind: str, what: Any, got: Any, expected: Any, hint: str, rtol: float, atol: float, encoded: Any = None
) -> None:
    """Record (observe/reference mode) or decide (assert mode) one check."""
    label = str(what)
    value = encode(got) if encoded is None else encoded
    current = mode()
    if current == "observe":
        _emit({"label": label[:500], "value": value})
        return
    detail = None
    if kind == "true":
        detail = compare("true", decode(encode(True)), decode(value))
    elif expected is not _MISSING:
        want = encode(_shape_text(expected) if kind == "shape" else expected)
        detail = compare("equal" if kind == "shape" else kind, decode(want), decode(value), rtol, atol)
        if detail is not None and kind == "shape":
            detail = f"expected shape {want.get('v')}, got shape {value.get('v', value)}"
    if current == "reference":
        payload = {"label": label[:500], "value": value, "kind": kind, "rtol": rtol, "atol": atol}
        payload.update(hint=str(hint)[:1000], agree=detail is None, detail=detail or "")
        _emit(payload)
        return
    if kind != "true" and expected is _MISSING:
        raise TypeError(f"{label}: this check needs the expected value (its third argument)")
    if detail is not None:
        raise AssertionError(message(label, detail, hint))


def check_close(
    what: str, got: Any, expected: Any = _MISSING, *, hint: str = "", rtol: float = 1e-6, atol: float = 1e-9
) -> None:
    """``got`` equals ``expected`` within tolerance (numbers, arrays, lists; same shape):
    :math:`|g - e| \\le \\mathrm{atol} + \\mathrm{rtol}\\,|e|` entry by entry."""
    _observe("close", what, got, expected, hint, rtol, atol)


def check_equal(what: str, got: Any, expected: Any = _MISSING, *, hint: str = "") -> None:
    """``got == expected`` exactly (counts, names, keys, shapes, booleans)."""
    _observe("equal", what, got, expected, hint, 0.0, 0.0)


def _shape_text(x: Any) -> str:
    """The shape of an array, tensor, number or regular list, as ``"(2, 3)"``."""
    if isinstance(x, tuple) and all(type(n) is int for n in x):
        return str(tuple(x))
    value = encode(x)
    if value["t"] == "num":
        return str(tuple(value["shape"]))
    return f"none ({value.get('type', value['t'])})"


def check_shape(what: str, got: Any, expected: Any = _MISSING, *, hint: str = "") -> None:
    """The shape of an array (or tensor, or nested list of numbers) is ``expected``."""
    _observe("shape", what, None, expected, hint, 0.0, 0.0, encoded=encode(_shape_text(got)))


def check_true(what: str, condition: Any, *, hint: str = "") -> None:
    """A condition that has no single expected value (a plot has a title, a curve falls) holds.
    ``condition`` must be a bool (Python's or numpy's)."""
    _observe("true", what, condition, _MISSING, hint, 0.0, 0.0)


def _from_adlib(obj: Any) -> str | None:
    bases = obj.__mro__ if inspect.isclass(obj) else (obj,)
    for base in bases:
        module = getattr(base, "__module__", "") or ""
        if module == "adlib" or module.startswith("adlib."):
            return f"{module}.{getattr(base, '__name__', '?')}"
    return None


def check_own_class(cls: Any, what: str) -> None:
    """``cls`` is a class the student wrote, not adlib's (or a subclass of it)."""
    if not inspect.isclass(cls):
        _observe(
            "true", f"{what} is a class", False, _MISSING, f"expected a class, got {type(cls).__name__}", 0, 0
        )
        return
    origin = _from_adlib(cls)
    if origin is not None and mode() == "assert":
        raise DelegationError(
            f"{what} comes from the reference library ({origin}); write your own class: this "
            "exercise earns no points with adlib's"
        )
    _observe("true", f"{what} is your own class", origin is None, _MISSING, "write your own class", 0, 0)


def check_own_function(fn: Any, what: str) -> None:
    """``fn`` is a function defined by the student, not one imported from adlib."""
    origin = _from_adlib(fn)
    if origin is not None and mode() == "assert":
        raise DelegationError(f"{what} is adlib's {origin}; write your own")
    _observe("true", f"{what} is your own function", origin is None, _MISSING, "write your own", 0, 0)


def call(what: str, fn: Callable[..., Any], /, *args: Any, hint: str = "", **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; when it raises, the failure says which call (``what``) raised what.

    In the grading sandbox an exception is recorded as the call's observation and the test stops.
    """
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:
        if mode() == "assert":
            raise AssertionError(
                message(str(what), f"your code raised {type(exc).__name__}: {exc}", hint)
            ) from None
        payload = {"label": str(what)[:500], "value": encode_error(exc)}
        if mode() == "reference":
            payload.update(kind="call", rtol=0.0, atol=0.0, hint=str(hint)[:1000], agree=False, detail="")
        _emit(payload)
        raise
    if mode() != "assert":
        payload: dict[str, Any] = {"label": str(what)[:500], "value": {"t": "none"}}
        if mode() == "reference":
            payload.update(kind="call", rtol=0.0, atol=0.0, hint=str(hint)[:1000], agree=True, detail="")
        _emit(payload)
    return result


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
