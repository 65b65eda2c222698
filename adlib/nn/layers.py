"""Minimal modules on top of reverse mode: Parameter, Module, Linear, MLP, PReLU and Swish.

A module's forward pass runs on :class:`~adlib.ReverseDiff` parameters, so calling it records a
graph; ``loss.backward()`` then fills ``.grad`` of every :class:`Parameter` it reached (adding to
what is there, as in PyTorch, hence ``zero_grad()`` before each step).

Parameters are found the way PyTorch's ``named_parameters()`` reports them, by walking the
module's attributes in the order they were assigned: a :class:`Parameter` attribute ``weight``
is reported as ``"weight"``, a sub-module ``fc1``'s parameters as ``"fc1.weight"``, and modules in
a list attribute ``layers`` as ``"layers.0.weight"``. A parameter shared by two modules is
reported once.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..activations import ACTIVATIONS, prelu, swish
from ..dispatch import Box, raw
from ..primitive import Primitive
from ..reverse import ReverseDiff
from .linear import linear_forward

if TYPE_CHECKING:
    import torch

__all__ = ["INITS", "MLP", "Activation", "Linear", "Module", "PReLU", "Parameter", "Swish"]

RngLike = int | np.random.Generator | None
Init = str | Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


class Parameter(ReverseDiff):
    """A trainable leaf of the computation graph: a :class:`~adlib.ReverseDiff` owned by a module.

    Args:
        value: a number or real array; it is copied to a new float array (float64 unless it
            already is a float array).
        name: an optional label for traces.
        requires_grad: ``False`` freezes it: optimizers leave it unchanged. (adlib still computes
            its adjoint during ``backward``; it just is not used.)
    """

    __slots__ = ("requires_grad",)

    def __init__(self, value: Any, name: str | None = None, requires_grad: bool = True) -> None:
        if isinstance(value, Box):
            raise TypeError("Parameter(value) needs a plain number or array, not an adlib value")
        arr = np.array(value)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"a Parameter must hold real numbers, got dtype {arr.dtype}")
        super().__init__(arr.astype(arr.dtype if arr.dtype.kind == "f" else np.float64), name)
        if not isinstance(requires_grad, bool):
            raise TypeError(f"requires_grad must be a bool, got {type(requires_grad).__name__}")
        self.requires_grad = requires_grad

    @classmethod
    def _lift(cls, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any], level: int) -> ReverseDiff:
        # An operation on a Parameter records an ordinary graph node, not another Parameter.
        return ReverseDiff._lift(prim, args, params, level)

    def __repr__(self) -> str:
        flag = "" if self.requires_grad else ", requires_grad=False"
        return f"Parameter(shape={np.shape(self.value)}{flag})"


def _rng(rng: RngLike) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"rng must be an int seed, a numpy Generator or None, got {type(rng).__name__}")
    return np.random.default_rng(int(rng))


class Module:
    """Base class: subclasses set attributes (Parameters, Modules, lists of Modules) and define
    ``forward``; calling the module calls ``forward``."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def _named(self, prefix: str, seen: set[int]) -> Iterator[tuple[str, Parameter]]:
        for attr, value in vars(self).items():
            name = f"{prefix}{attr}"
            if isinstance(value, Parameter):
                if id(value) not in seen:
                    seen.add(id(value))
                    yield name, value
            elif isinstance(value, Module):
                yield from value._named(f"{name}.", seen)
            elif isinstance(value, list | tuple):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield from item._named(f"{name}.{i}.", seen)
                    elif isinstance(item, Parameter) and id(item) not in seen:
                        seen.add(id(item))
                        yield f"{name}.{i}", item

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` for every parameter of this module and its sub-modules."""
        return self._named("", set())

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter of this module and its sub-modules, each once."""
        return (p for _, p in self.named_parameters())

    def zero_grad(self) -> None:
        """Forget accumulated gradients: set ``.grad`` of every parameter to ``None``."""
        for p in self.parameters():
            p.grad = None

    def num_parameters(self) -> int:
        """The number of scalar parameters."""
        return int(sum(np.size(p.value) for p in self.parameters()))


# ---------------------------------------------------------------- Linear


def _torch_default(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


#: Built-in initialisations of a Linear layer's weight W (in, out); see :class:`Linear`.
INITS = ("uniform", "kaiming", "xavier")


class Linear(Module):
    """Y = X W + b with W stored as (in_features, out_features), as in the lectures.

    Args:
        in_features, out_features: H1 and H2.
        bias: whether to learn b (out_features,).
        rng: an int seed, a numpy Generator, or None (fresh entropy).
        init: how W and b are drawn, with n = in_features:

            * ``"uniform"`` (PyTorch's default): W and b ~ U[-1/sqrt(n), 1/sqrt(n)].
            * ``"kaiming"`` (He, for ReLU): W ~ N(0, 2/n), b = 0.
            * ``"xavier"`` (Glorot uniform): W ~ U[-sqrt(6/(n + H2)), +...], b = 0.
            * a callable ``init(rng, shape) -> array``, used for W (shape (H1, H2)) and b (shape
              (H2,)); e.g. ``lambda rng, s: rng.uniform(-0.5, 0.5, s)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        rng: RngLike = None,
        init: Init = "uniform",
    ) -> None:
        for label, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, numbers.Integral):
                raise TypeError(f"{label} must be an int, got {type(n).__name__}")
            if n < 1:
                raise ValueError(f"{label} must be at least 1, got {n}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        gen = _rng(rng)
        shape_w, shape_b = (self.in_features, self.out_features), (self.out_features,)
        if callable(init):
            w, b = init(gen, shape_w), init(gen, shape_b) if bias else None
        elif init == "uniform":
            w = _torch_default(gen, shape_w, self.in_features)
            b = _torch_default(gen, shape_b, self.in_features) if bias else None
        elif init == "kaiming":
            w = gen.normal(0.0, math.sqrt(2.0 / self.in_features), size=shape_w)
            b = np.zeros(shape_b) if bias else None
        elif init == "xavier":
            bound = math.sqrt(6.0 / (self.in_features + self.out_features))
            w = gen.uniform(-bound, bound, size=shape_w)
            b = np.zeros(shape_b) if bias else None
        else:
            raise ValueError(f"init must be one of {INITS} or a callable (rng, shape) -> array, got {init!r}")
        self.weight = self._parameter("weight", w, shape_w)
        self.bias = self._parameter("bias", b, shape_b) if bias else None

    @staticmethod
    def _parameter(name: str, value: Any, shape: tuple[int, ...]) -> Parameter:
        if np.shape(value) != shape:
            raise ValueError(f"the initial {name} has shape {np.shape(value)}, expected {shape}")
        return Parameter(value, name=name)

    def forward(self, x: Any) -> Any:
        """X (B, in_features) -> X W + b (B, out_features)."""
        return linear_forward(x, self.weight, self.bias)

    def __repr__(self) -> str:
        bias = self.bias is not None
        return f"Linear(in_features={self.in_features}, out_features={self.out_features}, bias={bias})"

    @classmethod
    def from_torch(cls, module: torch.nn.Linear) -> Linear:
        """A copy of a ``torch.nn.Linear`` as float64 adlib parameters.

        PyTorch stores ``weight`` as (out_features, in_features) and computes y = x A^T + b;
        adlib's W is that transpose, so W = A^T and the outputs agree: x W + b = x A^T + b.
        """
        import torch

        if not isinstance(module, torch.nn.Linear):
            raise TypeError(f"from_torch needs a torch.nn.Linear, got {type(module).__name__}")
        layer = cls.__new__(cls)
        layer.in_features, layer.out_features = module.in_features, module.out_features
        a = module.weight.detach().to("cpu", torch.float64).numpy()
        layer.weight = Parameter(a.T.copy(), name="weight")
        b = module.bias
        layer.bias = (
            None if b is None else Parameter(b.detach().to("cpu", torch.float64).numpy().copy(), name="bias")
        )
        return layer

    def to_torch(self, dtype: torch.dtype | None = None) -> torch.nn.Linear:
        """A ``torch.nn.Linear`` with the same map (weight = W^T), float64 unless ``dtype`` says otherwise."""
        import torch

        dtype = torch.float64 if dtype is None else dtype
        module = torch.nn.Linear(self.in_features, self.out_features, bias=self.bias is not None, dtype=dtype)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(raw(self.weight).T)))
            if self.bias is not None:
                module.bias.copy_(torch.from_numpy(np.asarray(raw(self.bias))))
        return module


# ---------------------------------------------------------------- trainable activations


def _positive_int(label: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{label} must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{label} must be at least 1, got {n}")
    return int(n)


class PReLU(Module):
    """Parametric ReLU: x for x > 0, a x otherwise, with a learnable slope per feature.

    ``num_parameters=1`` shares one slope across all features; ``num_parameters=H`` gives one
    slope per feature of an (B, H) input (as ``torch.nn.PReLU``). Slopes start at ``init``.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        n = _positive_int("num_parameters", num_parameters)
        self.weight = Parameter(np.full(n, float(init)), name="weight")

    def forward(self, x: Any) -> Any:
        return prelu(x, self.weight)


class Swish(Module):
    """Trainable Swish sigma(a s + b)(c s + d) with four parameters per unit.

    Starts at a = c = 1, b = d = 0, where it equals SiLU; ``num_features=1`` shares one set.
    """

    def __init__(self, num_features: int = 1) -> None:
        n = _positive_int("num_features", num_features)
        self.a = Parameter(np.ones(n), name="a")
        self.b = Parameter(np.zeros(n), name="b")
        self.c = Parameter(np.ones(n), name="c")
        self.d = Parameter(np.zeros(n), name="d")

    def forward(self, x: Any) -> Any:
        return swish(x, self.a, self.b, self.c, self.d)


class Activation(Module):
    """A parameter-free activation from :data:`adlib.activations.ACTIVATIONS`, or any function."""

    def __init__(self, fn: str | Callable[[Any], Any]) -> None:
        if isinstance(fn, str):
            if fn not in ACTIVATIONS:
                raise ValueError(f"unknown activation {fn!r}; choose one of {sorted(ACTIVATIONS)}")
            self.name, self.fn = fn, ACTIVATIONS[fn]
        elif callable(fn):
            self.name, self.fn = getattr(fn, "__name__", "activation"), fn
        else:
            raise TypeError(f"an activation must be a name or a callable, got {type(fn).__name__}")

    def forward(self, x: Any) -> Any:
        return self.fn(x)

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


# ---------------------------------------------------------------- MLP


class MLP(Module):
    """A multilayer perceptron: Linear, activation, Linear, ..., Linear (no activation at the end).

    Args:
        sizes: layer widths, input first: ``(64, 64, 10)`` is 64 -> 64 -> 10 with one hidden layer.
        activation: a name in ``ACTIVATIONS``, a callable, or ``"prelu"`` / ``"swish"`` for
            trainable activations (one parameter set per hidden unit).
        bias, rng, init: passed to every :class:`Linear` (one generator, drawn layer by layer).

    ``self.layers`` holds all modules in order (parameter names ``"layers.0.weight"``, ...);
    ``self.linears`` just the Linear layers, input layer first.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Callable[[Any], Any] = "relu",
        *,
        bias: bool = True,
        rng: RngLike = None,
        init: Init = "uniform",
    ) -> None:
        sizes = tuple(sizes)
        if len(sizes) < 2:
            raise ValueError(f"an MLP needs at least an input and an output size, got sizes={sizes}")
        gen = _rng(rng)
        self.sizes = sizes
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            layers.append(Linear(n_in, n_out, bias, rng=gen, init=init))
            if i < len(sizes) - 2:
                layers.append(self._activation(activation, n_out))
        self.layers = layers

    @property
    def linears(self) -> list[Linear]:
        """The Linear layers, input layer first."""
        return [m for m in self.layers if isinstance(m, Linear)]

    @staticmethod
    def _activation(activation: str | Callable[[Any], Any], width: int) -> Module:
        if activation == "prelu":
            return PReLU(width)
        if activation == "swish":
            return Swish(width)
        return Activation(activation)

    def forward(self, x: Any) -> Any:
        """X (B, sizes[0]) -> logits (B, sizes[-1])."""
        for layer in self.layers:
            x = layer(x)
        return x

    def __repr__(self) -> str:
        inner = ", ".join(repr(m) for m in self.layers)
        return f"MLP([{inner}])"
