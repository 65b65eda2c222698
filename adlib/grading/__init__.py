"""Checks for assignment test cells, and the plain data the grader decides them from.

Test cells call :func:`check_close`, :func:`check_equal`, :func:`check_shape`, :func:`check_true`
(and :func:`call` around a call of the student's code). In a student's JupyterLab a check compares
with the expected value and raises a readable :class:`AssertionError`; in the grading sandbox it
only records what it saw, and the grader compares that with the answer key outside the student's
kernel (:mod:`.checks`, :mod:`.values`). This package imports nothing of adlib: the grading
sandbox holds it without the rest of the library.
"""

from .checks import (
    CHECKS,
    MIME,
    MODE_VARIABLE,
    DelegationError,
    call,
    check_close,
    check_equal,
    check_own_class,
    check_own_function,
    check_shape,
    check_true,
    mode,
    no_autograd,
    reference,
    rng,
)

__all__ = [
    "CHECKS",
    "MIME",
    "MODE_VARIABLE",
    "DelegationError",
    "call",
    "check_close",
    "check_equal",
    "check_own_class",
    "check_own_function",
    "check_shape",
    "check_true",
    "mode",
    "no_autograd",
    "reference",
    "rng",
]
