"""Every one-argument primitive of the derivative tables is a method of both boxes and a function of adlib.

The tables are the modules :mod:`adlib.calculus` and :mod:`adlib.arrays`; every
:class:`~adlib.primitive.Primitive` defined in them is found here by scanning the module, so a
primitive added later without its method (on the operator mixin that ``ForwardDiff`` and
``ReverseDiff`` share) or without its export in ``adlib`` fails this test. A method or function
counts only if it really applies that primitive: the node it makes in reverse mode is the
primitive's, and in forward mode the method and the function give the same value and tangent.
"""

from __future__ import annotations

import inspect
import re
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import adlib
from adlib import arrays, calculus
from adlib.operators import Operators
from adlib.primitive import Primitive

TABLES: tuple[ModuleType, ...] = (calculus, arrays)
# (method, function) where they are not spelled like the primitive.
SPELLED = {"neg": ("__neg__", "negative"), "getitem": ("__getitem__", "getitem")}
# Arguments after the value, the same for the method and the function.
ARGS: dict[str, tuple[Any, ...]] = {"reshape": (-1,), "getitem": (1,)}
# A point inside every function's domain (log, sqrt, tan), as an array so that the array
# primitives apply too.
POINT = np.array([0.2, 0.5])
TANGENT = np.array([1.0, -2.0])


def arity(prim: Primitive) -> int:
    """The number of differentiable arguments: one partial each, or the template's placeholders."""
    if prim.partials is not None:
        return len(prim.partials)
    placeholders = {int(k) for k in re.findall(r"\{(\d+)\}", prim.template)}
    assert placeholders, f"{prim!r} declares neither partials nor a template naming its arguments"
    return max(placeholders) + 1


def table_primitives() -> list[tuple[str, Primitive]]:
    """``(module:NAME, primitive)`` for every primitive the tables define (not those they import)."""
    found = []
    for module in TABLES:
        for name, value in vars(module).items():
            if isinstance(value, Primitive):
                found.append((f"{module.__name__}:{name}", value))
    return found


UNARY = [(where, prim) for where, prim in table_primitives() if arity(prim) == 1]


def test_the_scan_finds_the_tables_primitives() -> None:
    # Hand-listed from the two modules: the scan misses none of these, and reads their arity right.
    names = {prim.name for _, prim in UNARY}
    assert names >= {
        "neg",
        "exp",
        "log",
        "sin",
        "cos",
        "tan",
        "tanh",
        "sqrt",
        "abs",
        "sigmoid",
        "relu",
        "softplus",
        "erf",
        "sum",
        "mean",
        "reshape",
        "transpose",
        "getitem",
        "log_softmax",
    }
    binary = {prim.name for _, prim in table_primitives() if arity(prim) == 2}
    assert binary >= {"add", "sub", "mul", "div", "pow", "matmul"}


@pytest.mark.parametrize(("where", "prim"), UNARY, ids=[w for w, _ in UNARY])
def test_every_unary_primitive_has_its_method_and_its_export(where: str, prim: Primitive) -> None:
    method_name, export_name = SPELLED.get(prim.name, (prim.name, prim.name))
    args = ARGS.get(prim.name, ())
    method = inspect.getattr_static(Operators, method_name, None)
    assert callable(method), f"{where} has no method {method_name} on adlib.operators.Operators"
    assert export_name in adlib.__all__, f"{where} is not exported as adlib.{export_name}"
    export = getattr(adlib, export_name)

    # Reverse mode: the method and the function both record this primitive.
    for made in (
        getattr(adlib.ReverseDiff(POINT), method_name)(*args),
        export(adlib.ReverseDiff(POINT), *args),
    ):
        assert isinstance(made, adlib.ReverseDiff) and made.primitive is prim, (where, made)

    # Forward mode: the same value and tangent, which are the primitive's own.
    by_method = getattr(adlib.ForwardDiff(POINT, TANGENT), method_name)(*args)
    by_export = export(adlib.ForwardDiff(POINT, TANGENT), *args)
    expected_value = prim.fn(POINT, **made.params)
    np.testing.assert_array_equal(by_method.value, by_export.value)
    np.testing.assert_array_equal(by_method.grad, by_export.grad)
    np.testing.assert_array_equal(by_method.value, expected_value)
