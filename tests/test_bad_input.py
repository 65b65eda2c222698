"""Bad input: every mistake gets an error that names the problem, never a silently wrong number.

Decisions these tests pin down:

* Domains follow numpy: ``log`` of a negative number is nan and of 0 is -inf, ``sqrt`` of a
  negative number is nan, each with numpy's RuntimeWarning, in plain, forward and reverse mode.
  The derivative of ln at 0 is +inf with the same kind of warning.
* Lists, tuples and strings next to a ForwardDiff/ReverseDiff in an operator are refused with a
  TypeError naming the type, on either side (Python would otherwise concatenate or repeat a list);
  other foreign types (complex, None, dict) get Python's own TypeError, which names them too.
  The generic functions (``adlib.add`` ...) read lists as arrays, like numpy.
* Shape errors name both shapes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import adlib
from adlib import ForwardDiff, ReverseDiff

MODES: dict[str, Callable[[Any], Any]] = {
    "plain": lambda v: v,
    "forward": lambda v: ForwardDiff(v, 1.0),
    "reverse": ReverseDiff,
}


# ---------------------------------------------------------------- domains follow numpy


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize(
    ("fn", "x", "expected"),
    [
        (adlib.log, -1.0, np.nan),
        (adlib.log, 0.0, -np.inf),
        (adlib.sqrt, -4.0, np.nan),
        (adlib.log, np.array([1.0, -1.0]), np.array([0.0, np.nan])),
    ],
)
def test_outside_the_domain_gives_numpy_values_and_a_warning(
    mode: str, fn: Callable[[Any], Any], x: Any, expected: Any
) -> None:
    with pytest.warns(RuntimeWarning):
        out = fn(MODES[mode](x))
    np.testing.assert_array_equal(adlib.raw(out), expected)


def test_derivative_of_log_at_zero_is_inf_with_a_warning() -> None:
    with pytest.warns(RuntimeWarning):
        assert adlib.derivative(adlib.log)(0.0) == np.inf
    x = ReverseDiff(0.0)
    with pytest.warns(RuntimeWarning):
        y = adlib.log(x)
    with pytest.warns(RuntimeWarning):
        y.backward()
    assert x.grad == np.inf


def test_derivative_of_sqrt_at_zero_is_inf_with_a_warning() -> None:
    with pytest.warns(RuntimeWarning):
        assert adlib.derivative(adlib.sqrt)(0.0) == np.inf


def test_python_float_division_by_zero_keeps_python_semantics() -> None:
    """``/`` on Python floats is Python's: ZeroDivisionError, already when the value is computed."""
    with pytest.raises(ZeroDivisionError):
        ReverseDiff(1.0) / 0.0


# ---------------------------------------------------------------- shapes are named


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_matmul_shape_mismatch_names_both_shapes(mode: str) -> None:
    a = MODES[mode](np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 3\) @ \(2, 3\).*3 and 2"):
        a @ np.ones((2, 3))
    with pytest.raises(ValueError, match=r"\(4,\) @ \(2, 3\)"):
        np.ones(4) @ a


def test_matmul_of_a_scalar_is_refused() -> None:
    with pytest.raises(ValueError, match=r"at least one dimension.*\(\) and \(3,\)"):
        adlib.matmul(ReverseDiff(2.0), np.ones(3))


@pytest.mark.parametrize("mode", ["plain", "forward", "reverse"])
def test_broadcasting_mismatch_names_both_shapes(mode: str) -> None:
    a = MODES[mode](np.ones((3,)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        adlib.add(a, np.ones(4))
    # (numpy's own message; it writes the shapes without spaces)
    with pytest.raises(ValueError, match=r"\(2, ?3\).*\(2,\)"):
        np.ones((2, 3)) * MODES[mode](np.ones(2))


def test_tangent_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"tangent of shape \(4,\) does not fit a value of shape \(3,\)"):
        ForwardDiff(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3,\)"):
        ForwardDiff(np.ones(3), np.ones((2, 3)))


def test_seed_shape_mismatch_names_both_shapes() -> None:
    y = ReverseDiff(np.ones(3)) * 2.0
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        y.backward(np.ones(2))


def test_reshape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"shape \(2, 3\) into shape \(4,\)"):
        ReverseDiff(np.ones((2, 3))).reshape(4)


def test_sum_axis_out_of_range_is_an_error() -> None:
    with pytest.raises((ValueError, IndexError)):
        ReverseDiff(np.ones((2, 3))).sum(axis=2)


# ---------------------------------------------------------------- modes do not mix


@pytest.mark.parametrize("op", [operator.add, operator.mul, operator.pow, operator.matmul])
def test_mixing_forward_and_reverse_is_a_type_error(op: Callable[[Any, Any], Any]) -> None:
    f, r = ForwardDiff(np.ones(2), np.ones(2)), ReverseDiff(np.ones(2))
    for left, right in ((f, r), (r, f)):
        with pytest.raises(TypeError, match="ForwardDiff and ReverseDiff"):
            op(left, right)


def test_mixing_in_generic_functions_and_constructors() -> None:
    with pytest.raises(TypeError, match=r"ForwardDiff.*ReverseDiff"):
        adlib.log_softmax(ForwardDiff(np.ones(2), np.ones(2)) + adlib.sum(ReverseDiff(np.ones(2))))
    with pytest.raises(TypeError, match="ForwardDiff around a ReverseDiff"):
        ForwardDiff(ReverseDiff(1.0))
    with pytest.raises(TypeError, match="ReverseDiff around a ForwardDiff"):
        ReverseDiff(ForwardDiff(1.0))
    with pytest.raises(TypeError, match="got a ReverseDiff"):
        ReverseDiff(ReverseDiff(1.0))


