"""Neural-network building blocks on adlib's reverse mode: the linear layer, modules and losses."""

from .layers import INITS, MLP, Activation, Linear, Module, Parameter, PReLU, Swish
from .linear import LINEAR, linear_backward, linear_forward
from .losses import cross_entropy, mse

__all__ = [
    "INITS",
    "LINEAR",
    "MLP",
    "Activation",
    "Linear",
    "Module",
    "PReLU",
    "Parameter",
    "Swish",
    "cross_entropy",
    "linear_backward",
    "linear_forward",
    "mse",
]
