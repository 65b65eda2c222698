"""Every primitive, in both modes, against torch float64 and against central differences.

For each primitive and each argument shape (scalars, arrays, broadcasting pairs) hypothesis draws
inputs from the primitive's domain, and the test checks

* the value against torch;
* a JVP (forward mode, :func:`adlib.jvp`, all arguments perturbed at once) against
  ``torch.func.jvp``;
* a VJP (reverse mode, :func:`adlib.vjp`, all arguments at once) against ``torch.autograd.grad``;
* for every argument, the Jacobian by forward mode equals the Jacobian by reverse mode, and both
  match a five-point central difference.

Shape-() arguments are passed as Python floats (the scalar code path) to jvp/vjp, and as 0-d
arrays by :func:`adlib.jacobian`, so both paths are exercised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from helpers.reference import (
    ATOL_FD,
    RTOL_FD,
    assert_close,
    central_jacobian,
    torch_jvp,
    torch_value,
    torch_vjp,
)
from helpers.strategies import DOMAINS, FAST, random_like, scalar_or_array
from hypothesis import given
from hypothesis import strategies as st

import adlib
from adlib import arrays, calculus
from adlib.primitive import Primitive


@dataclass(frozen=True)
class Case:
    """One primitive applied to arguments of given shapes, with its torch twin."""

    primitive: str
    label: str
    fn: Callable[..., Any]
    torch_fn: Callable[..., torch.Tensor]
    shapes: tuple[tuple[int, ...], ...]
    domains: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.primitive}-{self.label}"


UNARY: list[tuple[str, Callable[..., Any], Callable[..., torch.Tensor], str]] = [
    ("neg", adlib.negative, torch.neg, "any"),
    ("exp", adlib.exp, torch.exp, "any"),
    ("log", adlib.log, torch.log, "positive"),
    ("sin", adlib.sin, torch.sin, "any"),
    ("cos", adlib.cos, torch.cos, "any"),
    ("tan", adlib.tan, torch.tan, "tan"),
    ("tanh", adlib.tanh, torch.tanh, "any"),
    ("sqrt", adlib.sqrt, torch.sqrt, "positive"),
    ("abs", adlib.abs, torch.abs, "kink"),
    ("sigmoid", adlib.sigmoid, torch.sigmoid, "any"),
    ("relu", adlib.relu, torch.relu, "kink"),
    ("softplus", adlib.softplus, torch.nn.functional.softplus, "any"),
    ("erf", adlib.erf, torch.special.erf, "any"),
]

BINARY: list[tuple[str, Callable[..., Any], Callable[..., torch.Tensor], tuple[str, str]]] = [
    ("add", adlib.add, torch.add, ("any", "any")),
    ("sub", adlib.subtract, torch.sub, ("any", "any")),
    ("mul", adlib.multiply, torch.mul, ("any", "any")),
    ("div", adlib.divide, torch.div, ("any", "denominator")),
    ("pow", adlib.power, torch.pow, ("base", "exponent")),
]

BROADCAST_PAIRS: list[tuple[tuple[int, ...], tuple[int, ...]]] = [
    ((), ()),
    ((2, 3), ()),
    ((), (2, 3)),
    ((3, 1), (1, 4)),
    ((2, 3), (3,)),
    ((4,), (4,)),
]


def _index_case(label: str, index: Any, torch_index: Any, shape: tuple[int, ...] = (4, 3)) -> Case:
    return Case(
        "getitem",
        label,
        lambda x: adlib.getitem(x, index),
        lambda x: x[torch_index],
        (shape,),
        ("any",),
    )


def _transpose_case(
    label: str, axes: tuple[int, ...], torch_axes: tuple[int, ...], shape: tuple[int, ...] = (2, 3, 4)
) -> Case:
    """``adlib.transpose(x, axes)`` against torch's ``x.permute(*torch_axes)``."""
    return Case(
        "transpose",
        label,
        lambda x: adlib.transpose(x, axes),
        lambda x: x.permute(*torch_axes),
        (shape,),
        ("any",),
    )


