"""Function transforms: derivative, grad, jvp, vjp and jacobian.

They make the cost argument of the lectures countable. For :math:`f: \\mathbb{R}^n \\to
\\mathbb{R}^m`, forward mode gives one Jacobian *column* per pass (a JVP with :math:`\\dot x = e_i`),
so the Jacobian takes :math:`n` passes; reverse mode gives one *row* per pass (a VJP with
:math:`\\bar y = e_j`), so it takes :math:`m`. Wrap code in :func:`count_passes` to see the count.

>>> import numpy as np
>>> f = lambda x: np.array([1.0, 1.0]) * (x * x).sum()       # R^3 -> R^2
>>> with count_passes() as passes:
...     J = jacobian(f, mode="reverse")(np.array([1.0, 2.0, 3.0]))
>>> passes.reverse, J.shape
(2, (2, 3))
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .dispatch import as_value, new_tag, raw
from .forward import ForwardDiff, primal_of, tangent_of
from .reverse import ReverseDiff, backpropagate


@dataclass
class PassCount:
    """How many forward (JVP) and reverse (VJP) passes ran inside a :func:`count_passes` block."""

    forward: int = 0
    reverse: int = 0


_counters: list[PassCount] = []


@contextlib.contextmanager
def count_passes() -> Iterator[PassCount]:
    """Count the forward and reverse passes the transforms run inside the ``with`` block."""
    counter = PassCount()
    _counters.append(counter)
    try:
        yield counter
    finally:
        _counters.remove(counter)


def _count(kind: str) -> None:
    for counter in _counters:
        setattr(counter, kind, getattr(counter, kind) + 1)


def _check_output(out: Any, box: type) -> None:
    """Refuse outputs the transforms cannot differentiate (a list or tuple of results, the other
    mode's values) instead of treating them as constants with derivative 0."""
    if isinstance(out, box | int | float | np.generic):
        return
    if isinstance(out, np.ndarray) and out.dtype.kind in "biuf":
        return
    raise TypeError(
        f"the function must return a number, a numpy array or a {box.__name__}, got {type(out).__name__}"
    )


# ---------------------------------------------------------------- forward mode


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Evaluate ``f(*primals)`` and its directional derivative :math:`J_f\\,\\dot x` in one forward pass.

    Returns ``(f(*primals), J·tangents)``.
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp got {len(primals)} primals but {len(tangents)} tangents")
    tag = new_tag()
    _count("forward")
    inputs = [ForwardDiff(p, t, tag=tag) for p, t in zip(primals, tangents, strict=True)]
    out = f(*inputs)
    _check_output(out, ForwardDiff)
    return primal_of(out, tag), tangent_of(out, tag)


def derivative(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The derivative :math:`f'` of a function of one variable, by forward mode.

    Derivatives nest: ``derivative(derivative(f))`` is :math:`f''`, and a derivative taken inside
    another is kept apart from it (no perturbation confusion).
    """

    def df(x: Any) -> Any:
        x = as_value(x) if not isinstance(x, ForwardDiff) else x
        one = np.ones_like(raw(x)) if np.ndim(raw(x)) else 1.0
        return jvp(f, (x,), (one,))[1]

    return df


# ---------------------------------------------------------------- reverse mode


def _zero_like(value: Any) -> Any:
    return np.zeros_like(value) if np.ndim(value) else 0.0


def _fresh(g: Any) -> Any:
    return g.copy() if isinstance(g, np.ndarray) else g


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """Record ``f(*primals)`` once; return its value and a function computing :math:`\\bar y^T J_f`.

    The returned ``vjp_fn(cotangent)`` can be called many times (one reverse pass each) and
    returns one cotangent per primal.
    """
    leaves = [ReverseDiff(p) for p in primals]
    out = f(*leaves)
    _check_output(out, ReverseDiff)
    if not isinstance(out, ReverseDiff):
        value = out

        def vjp_constant(cotangent: Any) -> tuple[Any, ...]:
            _count("reverse")
            return tuple(_zero_like(leaf.value) for leaf in leaves)

        return value, vjp_constant

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        _count("reverse")
        seed = out._seed(cotangent)
        _, found = backpropagate(out, seed)
        # Copies: an adjoint may be a read-only broadcast view, or share memory with the cotangent.
        return tuple(
            _fresh(found[id(leaf)]) if id(leaf) in found else _zero_like(leaf.value) for leaf in leaves
        )

    return out.value, vjp_fn


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., tuple[Any, Any]]:
    """Like :func:`grad`, but also return ``f``'s value (it is computed anyway)."""
    many = not isinstance(argnums, int)
    nums = tuple(argnums) if many else (argnums,)  # type: ignore[arg-type]

    def wrapped(*args: Any) -> tuple[Any, Any]:
        for i in nums:
            if not -len(args) <= i < len(args):
                raise ValueError(f"argnums {i} is out of range for {len(args)} arguments")

        def partial_f(*chosen: Any) -> Any:
            full = list(args)
            for i, c in zip(nums, chosen, strict=True):
                full[i] = c
            return f(*full)

        value, pull = vjp(partial_f, *(args[i] for i in nums))
        if np.shape(value) != ():
            raise ValueError(f"grad needs a function with a scalar output, got shape {np.shape(value)}")
        grads = pull(np.ones_like(value) if isinstance(value, np.ndarray) else 1.0)
        return value, (grads if many else grads[0])

    return wrapped


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The gradient :math:`\\nabla f` of a scalar-valued function, by one reverse pass.

    ``argnums`` picks the argument(s) to differentiate; with a sequence, a tuple is returned.
    """
    vg = value_and_grad(f, argnums)
    return lambda *args: vg(*args)[1]


# ---------------------------------------------------------------- Jacobians


def jacobian(f: Callable[[Any], Any], mode: str = "forward") -> Callable[[Any], np.ndarray]:
    """The Jacobian of ``f`` at ``x``, shape ``f(x).shape + x.shape``.

    ``mode="forward"``: one JVP per input entry (a column each).
    ``mode="reverse"``: one VJP per output entry (a row each), sharing one recorded graph.
    """
    if mode not in ("forward", "reverse"):
        raise ValueError(f"mode must be 'forward' or 'reverse', got {mode!r}")

    def jac(x: Any) -> np.ndarray:
        x = np.asarray(as_value(x), dtype=float)
        if mode == "forward":
            columns = []
            out_shape: tuple[int, ...] = ()
            for i in range(x.size):
                e = np.zeros(x.size)
                e[i] = 1.0
                value, col = jvp(f, (x,), (e.reshape(x.shape),))
                out_shape = np.shape(value)
                columns.append(np.broadcast_to(col, out_shape).reshape(-1))
            if not columns:
                return np.zeros(np.shape(f(x)) + x.shape)
            return np.stack(columns, axis=-1).reshape(out_shape + x.shape)
        value, pull = vjp(f, x)
        out_shape = np.shape(value)
        rows = []
        for j in range(int(np.prod(out_shape, dtype=int))):
            e = np.zeros(int(np.prod(out_shape, dtype=int)))
            e[j] = 1.0
            rows.append(np.asarray(pull(e.reshape(out_shape))[0]).reshape(-1))
        if not rows:
            return np.zeros(out_shape + x.shape)
        return np.stack(rows).reshape(out_shape + x.shape)

    return jac
