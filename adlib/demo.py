"""A short tour of adlib on the lectures' worked examples: ``python -m adlib.demo``.

1. :math:`f(x_1, x_2) = \\ln x_1 + x_1 x_2 - \\sin x_2` at :math:`(2, 5)`: the forward primal
   trace, the tangent trace for :math:`\\partial/\\partial x_1` and the reverse adjoint trace
   (:math:`y = 11.652`, :math:`\\nabla f = (5.5, 1.716)`).
2. :math:`f(x_1, x_2, x_3) = 6(x_1 + x_2^2 x_3)` at :math:`(1, 2, 3)`: the gradient
   :math:`(6, 72, 24)` by one reverse pass and by three forward passes.
3. The slope of :math:`2x^3 - 6x^2 + x + 1` at :math:`x = 2`: :math:`6x^2 - 12x + 1 = 1`.
4. The gradient of :math:`2x^2 + 3y^2` at :math:`(4, 5)`: :math:`(4x, 6y) = (16, 30)`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from . import count_passes, derivative, grad, jvp, log, sin
from .trace import trace
from .trace_render import format_value


def seed_function(x1: Any, x2: Any) -> Any:
    """The lecture's running example ln(x1) + x1 x2 - sin(x2)."""
    return log(x1) + x1 * x2 - sin(x2)


def six_function(x1: Any, x2: Any, x3: Any) -> Any:
    """6 (x1 + x2^2 x3)."""
    return 6 * (x1 + x2**2 * x3)


def cubic(x: Any) -> Any:
    """2x^3 - 6x^2 + x + 1."""
    return 2 * x**3 - 6 * x**2 + x + 1


def bowl(x: Any, y: Any) -> Any:
    """2x^2 + 3y^2."""
    return 2 * x**2 + 3 * y**2


def _vector(values: Sequence[Any]) -> str:
    return "(" + ", ".join(format_value(v) for v in values) + ")"


def _heading(text: str) -> str:
    return f"\n{text}\n{'=' * len(text)}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the demo; returns the exit code 0."""
    parser = argparse.ArgumentParser(
        prog="python -m adlib.demo", description="Traces and gradients of the lectures' worked examples."
    )
    parser.parse_args(argv)

    print(_heading("1. f(x1, x2) = ln(x1) + x1 x2 - sin(x2) at (2, 5)"))
    t = trace(seed_function, 2.0, 5.0)
    print(t.primal_table())
    print("(Erratum: one seed lecture writes v_3 = sin 5 = 0.959; in fact sin 5 = -0.959,")
    print(" so v_5 = v_4 - v_3 = 10.693 - (-0.959) = 11.652.)\n")
    print(t.tangent_table("x1"))
    print()
    print(t.adjoint_table())

    print(_heading("2. f(x1, x2, x3) = 6 (x1 + x2^2 x3) at (1, 2, 3)"))
    point = (1.0, 2.0, 3.0)
    with count_passes() as reverse_count:
        reverse_grad = grad(six_function, argnums=(0, 1, 2))(*point)
    with count_passes() as forward_count:
        units = [tuple(1.0 if i == j else 0.0 for i in range(3)) for j in range(3)]
        forward_grad = [jvp(six_function, point, e)[1] for e in units]
    print(f"reverse mode: gradient {_vector(reverse_grad)} in {reverse_count.reverse} reverse pass")
    print(f"forward mode: gradient {_vector(forward_grad)} in {forward_count.forward} forward passes")
    print("(one reverse pass gives every partial derivative of a scalar output; forward mode needs")
    print(" one pass per input)")

    print(_heading("3. slope of 2x^3 - 6x^2 + x + 1 at x = 2"))
    print(f"f'(2) = {format_value(derivative(cubic)(2.0))}   (f'(x) = 6x^2 - 12x + 1)")

    print(_heading("4. gradient of 2x^2 + 3y^2 at (4, 5)"))
    print(f"grad f(4, 5) = {_vector(grad(bowl, argnums=(0, 1))(4.0, 5.0))}   (= (4x, 6y))")
    print("(Erratum: one seed lecture prints (15, 30); 4 x 4 = 16, so the gradient is (16, 30).)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
