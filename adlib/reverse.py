"""Reverse-mode AD: record the computation as a graph, then propagate adjoints backwards.

Running a program on ``ReverseDiff`` inputs records one node per primitive: its value, the
primitive, its arguments' values and its parent nodes. ``out.backward()`` then visits every
node once, in reverse topological order, and applies the chain rule

.. math:: \\bar v_i = \\sum_{j \\,:\\, i \\to j} \\bar v_j \\, \\frac{\\partial v_j}{\\partial v_i},

where :math:`\\bar v = \\partial y / \\partial v` is the *adjoint* of :math:`v`. A node used by
several others (a shared weight) receives the sum of its children's contributions.

Design notes
------------
* Iterative, not recursive: the seed's recursive ``backward`` calls itself once per *path*,
  which is exponential on graphs such as the logistic map ``l = 4 l (1 - l)``; here each node is
  visited once (linear time) and there is no recursion limit.
* No reference cycles: a node holds its parents and its arguments' values, never a closure over
  itself, so graphs are freed by reference counting as soon as they are dropped.
* Accumulation (as in PyTorch): each ``backward`` *adds* its adjoints to ``.grad`` of every node it
  reaches, leaves and intermediates alike, so two backward calls sum; ``zero_grad()`` resets.
  The intermediate adjoints are what the seed's adjoint trace lists.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .dispatch import Box, as_value, mixing_error, show
from .operators import Operators
from .primitive import Primitive

_NO_PARAMS: dict[str, Any] = {}
_traversals = itertools.count(1)


class ReverseDiff(Operators):
    """A node of the computation graph: a value, and after ``backward`` its adjoint ``grad``.

    Args:
        value: a number or numpy array (ints become floats).
        name: an optional label used by traces and graph drawings.
    """

    __slots__ = ("_adjoint", "_args", "_mark", "_params", "_parents", "_prim", "grad", "name", "value")
    _level = -1

    def __init__(self, value: Any, name: str | None = None) -> None:
        if isinstance(value, ReverseDiff):
            raise TypeError("ReverseDiff(value) needs a plain number or array, got a ReverseDiff")
        if isinstance(value, Box):
            raise mixing_error("a ReverseDiff around a ForwardDiff")
        self.value = as_value(value)
        self.grad: Any = None
        self.name = name
        self._prim: Primitive | None = None
        self._args: tuple[Any, ...] = ()
        self._parents: tuple[ReverseDiff | None, ...] = ()
        self._params = _NO_PARAMS
        self._adjoint: Any = None
        self._mark = 0

    @classmethod
    def _lift(cls, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any], level: int) -> ReverseDiff:
        # Record one node. This is the hot path of every operation: the one- and two-argument
        # cases (all but a few primitives) are spelled out to avoid temporary containers.
        if len(args) == 2:
            a, b = args
            pa = a if isinstance(a, ReverseDiff) else _constant(a)
            pb = b if isinstance(b, ReverseDiff) else _constant(b)
            parents: tuple[ReverseDiff | None, ...] = (pa, pb)
            values = (a if pa is None else a.value, b if pb is None else b.value)
        elif len(args) == 1:
            a = args[0]
            pa = a if isinstance(a, ReverseDiff) else _constant(a)
            parents, values = (pa,), (a if pa is None else a.value,)
        else:
            parents = tuple(a if isinstance(a, ReverseDiff) else _constant(a) for a in args)
            values = tuple(a if p is None else a.value for a, p in zip(args, parents, strict=True))
        node = object.__new__(cls)
        node.value = prim.fn(*values, **params)
        node.grad = None
        node.name = None
        node._prim = prim
        node._args = values
        node._parents = parents
        node._params = params
        node._adjoint = None
        node._mark = 0
        return node

    # ------------------------------------------------------------ graph structure
    @property
    def is_leaf(self) -> bool:
        """True for a node made by the user rather than by an operation."""
        return self._prim is None

    @property
    def op(self) -> str:
        """The primitive's name (``""`` for a leaf)."""
        return "" if self._prim is None else self._prim.name

    @property
    def primitive(self) -> Primitive | None:
        """The primitive that produced this node (``None`` for a leaf)."""
        return self._prim

    @property
    def parents(self) -> tuple[ReverseDiff, ...]:
        """The nodes this one was computed from."""
        return tuple(p for p in self._parents if p is not None)

    @property
    def args(self) -> tuple[Any, ...]:
        """The argument values the primitive was applied to, constants included, in order."""
        return self._args

    @property
    def arg_nodes(self) -> tuple[ReverseDiff | None, ...]:
        """One entry per argument: its node, or ``None`` for a constant."""
        return self._parents

    @property
    def params(self) -> dict[str, Any]:
        """Keyword parameters of the primitive (``axis``, ``shape``, ...)."""
        return self._params

    # ------------------------------------------------------------ backward
    def backward(self, grad: Any = None) -> None:
        """Propagate adjoints from this node to everything it depends on.

        Args:
            grad: the seed :math:`\\bar y`. A scalar output seeds itself with 1; a non-scalar
                output needs a seed of its own shape (the vector of a vector-Jacobian product).
        """
        _propagate(self, self._seed(grad), into_grad=True)

    def _seed(self, grad: Any) -> Any:
        shape = np.shape(self.value)
        if grad is None:
            if shape != ():
                raise ValueError(
                    f"backward() on an output of shape {shape} needs a seed gradient of that shape; "
                    "only a scalar output seeds itself with 1"
                )
            return np.ones_like(self.value) if isinstance(self.value, np.ndarray) else 1.0
        if isinstance(grad, Box):
            raise TypeError(f"the seed gradient must be a number or an array, got {type(grad).__name__}")
        grad = as_value(grad)
        if np.shape(grad) != shape:
            raise ValueError(
                f"seed gradient of shape {np.shape(grad)} does not match the output's shape {shape}"
            )
        return grad

    def zero_grad(self) -> None:
        """Reset ``grad`` to ``None`` on this node and every node it depends on."""
        for node in topological_order(self):
            node.grad = None

    def __repr__(self) -> str:
        return f"ReverseDiff(value={show(self.value)}, grad={show(self.grad)})"