STRUCTURAL: list[Case] = [
    # matmul: matrices, vectors on either side, stacks with broadcast batch axes
    Case("matmul", "mat@mat", adlib.matmul, torch.matmul, ((2, 3), (3, 4)), ("any", "any")),
    Case("matmul", "vec@mat", adlib.matmul, torch.matmul, ((3,), (3, 4)), ("any", "any")),
    Case("matmul", "mat@vec", adlib.matmul, torch.matmul, ((2, 3), (3,)), ("any", "any")),
    Case("matmul", "vec@vec", adlib.matmul, torch.matmul, ((3,), (3,)), ("any", "any")),
    Case("matmul", "stack@mat", adlib.matmul, torch.matmul, ((2, 2, 3), (3, 4)), ("any", "any")),
    Case("matmul", "batch-broadcast", adlib.matmul, torch.matmul, ((3, 2, 3), (1, 3, 2)), ("any", "any")),
]
for _axis, _keep in [(None, False), (0, False), (-1, True), ((0, 2), False), ((0, 2), True), (1, True)]:
    _dims = _axis if _axis is not None else (0, 1, 2)
    for _name, _fn, _torch_fn in (("sum", adlib.sum, torch.sum), ("mean", adlib.mean, torch.mean)):
        STRUCTURAL.append(
            Case(
                _name,
                f"axis={_axis}-keepdims={_keep}",
                lambda x, f=_fn, a=_axis, k=_keep: f(x, axis=a, keepdims=k),
                lambda x, f=_torch_fn, d=_dims, k=_keep: f(x, dim=d, keepdim=k),
                ((2, 3, 2),),
                ("any",),
            )
        )
STRUCTURAL += [
    Case("sum", "vector", adlib.sum, torch.sum, ((5,),), ("any",)),
    Case("mean", "vector", adlib.mean, torch.mean, ((5,),), ("any",)),
    Case(
        "reshape",
        "(2,3)->(3,2)",
        lambda x: adlib.reshape(x, (3, 2)),
        lambda x: x.reshape(3, 2),
        ((2, 3),),
        ("any",),
    ),
    Case("reshape", "(2,3)->6", lambda x: adlib.reshape(x, 6), lambda x: x.reshape(6), ((2, 3),), ("any",)),
    Case(
        "reshape",
        "(6,)->(-1,2)",
        lambda x: adlib.reshape(x, (-1, 2)),
        lambda x: x.reshape(-1, 2),
        ((6,),),
        ("any",),
    ),
    Case("transpose", "matrix", adlib.transpose, lambda x: x.T, ((2, 3),), ("any",)),
    _transpose_case("axes=(1,0,2)", (1, 0, 2), (1, 0, 2)),
    _transpose_case("axes=(2,0,1)", (2, 0, 1), (2, 0, 1)),
    # Negative axes mean the same permutation as their positive forms.
    _transpose_case("axes=(-1,0,1)", (-1, 0, 1), (2, 0, 1)),
    _transpose_case("cube-axes=(-1,0,1)", (-1, 0, 1), (2, 0, 1), shape=(2, 2, 2)),
    _index_case("int", 1, 1),
    _index_case("slice", (slice(1, 3),), (slice(1, 3),)),
    _index_case("ellipsis-column", (Ellipsis, 0), (Ellipsis, 0)),
    _index_case("repeated-rows", np.array([0, 0, 2]), torch.tensor([0, 0, 2])),
    _index_case(
        "fancy-pairs",
        (np.array([0, 3, 0]), np.array([1, 2, 1])),
        (torch.tensor([0, 3, 0]), torch.tensor([1, 2, 1])),
    ),
    _index_case(
        "mask",
        np.array([True, False, True, True]),
        torch.tensor([True, False, True, True]),
    ),
    _index_case("scalar-entry", (2, 1), (2, 1)),
    # torch has no negative steps; flip is the same map.
    Case(
        "getitem",
        "reversed-rows",
        lambda x: adlib.getitem(x, (slice(None, None, -1), slice(0, 2))),
        lambda x: torch.flip(x, [0])[:, 0:2],
        ((4, 3),),
        ("any",),
    ),
    Case("log_softmax", "rows", adlib.log_softmax, lambda x: torch.log_softmax(x, -1), ((2, 3),), ("any",)),
    Case(
        "log_softmax",
        "columns",
        lambda x: adlib.log_softmax(x, axis=0),
        lambda x: torch.log_softmax(x, 0),
        ((2, 3),),
        ("any",),
    ),
    Case("log_softmax", "vector", adlib.log_softmax, lambda x: torch.log_softmax(x, -1), ((4,),), ("any",)),
    Case(
        "log_softmax",
        "middle-axis",
        lambda x: adlib.log_softmax(x, axis=1),
        lambda x: torch.log_softmax(x, 1),
        ((2, 3, 2),),
        ("any",),
    ),
    Case(
        "sum",
        "axis=(-1,0)",
        lambda x: adlib.sum(x, axis=(-1, 0)),
        lambda x: torch.sum(x, dim=(-1, 0)),
        ((2, 3, 2),),
        ("any",),
    ),
    Case(
        "mean",
        "axis=-2-keepdims",
        lambda x: adlib.mean(x, axis=-2, keepdims=True),
        lambda x: torch.mean(x, dim=-2, keepdim=True),
        ((2, 3, 2),),
        ("any",),
    ),
]

