"""The derivative table for scalar calculus: arithmetic and the elementary functions.

Each entry is a :class:`~adlib.primitive.Primitive` holding the value and the partial
derivatives. The module-level functions (``exp``, ``log``, ...) are the public, generic
versions: they work on floats, numpy arrays, ``ForwardDiff`` and ``ReverseDiff`` alike.

Partials are written with these generic functions, so a partial of a boxed value is itself
differentiable (this is what makes higher derivatives work). Domains follow numpy: ``log`` of a
negative number is ``nan`` and of 0 is ``-inf``, ``sqrt`` of a negative number is ``nan``, each
with numpy's RuntimeWarning; nothing is clipped silently.

============  ===========================  ==========================================
primitive     value                        partial derivative(s)
============  ===========================  ==========================================
add           a + b                        1, 1
sub           a - b                        1, -1
mul           a b                          b, a
div           a / b                        1/b, -a/b^2 = -y/b
neg           -a                           -1
pow           a^b                          b a^(b-1), a^b ln a (only when b varies)
exp           e^x                          e^x = y
log           ln x                         1/x
sin           sin x                        cos x
cos           cos x                        -sin x
tan           tan x                        1 + tan^2 x = 1 + y^2
tanh          tanh x                       1 - tanh^2 x = 1 - y^2
sqrt          sqrt x                       1 / (2 sqrt x) = 1/(2y)
abs           |x|                          sign x (the subgradient 0 at x = 0)
sigmoid       1 / (1 + e^-x)               sigma(x)(1 - sigma(x)) = y(1 - y)
relu          max(x, 0)                    1 if x > 0 else 0 (the subgradient 0 at x = 0)
softplus      ln(1 + e^x)                  sigma(x)
erf           2/sqrt(pi) int_0^x e^-t^2    2/sqrt(pi) e^(-x^2)
============  ===========================  ==========================================
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from .dispatch import apply, raw
from .primitive import Primitive

# ---------------------------------------------------------------- arithmetic


def _pow_base(ans: Any, a: Any, b: Any) -> Any:
    return b * apply(POW, a, b - 1)


def _pow_exponent(ans: Any, a: Any, b: Any) -> Any:
    # a^b ln a reads 0 * (-inf) = nan where a = 0, but there a^b is constant in b (0 for b > 0),
    # so the derivative is 0 (PyTorch uses 0 for b >= 0 too): take ln 1 = 0 at those entries.
    zero_base = (raw(a) == 0) & (raw(b) >= 0)
    if np.any(zero_base):
        a = a + zero_base
    return ans * log(a)


def _reciprocal(ans: Any, x: Any) -> Any:
    # 1/x. A Python float goes through numpy, so that at 0 the derivative of ln is inf with numpy's
    # RuntimeWarning (as the value ln 0 = -inf is), not a ZeroDivisionError inside backward().
    return 1.0 / np.float64(x) if x.__class__ is float else 1 / x


def _as_operand(x: Any) -> Any:
    # The generic functions read lists like numpy does; plain ``+`` on two lists would concatenate.
    return np.asarray(x, dtype=np.float64) if isinstance(x, list | tuple) else x


ADD = Primitive(
    "add", lambda a, b: a + b, partials=(1, 1), template="{0} + {1}", partial_templates=("1", "1")
)
SUB = Primitive(
    "sub", lambda a, b: a - b, partials=(1, -1), template="{0} - {1}", partial_templates=("1", "-1")
)
MUL = Primitive(
    "mul",
    lambda a, b: a * b,
    partials=(lambda ans, a, b: b, lambda ans, a, b: a),
    template="{0} × {1}",
    partial_templates=("{1}", "{0}"),
)
DIV = Primitive(
    "div",
    lambda a, b: a / b,
    partials=(lambda ans, a, b: 1 / b, lambda ans, a, b: -ans / b),
    template="{0} / {1}",
    partial_templates=("1/{1}", "-{0}/{1}²"),
)
NEG = Primitive("neg", lambda a: -a, partials=(-1,), template="-{0}", partial_templates=("-1",))
POW = Primitive(
    "pow",
    np.power,
    partials=(_pow_base, _pow_exponent),
    template="{0}^{1}",
    partial_templates=("{1} {0}^({1}-1)", "{0}^{1} ln {0}"),
)

# ---------------------------------------------------------------- elementary functions


def _stable_sigmoid(x: Any) -> Any:
    # 1 / (1 + e^-x) = exp(-ln(1 + e^-x)); logaddexp never overflows, so |x| = 1000 is exact
    # and warning-free.
    return np.exp(-np.logaddexp(0.0, -x))


def _relu(x: Any) -> Any:
    return np.maximum(x, 0.0) if isinstance(x, np.ndarray) else (0.0 if x <= 0 else x)


EXP = Primitive(
    "exp", np.exp, partials=(lambda ans, x: ans,), template="exp {0}", partial_templates=("exp {0}",)
)
LOG = Primitive("log", np.log, partials=(_reciprocal,), template="ln {0}", partial_templates=("1/{0}",))
SIN = Primitive(
    "sin", np.sin, partials=(lambda ans, x: cos(x),), template="sin {0}", partial_templates=("cos {0}",)
)
COS = Primitive(
    "cos", np.cos, partials=(lambda ans, x: -sin(x),), template="cos {0}", partial_templates=("-sin {0}",)
)
TAN = Primitive(
    "tan",
    np.tan,
    partials=(lambda ans, x: 1 + ans * ans,),
    template="tan {0}",
    partial_templates=("1 + tan² {0}",),
)
TANH = Primitive(
    "tanh",
    np.tanh,
    partials=(lambda ans, x: 1 - ans * ans,),
    template="tanh {0}",
    partial_templates=("1 - tanh² {0}",),
)
SQRT = Primitive(
    "sqrt", np.sqrt, partials=(lambda ans, x: 0.5 / ans,), template="√{0}", partial_templates=("1/(2√{0})",)
)
ABS = Primitive(
    "abs",
    np.abs,
    partials=(lambda ans, x: np.sign(raw(x)),),
    template="|{0}|",
    partial_templates=("sign {0}",),
)
SIGMOID = Primitive(
    "sigmoid",
    _stable_sigmoid,
    partials=(lambda ans, x: ans * (1 - ans),),
    template="σ({0})",
    partial_templates=("σ({0})(1 - σ({0}))",),
)
RELU = Primitive(
    "relu",
    _relu,
    # The indicator x > 0 as booleans: multiplying a cotangent by it keeps the cotangent's dtype.
    partials=(lambda ans, x: raw(x) > 0,),
    template="relu {0}",
    partial_templates=("[{0} > 0]",),
)
SOFTPLUS = Primitive(
    "softplus",
    lambda x: np.logaddexp(0.0, x),
    partials=(lambda ans, x: sigmoid(x),),
    template="softplus {0}",
    partial_templates=("σ({0})",),
)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
ERF = Primitive(
    "erf",
    special.erf,
    partials=(lambda ans, x: _TWO_OVER_SQRT_PI * exp(-(x * x)),),
    template="erf {0}",
    partial_templates=("2/√π exp(-{0}²)",),
)

# ---------------------------------------------------------------- the generic functions


def add(a: Any, b: Any) -> Any:
    """a + b (lists are read as arrays)."""
    return apply(ADD, _as_operand(a), _as_operand(b))


def subtract(a: Any, b: Any) -> Any:
    """a - b (lists are read as arrays)."""
    return apply(SUB, _as_operand(a), _as_operand(b))


def multiply(a: Any, b: Any) -> Any:
    """a b (lists are read as arrays)."""
    return apply(MUL, _as_operand(a), _as_operand(b))


def divide(a: Any, b: Any) -> Any:
    """a / b (lists are read as arrays)."""
    return apply(DIV, _as_operand(a), _as_operand(b))


def negative(a: Any) -> Any:
    """-a (a list is read as an array)."""
    return apply(NEG, _as_operand(a))


def power(a: Any, b: Any) -> Any:
    """a ** b; the derivative in b (a^b ln a) is only formed when b carries one."""
    return apply(POW, _as_operand(a), _as_operand(b))


def exp(x: Any) -> Any:
    """e^x; derivative e^x."""
    return apply(EXP, x)


def log(x: Any) -> Any:
    """Natural logarithm ln x; derivative 1/x. Outside the domain: numpy's nan / -inf."""
    return apply(LOG, x)


