"""The ``Primitive``: one operation's value and derivative rule, kept together.

Every differentiable operation in adlib is one ``Primitive``. Forward mode
(:class:`~adlib.forward.ForwardDiff`), reverse mode (:class:`~adlib.reverse.ReverseDiff`),
the traces and the activations all read the same object, so the calculus is written once.

Two kinds of rule are supported:

* **Elementwise** operations give their local partial derivatives
  :math:`\\partial y / \\partial a_i`, evaluated at the primal point. From those,

  - the JVP (forward mode) is  :math:`\\dot y = \\sum_i \\frac{\\partial y}{\\partial a_i}\\,\\dot a_i`,
  - the VJP (reverse mode) is  :math:`\\bar a_i \\mathrel{+}= \\operatorname{unbroadcast}
    \\big(\\bar y\\,\\frac{\\partial y}{\\partial a_i}\\big)`,

  where *unbroadcast* sums the cotangent over the axes numpy broadcast ``a_i`` along.
  A partial is a function ``(ans, *args, **params) -> array`` or the constant ``1``/``-1``
  (for ``+`` and ``-``, so no multiplication by one is ever done).

* **Structural** operations (``@``, ``sum``, ``reshape``, indexing, ...) are not elementwise,
  so they give their JVP and VJP directly: ``jvp(tangents, ans, *args, **params)`` and
  ``vjp(g, ans, wanted, *args, **params) -> tuple`` (one cotangent per argument, ``None``
  where ``wanted[i]`` is falsy).

Partials are written with adlib's generic functions (``adlib.ops``), so they also work when
the primal itself carries a derivative; that is what makes nested forward mode (derivatives of
derivatives) come out right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Partial = Callable[..., Any] | int


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum the cotangent ``g`` down to ``shape``, undoing numpy broadcasting.

    If an argument of shape ``shape`` was broadcast to ``np.shape(g)``, each of its entries was
    used once per copy, so its adjoint is the sum over the broadcast axes:
    leading axes that were added, and axes of length 1 that were stretched.
    """
    gshape = np.shape(g)
    if gshape == shape:
        return g
    if shape == ():
        return np.sum(g)
    extra = len(gshape) - len(shape)
    if extra < 0:
        raise ValueError(f"cannot unbroadcast a cotangent of shape {gshape} to shape {shape}")
    g = np.sum(g, axis=tuple(range(extra))) if extra else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and np.shape(g)[i] != 1)
    if stretched:
        g = np.sum(g, axis=stretched, keepdims=True)
    return np.reshape(g, shape)


@dataclass(frozen=True, eq=False)
class Primitive:
    """One differentiable operation: its value and its derivative rule.

    Attributes:
        name: short identifier (``"mul"``, ``"sin"``).
        fn: the value on plain numbers and numpy arrays.
        partials: for elementwise operations, one partial derivative per argument.
        jvp_rule: for structural operations, ``(tangents, ans, *args, **params) -> tangent``;
            a tangent is ``None`` for an argument that carries none.
        vjp_rule: for structural operations, ``(g, ans, wanted, *args, **params) -> tuple``, where
            ``wanted[i]`` is falsy for an argument whose cotangent nobody needs (skip its work).
        template: how the operation reads in a trace, with ``{0}``, ``{1}`` for the arguments
            (``"ln {0}"``, ``"{0} × {1}"``).
        partial_templates: how each partial reads in a trace (``"1/{0}"`` for ln).
    """

    name: str
    fn: Callable[..., Any]
    partials: tuple[Partial, ...] | None = None
    jvp_rule: Callable[..., Any] | None = None
    vjp_rule: Callable[..., tuple[Any, ...]] | None = None
    template: str = ""
    partial_templates: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        elementwise = self.partials is not None
        structural = self.jvp_rule is not None and self.vjp_rule is not None
        if elementwise == structural:
            raise ValueError(f"primitive {self.name!r} needs either partials or both jvp and vjp rules")

    @property
    def elementwise(self) -> bool:
        """True when the rule is given by partial derivatives."""
        return self.partials is not None

    def __repr__(self) -> str:
        return f"Primitive({self.name!r})"

    def partial(self, i: int, ans: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        """The local derivative of the output with respect to argument ``i`` at the primal point."""
        assert self.partials is not None
        p = self.partials[i]
        return p if isinstance(p, int) else p(ans, *args, **params)

    def jvp(self, tangents: tuple[Any, ...], ans: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        """Push tangents forward: the directional derivative of the output.

        ``tangents[i]`` is ``None`` where argument ``i`` is a constant.
        """
        if self.partials is None:
            return self.jvp_rule(tangents, ans, *args, **params)  # type: ignore[misc]
        total = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            p = self.partials[i]
            if isinstance(p, int):
                term = t if p == 1 else -t
            else:
                term = self.partial(i, ans, args, params) * t
            total = term if total is None else total + term
        return total

    def vjp(
        self, g: Any, ans: Any, args: tuple[Any, ...], params: dict[str, Any], wanted: tuple[Any, ...]
    ) -> Sequence[Any]:
        """Pull the cotangent ``g`` back to each argument for which ``wanted[i]`` is truthy."""
        if self.partials is None:
            return self.vjp_rule(g, ans, wanted, *args, **params)  # type: ignore[misc]
        # Elementwise primitives take one or two arguments (the hot path of scalar graphs).
        if len(args) == 1:
            return (self.pull(0, g, ans, args, params) if wanted[0] else None,)
        if len(args) == 2:
            return (
                self.pull(0, g, ans, args, params) if wanted[0] else None,
                self.pull(1, g, ans, args, params) if wanted[1] else None,
            )
        return tuple(self.pull(i, g, ans, args, params) if w else None for i, w in enumerate(wanted))

    def pull(self, i: int, g: Any, ans: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        """Elementwise only: the cotangent of argument ``i``, ``unbroadcast(g * partial_i)``."""
        p = self.partials[i]  # type: ignore[index]
        if p.__class__ is int:
            contribution = g if p == 1 else -g
        else:
            contribution = g * p(ans, *args, **params)
        arg = args[i]
        if contribution.__class__ is not float and (
            isinstance(contribution, np.ndarray) or isinstance(arg, np.ndarray)
        ):
            contribution = unbroadcast(contribution, np.shape(arg))
        return contribution
