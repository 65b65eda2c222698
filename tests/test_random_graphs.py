"""Random expression graphs with shared nodes: reverse mode == forward mode == torch float64.

Hypothesis builds a random program: a few inputs (scalars and broadcastable arrays), then a
sequence of steps, each applying one operation to earlier nodes, which are picked freely, so
nodes are reused by several later steps (fan-out, the case where adjoints must be summed). The
output is a weighted sum of every node, so every node also feeds the output directly.

The same program runs on adlib (reverse: one gradient; forward: one JVP per input entry and one
joint JVP) and on torch float64, and all the derivatives must agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from helpers.reference import assert_close, to_numpy, to_torch, torch_jvp
from helpers.strategies import FAST, arrays_of, random_like, reals
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import adlib

# The same names in both libraries; the programs only call these and Python's operators. Most are
# spelt alike in adlib and torch; the rest are given one by one.
_ALIKE = ("sin", "cos", "tan", "tanh", "exp", "log", "sqrt", "abs", "relu", "sigmoid", "sum")
ADLIB = SimpleNamespace(
    **{name: getattr(adlib, name) for name in _ALIKE},
    softplus=adlib.softplus,
    erf=adlib.erf,
    mean_last=lambda x: adlib.mean(x, axis=-1, keepdims=True),
    log_softmax=lambda x: adlib.log_softmax(x, axis=-1),
)
TORCH = SimpleNamespace(
    **{name: getattr(torch, name) for name in _ALIKE},
    softplus=torch.nn.functional.softplus,
    erf=torch.special.erf,
    mean_last=lambda x: torch.mean(x, dim=-1, keepdim=True),
    log_softmax=lambda x: torch.log_softmax(x, dim=-1),
)


def _ndim(x: Any) -> int:
    return int(getattr(x, "ndim", 0))


def _on_arrays(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """An operation on the last axis; the identity on scalars."""
    return lambda x, lib: fn(x, lib) if _ndim(x) >= 1 else x


# Unary steps. Each keeps its argument inside the domain of what it calls (log of 1 + x^2,
# tan of tanh x), so any input is valid.
UNARY: dict[str, Callable[[Any, Any], Any]] = {
    "sin": lambda x, lib: lib.sin(x),
    "cos": lambda x, lib: lib.cos(x),
    "tanh": lambda x, lib: lib.tanh(x),
    "sigmoid": lambda x, lib: lib.sigmoid(x),
    "erf": lambda x, lib: lib.erf(x),
    "softplus": lambda x, lib: lib.softplus(x),
    "neg": lambda x, lib: -x,
    "abs": lambda x, lib: lib.abs(x),
    "relu": lambda x, lib: lib.relu(x),
    "exp(tanh)": lambda x, lib: lib.exp(lib.tanh(x)),
    "log(1+x^2)": lambda x, lib: lib.log(1.0 + x * x),
    "sqrt(1+x^2)": lambda x, lib: lib.sqrt(1.0 + x * x),
    "tan(tanh)": lambda x, lib: lib.tan(lib.tanh(x)),
    "square": lambda x, lib: x**2,
    "2^tanh": lambda x, lib: 2.0 ** lib.tanh(x),
    "sum": lambda x, lib: lib.sum(x),
    "mean_last": _on_arrays(lambda x, lib: lib.mean_last(x)),
    "log_softmax": _on_arrays(lambda x, lib: lib.log_softmax(x)),
    "first": _on_arrays(lambda x, lib: x[..., :1]),
}
BINARY: dict[str, Callable[[Any, Any, Any], Any]] = {
    "add": lambda a, b, lib: a + b,
    "sub": lambda a, b, lib: a - b,
    "mul": lambda a, b, lib: a * b,
    "div": lambda a, b, lib: a / (1.0 + b * b),
    "pow": lambda a, b, lib: (1.0 + a * a) ** lib.tanh(b),
}

# Mutually broadcastable input shapes.
SHAPES: list[tuple[int, ...]] = [(), (3,), (2, 3), (2, 1)]


@dataclass(frozen=True)
class Program:
    shapes: tuple[tuple[int, ...], ...]
    steps: tuple[tuple[str, tuple[int, ...]], ...]

    def __call__(self, lib: Any, *inputs: Any) -> Any:
        nodes = list(inputs)
        for op, picks in self.steps:
            args = [nodes[i] for i in picks]
            nodes.append(UNARY[op](args[0], lib) if op in UNARY else BINARY[op](args[0], args[1], lib))
        # Every node feeds the output: a weighted sum of their sums.
        total = lib.sum(nodes[0]) * 0.5
        for k, node in enumerate(nodes[1:], start=2):
            total = total + lib.sum(node) * (1.0 / k)
        return total

    def uses(self) -> list[int]:
        """How many steps read each node (the output's weighted sum not counted)."""
        counts = [0] * (len(self.shapes) + len(self.steps))
        for _, picks in self.steps:
            for i in picks:
                counts[i] += 1
        return counts


@st.composite
def programs(draw: st.DrawFn) -> Program:
    shapes = tuple(draw(st.sampled_from(SHAPES)) for _ in range(3))
    steps = []
    for k in range(draw(st.integers(3, 9))):
        available = len(shapes) + k
        # Prefer recent nodes half the time, so intermediate results get reused.
        pick = st.integers(0, available - 1) | st.integers(max(0, available - 3), available - 1)
        op = draw(st.sampled_from(sorted(UNARY) + sorted(BINARY)))
        picks = (draw(pick),) if op in UNARY else (draw(pick), draw(pick))
        steps.append((op, picks))
    return Program(shapes, tuple(steps))


def _draw_inputs(data: st.DataObject, program: Program) -> list[Any]:
    inputs = []
    for shape in program.shapes:
        elements = reals(-2.0, 2.0)
        inputs.append(data.draw(elements if shape == () else arrays_of(shape, elements)))
    return inputs


def _torch_gradients(program: Program, inputs: list[Any]) -> tuple[float, list[np.ndarray]]:
    tensors = [to_torch(x, requires_grad=True) for x in inputs]
    out = program(TORCH, *tensors)
    grads = torch.autograd.grad(out, tensors, allow_unused=True)
    return float(out.detach()), [
        np.zeros(np.shape(x)) if g is None else to_numpy(g) for x, g in zip(inputs, grads, strict=True)
    ]


def _replace(inputs: list[Any], i: int, value: Any) -> list[Any]:
    out = list(inputs)
    out[i] = value
    return out


@settings(FAST, max_examples=50)
@given(program=programs(), data=st.data())
def test_reverse_equals_forward_equals_torch(program: Program, data: st.DataObject) -> None:
    inputs = _draw_inputs(data, program)
    value = program(ADLIB, *inputs)
    assume(np.isfinite(value) and abs(value) < 1e8)
    torch_value, torch_grads = _torch_gradients(program, inputs)
    # Rounding differs between the three; it is relative to the largest derivative around.
    scale = 1.0 + max([abs(torch_value)] + [float(np.max(np.abs(g))) for g in torch_grads])

    # Reverse mode: one pass for all the inputs.
    value_rev, grads = adlib.value_and_grad(lambda *xs: program(ADLIB, *xs), argnums=(0, 1, 2))(*inputs)
    assert_close(value_rev, torch_value, rtol=1e-12)
    for i, x in enumerate(inputs):
        # Forward mode: one pass per entry of this input.
        forward = adlib.jacobian(lambda xi, i=i: program(ADLIB, *_replace(inputs, i, xi)), "forward")(x)
        assert_close(grads[i], forward, rtol=1e-9, atol=1e-11 * scale)
        assert_close(grads[i], torch_grads[i], rtol=1e-9, atol=1e-11 * scale)

    # Forward mode with every input perturbed at once: one JVP, against torch.func.jvp.
    tangents = [random_like(np.shape(x), seed=17 + i) for i, x in enumerate(inputs)]
    _, tangent = adlib.jvp(lambda *xs: program(ADLIB, *xs), inputs, tangents)
    _, torch_tangent = torch_jvp(lambda *xs: program(TORCH, *xs), inputs, tangents)
    expected = sum(float(np.sum(g * t)) for g, t in zip(torch_grads, tangents, strict=True))
    assert_close(tangent, torch_tangent, rtol=1e-9, atol=1e-11 * scale)
    assert_close(tangent, expected, rtol=1e-9, atol=1e-9 * scale)


@settings(FAST, max_examples=30)
@given(program=programs(), data=st.data())
def test_backward_on_leaves_equals_grad(program: Program, data: st.DataObject) -> None:
    """ReverseDiff leaves + backward() give the same gradients as the grad transform."""
    inputs = _draw_inputs(data, program)
    leaves = [adlib.ReverseDiff(x) for x in inputs]
    out = program(ADLIB, *leaves)
    assume(np.isfinite(out.value) and abs(out.value) < 1e8)
    out.backward()
    grads = adlib.grad(lambda *xs: program(ADLIB, *xs), argnums=(0, 1, 2))(*inputs)
    for leaf, g in zip(leaves, grads, strict=True):
        assert_close(leaf.grad, g, rtol=1e-12, atol=1e-14)


def test_the_strategy_makes_shared_nodes() -> None:
    """Guard for the generator itself: shared intermediate nodes do occur."""
    shared = []

    @settings(max_examples=50, deadline=None, database=None)
    @given(program=programs())
    def collect(program: Program) -> None:
        uses = program.uses()
        shared.append(any(n >= 2 for n in uses[len(program.shapes) :]))

    collect()
    assert sum(shared) >= 5


def test_a_known_shared_graph() -> None:
    """A hand-written program with a node used three times: y = x^2, out = sum(sin y * y + y)."""
    program = Program(shapes=((3,), (), ()), steps=(("square", (0,)), ("sin", (3,)), ("mul", (4, 3))))
    x = np.array([0.5, -1.0, 2.0])
    # out = 0.5 sum(x) + (a + b)/2 + sum(x^2)/4 + sum(sin x^2)/5 + sum(x^2 sin x^2)/6 (a, b unused
    # inputs); d/dx = 0.5 + x/2 + (2x cos x^2)/5 + (2x sin x^2 + 2x^3 cos x^2)/6
    y = x * x
    expected = 0.5 + x / 2 + 2 * x * np.cos(y) / 5 + (2 * x * np.sin(y) + 2 * x * y * np.cos(y)) / 6
    grads = adlib.grad(lambda *xs: program(ADLIB, *xs), argnums=(0, 1, 2))(x, 1.0, 2.0)
    assert_close(grads[0], expected)
    assert_close(grads[1], 1.0 / 2)
    assert_close(grads[2], 1.0 / 3)