CASES: list[Case] = [
    Case(name, f"shape={shape}", fn, tfn, (shape,), (domain,))
    for name, fn, tfn, domain in UNARY
    for shape in [(), (2, 3)]
]
CASES += [
    Case(name, f"{sa}-with-{sb}", fn, tfn, (sa, sb), domains)
    for name, fn, tfn, domains in BINARY
    for sa, sb in BROADCAST_PAIRS
]
CASES += STRUCTURAL


def _draw_args(data: st.DataObject, case: Case) -> list[Any]:
    return [
        data.draw(scalar_or_array(shape, DOMAINS[dom]), label=f"arg{i}")
        for i, (shape, dom) in enumerate(zip(case.shapes, case.domains, strict=True))
    ]


def _replace(args: list[Any], i: int, value: Any) -> list[Any]:
    out = list(args)
    out[i] = value
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
@FAST
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_primitive_matches_torch_and_central_differences(case: Case, data: st.DataObject, seed: int) -> None:
    args = _draw_args(data, case)
    value = case.fn(*args)
    assert_close(value, torch_value(case.torch_fn, args), rtol=1e-12, atol=1e-14)

    # Forward mode: one JVP with every argument perturbed, against torch.func.jvp.
    tangents = [random_like(np.shape(a), seed + i) for i, a in enumerate(args)]
    primal_out, tangent_out = adlib.jvp(case.fn, args, tangents)
    torch_primal, torch_tangent = torch_jvp(case.torch_fn, args, tangents)
    assert_close(primal_out, torch_primal, rtol=1e-12, atol=1e-14)
    assert_close(tangent_out, torch_tangent)

    # Reverse mode: one VJP to every argument at once, against torch.autograd.grad.
    cotangent = random_like(np.shape(value), seed + 101)
    primal_rev, pull = adlib.vjp(case.fn, *args)
    assert_close(primal_rev, torch_primal, rtol=1e-12, atol=1e-14)
    for mine, theirs in zip(pull(cotangent), torch_vjp(case.torch_fn, args, cotangent), strict=True):
        assert_close(mine, theirs)

    # Per argument: forward Jacobian == reverse Jacobian == central differences.
    for i, arg in enumerate(args):

        def partial_fn(xi: Any, i: int = i) -> Any:
            return case.fn(*_replace(args, i, xi))

        jac_forward = adlib.jacobian(partial_fn, mode="forward")(arg)
        jac_reverse = adlib.jacobian(partial_fn, mode="reverse")(arg)
        assert jac_forward.shape == np.shape(value) + np.shape(arg)
        assert_close(jac_forward, jac_reverse)
        assert_close(jac_forward, central_jacobian(case.fn, args, i), rtol=RTOL_FD, atol=ATOL_FD)


def _table_primitives() -> set[str]:
    found = set()
    for module in (calculus, arrays):
        for value in vars(module).values():
            if isinstance(value, Primitive):
                found.add(value.name)
    return found


def test_every_table_primitive_has_a_case() -> None:
    covered = {case.primitive for case in CASES}
    assert _table_primitives() <= covered, f"untested primitives: {_table_primitives() - covered}"
    required = set(
        "add sub mul div neg pow exp log sin cos tan tanh sqrt abs sigmoid relu softplus erf "
        "matmul sum mean reshape transpose getitem log_softmax".split()
    )
    assert required <= covered


@pytest.mark.parametrize(
    ("fn", "torch_fn", "x"),
    [
        (adlib.relu, torch.relu, 0.0),
        (adlib.abs, torch.abs, 0.0),
        (adlib.sigmoid, torch.sigmoid, 800.0),
        (adlib.sigmoid, torch.sigmoid, -800.0),
        (adlib.softplus, torch.nn.functional.softplus, 800.0),
        (adlib.softplus, torch.nn.functional.softplus, -800.0),
    ],
)
def test_kinks_and_saturation_agree_with_torch(fn: Callable[..., Any], torch_fn: Any, x: float) -> None:
    """At a kink both libraries pick the subgradient 0; far out the stable forms stay finite."""
    expected = torch_vjp(torch_fn, [x], 1.0)[0]
    _, pull = adlib.vjp(fn, x)
    assert_close(pull(1.0)[0], expected)
    assert_close(adlib.derivative(fn)(x), expected)
    assert np.isfinite(fn(x))
