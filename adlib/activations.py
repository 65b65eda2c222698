"""Activation functions as primitives: one derivative-table entry per function.

The classic ones live in :mod:`adlib.calculus` and are re-used here, not redefined:
``sigmoid``, ``tanh``, ``relu`` and ``softplus``. This module adds the variants of the ReLU from
the lectures, each as a :class:`~adlib.primitive.Primitive` (value + partial derivatives), so they
work on floats, numpy arrays, :class:`~adlib.ForwardDiff` and :class:`~adlib.ReverseDiff`:

==============  ==================================  ====================================================
function        value                               partial derivative(s)
==============  ==================================  ====================================================
leaky_relu      x if x > 0 else alpha x             m + (1 - m) alpha,            m = [x > 0]
elu             x if x > 0 else alpha (e^x - 1)     m + (1 - m)(y + alpha)        (alpha e^x = y + alpha)
gelu            x Phi(x)                            Phi(x) + x phi(x)
silu            x sigma(x)                          sigma(x)(1 + x (1 - sigma(x)))
prelu           x if x > 0 else a x                 d/dx: m + (1 - m) a,   d/da: (1 - m) x
==============  ==================================  ====================================================

Here Phi(x) = (1 + erf(x / sqrt 2)) / 2 is the standard normal CDF and phi(x) = e^(-x^2/2) / sqrt(2 pi)
its density. The trainable Swish of the lectures, sigma(a s + b)(c s + d), is a *composite* of
primitives (:func:`swish`), so it needs no rule of its own.

Kinks. ReLU, LeakyReLU, ELU and PReLU are not differentiable at 0. Like PyTorch, adlib uses the
"otherwise" branch there: relu'(0) = 0 (a subgradient: any value in [0, 1] satisfies
f(z) - f(0) >= g z for all z), leaky_relu'(0) = alpha, prelu'(0) = a, elu'(0) = alpha.

Nested derivatives. Partials are written with adlib's generic functions (``erf``, ``exp``,
``sigmoid``) and, for the piecewise functions, as arithmetic on the mask m = [x > 0] instead of
``np.where`` on constants. So when the primal itself carries a tangent (a derivative taken inside
a derivative) the partial carries the right derivative too, e.g. elu'' = (1 - m)(y + alpha) on the
negative side rather than 0.

Stability. Every value and derivative here is finite for finite x, |x| = 1000 included, without
overflow, division by zero or invalid operations: ELU evaluates expm1 on min(x, 0), GELU uses erfc
for x Phi(x) (no cancellation in 1 + erf for very negative x), SiLU uses scipy's expit. Numbers
that are smaller than the smallest double do round to 0 (e.g. phi(1000)); numpy counts that as an
*underflow*, which it ignores by default, and the result 0 is the correctly rounded value.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

from .calculus import erf, exp, relu, sigmoid, softplus, tanh
from .dispatch import Box, apply, raw
from .primitive import Primitive
from .transforms import derivative

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "LEAKY_RELU",
    "PRELU",
    "SILU",
    "activation_derivative",
    "elu",
    "gelu",
    "leaky_relu",
    "prelu",
    "silu",
    "swish",
]

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _scalar_or_array(out: Any) -> Any:
    """numpy returns 0-d arrays from ``np.where`` on scalars; give back a numpy scalar instead."""
    return out[()] if isinstance(out, np.ndarray) and out.ndim == 0 else out


def _positive_mask(x: Any) -> Any:
    """The indicator [x > 0] as floats of x's precision (a plain float for scalar x)."""
    v = raw(x)
    m = np.greater(v, 0)
    if isinstance(m, np.ndarray):
        kind_f = isinstance(v, np.ndarray) and v.dtype.kind == "f"
        return m.astype(v.dtype if kind_f else np.float64)
    return float(m)


def _check_slope(name: str, value: Any) -> float:
    """A fixed hyper-parameter (alpha) must be a finite real number, not an array or a box."""
    if isinstance(value, Box):
        raise TypeError(
            f"{name} is a fixed hyper-parameter and cannot carry a derivative; "
            "use prelu(x, a) for a learnable slope"
        )
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def _check_broadcast(what: str, x: Any, p: Any) -> None:
    """A parameter may broadcast against x (scalar, per-feature vector) but must not enlarge it."""
    xs, ps = np.shape(raw(x)), np.shape(raw(p))
    try:
        out = np.broadcast_shapes(xs, ps)
    except ValueError:
        raise ValueError(f"{what} of shape {ps} does not broadcast against x of shape {xs}") from None
    if out != xs:
        raise ValueError(f"{what} of shape {ps} would enlarge x of shape {xs} to {out}")


# ---------------------------------------------------------------- value functions (numpy only)


def _leaky_relu_value(x: Any, alpha: float = 0.01) -> Any:
    return _scalar_or_array(np.where(x > 0, x, alpha * x))


def _elu_value(x: Any, alpha: float = 1.0) -> Any:
    # expm1 only ever sees x <= 0, so it never overflows; for x > 0 the first branch is used.
    return _scalar_or_array(np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))))


def _gelu_value(x: Any) -> Any:
    # Phi(x) = erfc(-x / sqrt 2) / 2 keeps full relative accuracy where 1 + erf(x / sqrt 2) cancels.
    return x * (0.5 * special.erfc(-x * _INV_SQRT2))


def _silu_value(x: Any) -> Any:
    return x * special.expit(x)


def _prelu_value(x: Any, a: Any) -> Any:
    return _scalar_or_array(np.where(x > 0, x, a * x))


# ---------------------------------------------------------------- partials (generic functions)


def _leaky_relu_partial(ans: Any, x: Any, alpha: float = 0.01) -> Any:
    m = _positive_mask(x)
    return m + (1 - m) * alpha