def test_forward_over_reverse_and_reverse_over_forward_are_refused() -> None:
    """Nesting works within forward mode; across the two modes it is a clear TypeError."""
    with pytest.raises(TypeError, match="ReverseDiff around a ForwardDiff"):
        adlib.derivative(lambda x: adlib.grad(lambda y: y * y)(x))(3.0)
    with pytest.raises(TypeError, match="ForwardDiff around a ReverseDiff"):
        adlib.grad(lambda x: adlib.derivative(adlib.sin)(x))(1.0)


def test_a_transform_refuses_the_other_modes_output() -> None:
    outside = ReverseDiff(1.0)
    with pytest.raises(TypeError, match="ForwardDiff and ReverseDiff"):
        adlib.derivative(lambda x: x * outside)(2.0)
    with pytest.raises(TypeError, match=r"must return .* ForwardDiff, got ReverseDiff"):
        adlib.derivative(lambda x: outside)(2.0)


# ---------------------------------------------------------------- unsupported operand types

OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow, operator.matmul]


@pytest.mark.parametrize("cls", [ForwardDiff, ReverseDiff])
@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("other", [[1.0, 2.0], (1.0, 2.0), "ab"], ids=["list", "tuple", "str"])
def test_sequences_are_refused_by_name_on_either_side(
    cls: type, op: Callable[[Any, Any], Any], other: Any
) -> None:
    box = cls(np.ones(2))
    name = type(other).__name__
    with pytest.raises(TypeError, match=f"'{name}'.*convert a {name} to a numpy array"):
        op(box, other)
    with pytest.raises(TypeError, match=f"'{name}'.*convert a {name} to a numpy array"):
        op(other, box)


@pytest.mark.parametrize("cls", [ForwardDiff, ReverseDiff])
@pytest.mark.parametrize("other", [1j, None, {"a": 1}], ids=["complex", "None", "dict"])
def test_other_foreign_operands_get_a_type_error_naming_them(cls: type, other: Any) -> None:
    box = cls(2.0)
    name = type(other).__name__
    for op in (operator.add, operator.mul):
        with pytest.raises(TypeError, match=name):
            op(box, other)
        with pytest.raises(TypeError, match=name):
            op(other, box)


@pytest.mark.parametrize("cls", [ForwardDiff, ReverseDiff])
@pytest.mark.parametrize("value", ["abc", None, {"a": 1}, 1j])
def test_constructors_name_the_bad_type(cls: type, value: Any) -> None:
    with pytest.raises(TypeError, match=type(value).__name__):
        cls(value)


def test_generic_functions_read_lists_as_arrays() -> None:
    """Unlike the operators, adlib.add & co. follow numpy: a list is an array, never concatenated."""
    np.testing.assert_array_equal(adlib.add([1.0, 2.0], [3.0, 4.0]), [4.0, 6.0])
    np.testing.assert_array_equal(adlib.multiply(2, [1.0, 2.0]), [2.0, 4.0])
    np.testing.assert_array_equal(adlib.subtract([1.0], (3.0,)), [-2.0])
    np.testing.assert_array_equal(adlib.divide([1.0, 2.0], 2), [0.5, 1.0])
    np.testing.assert_array_equal(adlib.power([1.0, 2.0], [2, 3]), [1.0, 8.0])
    np.testing.assert_array_equal(adlib.negative([1.0, -2.0]), [-1.0, 2.0])
    x = ReverseDiff(np.array([1.0, 2.0]))
    adlib.matmul([[1.0, 2.0], [3.0, 4.0]], adlib.multiply(x, [1.0, 10.0])).sum().backward()
    np.testing.assert_array_equal(x.grad, np.array([4.0, 60.0]))


# ---------------------------------------------------------------- transform misuse


def test_jacobian_mode_typo() -> None:
    with pytest.raises(ValueError, match="mode must be 'forward' or 'reverse', got 'backward'"):
        adlib.jacobian(adlib.sin, mode="backward")


def test_grad_of_a_non_scalar_function() -> None:
    with pytest.raises(ValueError, match=r"scalar output, got shape \(3,\)"):
        adlib.grad(lambda x: x * 2.0)(np.ones(3))


@pytest.mark.parametrize("result", [list, tuple])
def test_transforms_refuse_a_sequence_of_outputs(result: type) -> None:
    """A list of outputs is not a constant: treating it as one would give derivative 0 silently."""
    f = lambda x: result([x * 2.0, x])  # noqa: E731
    with pytest.raises(TypeError, match=f"got {result.__name__}"):
        adlib.vjp(f, 1.0)
    with pytest.raises(TypeError, match=f"got {result.__name__}"):
        adlib.jvp(f, (1.0,), (1.0,))
    with pytest.raises(TypeError, match=f"got {result.__name__}"):
        adlib.grad(f)(1.0)


def test_backward_seed_must_not_be_a_box() -> None:
    y = ReverseDiff(2.0) * 3.0
    with pytest.raises(TypeError, match="seed gradient must be a number or an array, got ReverseDiff"):
        y.backward(ReverseDiff(1.0))
