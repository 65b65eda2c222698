"""adlib: a small, exact reference library for teaching automatic differentiation.

Forward mode (:class:`ForwardDiff`, dual numbers), reverse mode (:class:`ReverseDiff`, a recorded
graph), the function transforms built on them, and generic elementary functions that work on
floats, numpy arrays and both kinds of derivative-carrying values. Every primitive's value and
derivative rule is written once, in the tables of :mod:`adlib.calculus` and :mod:`adlib.arrays`.
"""

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
from .primitive import Primitive
from .reverse import ReverseDiff, backpropagate, topological_order
from .transforms import PassCount, count_passes, derivative, grad, jacobian, jvp, value_and_grad, vjp

__version__ = "0.1.0"

__all__ = [
    "ForwardDiff",
    "PassCount",
    "Primitive",
    "ReverseDiff",
    "abs",
    "add",
    "apply",
    "backpropagate",
    "cos",
    "count_passes",
    "derivative",
    "divide",
    "erf",
    "exp",
    "getitem",
    "grad",
    "jacobian",
    "jvp",
    "log",
    "log_softmax",
    "matmul",
    "mean",
    "multiply",
    "negative",
    "power",
    "raw",
    "relu",
    "reshape",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "subtract",
    "sum",
    "tan",
    "tanh",
    "topological_order",
    "transpose",
    "value_and_grad",
    "vjp",
]