def _elu_partial(ans: Any, x: Any, alpha: float = 1.0) -> Any:
    # For x <= 0: d/dx alpha (e^x - 1) = alpha e^x = y + alpha, written with y so it nests.
    m = _positive_mask(x)
    return m + (1 - m) * (ans + alpha)


def _gelu_partial(ans: Any, x: Any) -> Any:
    cdf = 0.5 * (1 + erf(x * _INV_SQRT2))
    pdf = _INV_SQRT_2PI * exp(-0.5 * (x * x))
    return cdf + x * pdf


def _silu_partial(ans: Any, x: Any) -> Any:
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


def _prelu_partial_x(ans: Any, x: Any, a: Any) -> Any:
    m = _positive_mask(x)
    return m + (1 - m) * a


def _prelu_partial_a(ans: Any, x: Any, a: Any) -> Any:
    return (1 - _positive_mask(x)) * x


LEAKY_RELU = Primitive(
    "leaky_relu",
    _leaky_relu_value,
    partials=(_leaky_relu_partial,),
    template="leaky_relu {0}",
    partial_templates=("[{0} > 0] + α[{0} ≤ 0]",),
)
ELU = Primitive(
    "elu",
    _elu_value,
    partials=(_elu_partial,),
    template="elu {0}",
    partial_templates=("[{0} > 0] + α e^{0} [{0} ≤ 0]",),
)
GELU = Primitive(
    "gelu",
    _gelu_value,
    partials=(_gelu_partial,),
    template="gelu {0}",
    partial_templates=("Φ({0}) + {0} φ({0})",),
)
SILU = Primitive(
    "silu",
    _silu_value,
    partials=(_silu_partial,),
    template="silu {0}",
    partial_templates=("σ({0})(1 + {0}(1 - σ({0})))",),
)
PRELU = Primitive(
    "prelu",
    _prelu_value,
    partials=(_prelu_partial_x, _prelu_partial_a),
    template="prelu({0}; {1})",
    partial_templates=("[{0} > 0] + {1}[{0} ≤ 0]", "{0}[{0} ≤ 0]"),
)

# ---------------------------------------------------------------- the generic functions


def leaky_relu(x: Any, alpha: float = 0.01) -> Any:
    """LeakyReLU: x for x > 0, alpha x otherwise (a small slope instead of ReLU's flat zero).

    Derivative 1 for x > 0 and alpha otherwise (alpha at the kink x = 0, as PyTorch).
    """
    return apply(LEAKY_RELU, x, alpha=_check_slope("alpha", alpha))


def elu(x: Any, alpha: float = 1.0) -> Any:
    """Exponential linear unit: x for x > 0, alpha (e^x - 1) otherwise.

    Derivative 1 for x > 0 and alpha e^x otherwise; continuous at 0 when alpha = 1.
    """
    return apply(ELU, x, alpha=_check_slope("alpha", alpha))


def gelu(x: Any) -> Any:
    """Gaussian error linear unit, exact form: x Phi(x) with Phi the standard normal CDF.

    Derivative Phi(x) + x phi(x). (The lecture slide expands GELU as "Gaussian Exponential Linear
    Unit"; the name is Gaussian *Error* Linear Unit, after the error function in Phi.)
    This is ``torch.nn.functional.gelu(x, approximate="none")``, not the tanh approximation.
    """
    return apply(GELU, x)


def silu(x: Any) -> Any:
    """Sigmoid linear unit (also called Swish): x sigma(x); derivative sigma(x)(1 + x(1 - sigma(x)))."""
    return apply(SILU, x)


def prelu(x: Any, a: Any) -> Any:
    """Parametric ReLU: x for x > 0, a x otherwise, with a learnable slope ``a``.

    ``a`` is a scalar or an array that broadcasts against x without enlarging it (one slope per
    feature: shape (H,) for x of shape (B, H)). Partials: d/dx = [x > 0] + a [x <= 0] and
    d/da = x [x <= 0]; in reverse mode the adjoint of a shared slope is summed over the axes it
    was broadcast along.
    """
    if not isinstance(a, Box | np.ndarray) and (
        isinstance(a, bool | np.bool_) or not isinstance(a, numbers.Real)
    ):
        raise TypeError(f"the slope a must be a number, an array or an adlib value, got {type(a).__name__}")
    _check_broadcast("the slope a", x, a)
    return apply(PRELU, x, a)


def swish(s: Any, a: Any = 1.0, b: Any = 0.0, c: Any = 1.0, d: Any = 0.0) -> Any:
    """Trainable Swish sigma(a s + b)(c s + d), with four parameters per unit.

    A composite of primitives (mul, add, sigmoid), so its derivatives come from the chain rule:
    with z = a s + b, g = sigma(z), u = c s + d,

        d/ds = a g (1 - g) u + c g,   d/da = s g (1 - g) u,   d/db = g (1 - g) u,
        d/dc = s g,                   d/dd = g.

    With a = c = 1 and b = d = 0 it is SiLU. Each parameter must broadcast against s without
    enlarging it (scalars, or one value per feature).
    """
    for name, p in (("a", a), ("b", b), ("c", c), ("d", d)):
        _check_broadcast(f"the parameter {name}", s, p)
    return sigmoid(a * s + b) * (c * s + d)


#: Single-argument activations by name (hyper-parameters at their defaults), for plots and MLPs.
ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "softplus": softplus,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "gelu": gelu,
    "silu": silu,
}


def activation_derivative(name: str, x: Any) -> Any:
    """f'(x) elementwise for the activation ``ACTIVATIONS[name]``, by one forward-mode pass.

    For an elementwise f the Jacobian is diagonal, so the JVP with the all-ones tangent is the
    vector of derivatives f'(x_i).
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return derivative(ACTIVATIONS[name])(x)
