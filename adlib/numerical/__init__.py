"""Numerical differentiation: finite differences, their step size, and gradient checking.

A finite difference replaces the limit in the definition of the derivative by a small but
finite step h > 0. For f: R -> R,

    forward difference   D_h f(x) = (f(x + h) - f(x)) / h            = f'(x) + f''(x) h / 2 + O(h^2)
    central difference   C_h f(x) = (f(x + h) - f(x - h)) / (2h)     = f'(x) + f'''(x) h^2 / 6 + O(h^4)

so the *truncation error* (the Taylor remainder) is O(h) for the forward and O(h^2) for the
central difference. In floating point the two function values carry a relative *rounding error*
of about the machine epsilon u = 2^-52 ~ 2.2e-16 each, and their difference is divided by h, so
the rounding error grows like u |f(x)| / h. The total error therefore has a V shape in log-log
axes, with its minimum where the two balance:

    forward: h* ~ sqrt(u) ~ 1.5e-8,     central: h* ~ u^(1/3) ~ 6e-6

(times a factor that depends on |f| and on f'' or f'''); :func:`step_size_study` measures this V.

For f: R^n -> R the gradient takes one difference per coordinate along the unit vector e_i:

    d f / d x_i ~ (f(x + h e_i) - f(x)) / h             (forward: n + 1 evaluations of f)
    d f / d x_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)   (central: 2n evaluations of f)

This O(n) cost makes finite differences useless for training, but ideal as an independent
*correctness test* of an AD gradient: :func:`gradcheck` does exactly that.

Counting evaluations: wrap a function in :class:`CountingFunction` (its ``calls`` attribute counts
the calls), or pass ``return_calls=True`` to :func:`numerical_gradient` /
:func:`numerical_jacobian`, which then return ``(result, calls)``.
"""

from .differences import (
    EPS,
    CountingFunction,
    central_difference,
    forward_difference,
    numerical_gradient,
    numerical_jacobian,
)
from .gradcheck import GradcheckError, GradcheckResult, gradcheck
from .step_size import StepSizeStudy, step_size_study

__all__ = [
    "EPS",
    "CountingFunction",
    "GradcheckError",
    "GradcheckResult",
    "StepSizeStudy",
    "central_difference",
    "forward_difference",
    "gradcheck",
    "numerical_gradient",
    "numerical_jacobian",
    "step_size_study",
]
