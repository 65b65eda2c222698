"""adlib: a small, exact reference library for teaching automatic differentiation.

Forward mode (:class:`ForwardDiff`, dual numbers), reverse mode (:class:`ReverseDiff`, a recorded
graph), the function transforms built on them, and generic elementary functions that work on
floats, numpy arrays and both kinds of derivative-carrying values. Every primitive's value and
derivative rule is written once, in the tables of :mod:`adlib.calculus` and :mod:`adlib.arrays`.
"""

import importlib
from typing import Any

from . import data, grading
from .activations import ACTIVATIONS, activation_derivative, elu, gelu, leaky_relu, prelu, silu, swish
from .arrays import getitem, log_softmax, matmul, mean, reshape, sum, transpose
from .calculus import (
    abs,
    add,
    cos,
    divide,
    erf,
    exp,
    log,
    multiply,
    negative,
    power,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    subtract,
    tan,
    tanh,
)
from .dispatch import apply, raw
from .forward import ForwardDiff
from .graph import draw_graph, to_dot
from .numerical import (
    CountingFunction,
    GradcheckError,
    GradcheckResult,
    StepSizeStudy,
    central_difference,
    forward_difference,
    gradcheck,
    numerical_gradient,
    numerical_jacobian,
    step_size_study,
)
from .optim import SGD
from .primitive import Primitive
from .reverse import ReverseDiff, backpropagate, topological_order
from .tables import MarkdownText, markdown, md_table
from .trace import Trace, trace
from .transforms import PassCount, count_passes, derivative, grad, jacobian, jvp, value_and_grad, vjp

__version__ = "0.1.0"

# Loaded on first use: they import torch or SymPy, which a plain ``import adlib`` should not pay for.
_LAZY_SUBMODULES = ("experiments", "symbolic", "nn", "training")


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'adlib' has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS",
    "SGD",
    "CountingFunction",
    "ForwardDiff",
    "GradcheckError",
    "GradcheckResult",
    "MarkdownText",
    "PassCount",
    "Primitive",
    "ReverseDiff",
    "StepSizeStudy",
    "Trace",
    "abs",
    "activation_derivative",
    "add",
    "apply",
    "backpropagate",
    "central_difference",
    "cos",
    "count_passes",
    "data",
    "derivative",
    "divide",
    "draw_graph",
    "elu",
    "erf",
    "exp",
    "experiments",
    "forward_difference",
    "gelu",
    "getitem",
    "grad",
    "gradcheck",
    "grading",
    "jacobian",
    "jvp",
    "leaky_relu",
    "log",
    "log_softmax",
    "markdown",
    "matmul",
    "md_table",
    "mean",
    "multiply",
    "negative",
    "numerical_gradient",
    "numerical_jacobian",
    "power",
    "prelu",
    "raw",
    "relu",
    "reshape",
    "sigmoid",
    "silu",
    "sin",
    "softplus",
    "sqrt",
    "step_size_study",
    "subtract",
    "sum",
    "swish",
    "symbolic",
    "tan",
    "tanh",
    "to_dot",
    "topological_order",
    "trace",
    "transpose",
    "value_and_grad",
    "vjp",
]