def _constant(a: Any) -> None:
    """The parent slot of a constant argument (and the error for a forward-mode one)."""
    if isinstance(a, Box):
        raise mixing_error("ForwardDiff and ReverseDiff")
    return None


def topological_order(root: ReverseDiff) -> list[ReverseDiff]:
    """Every node ``root`` depends on, each once, parents before children (``root`` last).

    An iterative depth-first search. The stack holds a path from ``root`` towards the inputs;
    a node leaves the stack, and joins the order, once every parent has been visited. A mark per
    traversal says "visited" without a set of ids. (A parent cannot be on the stack below its
    child: that would be a cycle.)
    """
    mark = next(_traversals)
    root._mark = mark
    order: list[ReverseDiff] = []
    stack = [root]
    while stack:
        node = stack[-1]
        for parent in node._parents:
            if parent is not None and parent._mark != mark:
                parent._mark = mark
                stack.append(parent)
                break
        else:
            stack.pop()
            order.append(node)
    return order


def _propagate(root: ReverseDiff, seed: Any, *, into_grad: bool) -> tuple[list[ReverseDiff], dict[int, Any]]:
    """The reverse sweep. Each node's adjoint is summed in its ``_adjoint`` slot, then passed on.

    With ``into_grad`` the adjoints are added to every node's ``grad``; otherwise they are
    returned in a dict keyed by ``id(node)`` and ``grad`` is left alone.
    """
    order = topological_order(root)
    order.reverse()
    adjoints: dict[int, Any] = {}
    root._adjoint = seed
    try:
        for node in order:
            g = node._adjoint
            node._adjoint = None
            if into_grad:
                if node.grad is None:
                    # A private copy: the same array may flow to several nodes (through ``+``).
                    node.grad = g.copy() if isinstance(g, np.ndarray) else g
                else:
                    node.grad = node.grad + g
            else:
                adjoints[id(node)] = g
            prim = node._prim
            if prim is None:
                continue
            parents = node._parents
            if prim.partials is not None:
                # Elementwise: pull each parent's share straight from the rule (no result tuple,
                # which keeps the garbage collector out of large scalar graphs).
                for i, parent in enumerate(parents):
                    if parent is not None:
                        _accumulate(parent, prim.pull(i, g, node.value, node._args, node._params))
                continue
            for parent, contribution in zip(
                parents, prim.vjp(g, node.value, node._args, node._params, parents), strict=True
            ):
                if parent is not None:
                    _accumulate(parent, contribution)
    except BaseException:
        for node in order:
            node._adjoint = None
        raise
    return order, adjoints


def _accumulate(node: ReverseDiff, contribution: Any) -> None:
    # Never in place: the same array object can be a cotangent of several parents.
    total = node._adjoint
    node._adjoint = contribution if total is None else total + contribution


def backpropagate(root: ReverseDiff, seed: Any) -> tuple[list[ReverseDiff], dict[int, Any]]:
    """The adjoint of every node ``root`` depends on, for the output adjoint ``seed``.

    Returns the nodes in the order they were processed (reverse topological: ``root`` first)
    and a dict from ``id(node)`` to its adjoint. Nodes' ``grad`` fields are not touched.
    """
    return _propagate(root, seed, into_grad=False)