def sin(x: Any) -> Any:
    """sin x; derivative cos x."""
    return apply(SIN, x)


def cos(x: Any) -> Any:
    """cos x; derivative -sin x."""
    return apply(COS, x)


def tan(x: Any) -> Any:
    """tan x; derivative 1 + tan^2 x."""
    return apply(TAN, x)


def tanh(x: Any) -> Any:
    """tanh x; derivative 1 - tanh^2 x."""
    return apply(TANH, x)


def sqrt(x: Any) -> Any:
    """sqrt x; derivative 1 / (2 sqrt x). Negative input: numpy's nan."""
    return apply(SQRT, x)


def abs(x: Any) -> Any:
    """|x|; derivative sign x, with the subgradient 0 at x = 0."""
    return apply(ABS, x)


def sigmoid(x: Any) -> Any:
    """The logistic function sigma(x) = 1 / (1 + e^-x); derivative sigma(x)(1 - sigma(x)).

    Computed as exp(-logaddexp(0, -x)): finite and warning-free for any finite x.
    """
    return apply(SIGMOID, x)


def relu(x: Any) -> Any:
    """max(x, 0); derivative 1 for x > 0 and 0 otherwise (at the kink x = 0 the subgradient 0,
    as PyTorch does)."""
    return apply(RELU, x)


def softplus(x: Any) -> Any:
    """ln(1 + e^x), computed stably; derivative sigma(x)."""
    return apply(SOFTPLUS, x)


def erf(x: Any) -> Any:
    """The error function; derivative 2/sqrt(pi) e^(-x^2)."""
    return apply(ERF, x)
