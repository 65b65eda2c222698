"""Evaluation traces: the forward primal, forward tangent and reverse adjoint tables of a program.

A scalar program is run once on :class:`~adlib.reverse.ReverseDiff` inputs, which records it
as a list of elementary operations (a Wengert list). Its variables are numbered as in the
lecture: for ``n`` inputs, :math:`v_{1-n}, \\dots, v_0` are the inputs and :math:`v_1, v_2,
\\dots` the intermediate results in the order they were evaluated. Then

* the **primal trace** lists :math:`v_i = \\varphi_i(v_j, \\dots)` with its value;
* the **tangent trace** lists :math:`\\dot v_i = \\sum_j \\frac{\\partial \\varphi_i}{\\partial v_j}
  \\dot v_j` for an input direction :math:`\\dot x` (forward mode);
* the **adjoint trace** lists, from the output back, each contribution
  :math:`\\bar v_j \\mathrel{+}= \\bar v_i \\frac{\\partial \\varphi_i}{\\partial v_j}` (reverse mode),
  ending with the gradient :math:`\\bar x_k = \\bar v_{k-n}`.

Formulas come from each primitive's ``template`` and ``partial_templates``; values come from
the primitive's own ``jvp`` and ``vjp``, the rules forward and reverse mode use. So a trace
shows exactly what the library computes, step by step.

Example, the lecture's :math:`f(x_1, x_2) = \\ln x_1 + x_1 x_2 - \\sin x_2` at :math:`(2, 5)`:
:math:`v_3 = \\sin 5 = -0.959` and :math:`y = v_5 = 10.693 - (-0.959) = 11.652`,
:math:`\\partial y / \\partial x_1 = 5.5`, :math:`\\partial y / \\partial x_2 = 1.716`.

Erratum in the seed lecture: its primal trace writes :math:`v_3 = \\sin 5 = 0.959` and
:math:`v_5 = 10.693 + 0.959`. In fact :math:`\\sin 5 = -0.959` (5 rad lies in the fourth
quadrant), so :math:`v_5 = v_4 - v_3 = 10.693 - (-0.959) = 11.652`; the final value was right,
the sign of :math:`v_3` was not. The kit prints :math:`v_3 = -0.959`.
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .dispatch import Box
from .primitive import Primitive
from .reverse import ReverseDiff
from .trace_render import TEXT, AdjointStep, Operand, PrimalFormula, Step, TracePrinting, format_value

_clock = itertools.count()


class _Taped(ReverseDiff):
    """A ``ReverseDiff`` that also stamps each node with its evaluation time (a tape position).

    Operations on a ``_Taped`` value produce ``_Taped`` nodes (``apply`` lifts through the
    argument's own class), so the stamp gives the exact order in which ``f`` evaluated them.
    """

    __slots__ = ("_seq",)

    def __init__(self, value: Any, name: str | None = None) -> None:
        super().__init__(value, name)
        self._seq = next(_clock)

    @classmethod
    def _lift(cls, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any], level: int) -> ReverseDiff:
        node = super()._lift(prim, args, params, level)
        node._seq = next(_clock)  # type: ignore[attr-defined]
        return node


class Variable:
    """One variable of a trace, for drawings: its seed number, formula, value and arguments.

    Attributes:
        index: the lecture's number ``k`` of :math:`v_k` (inputs ``1-n .. 0``).
        label: ``"v_k"``.
        formula: the primal formula in plain text (the input's name for an input).
        op: the primitive's name, or ``"input"``.
        value: the primal value.
        parents: the indices of the variables it is computed from (each once, in argument order).
    """

    __slots__ = ("formula", "index", "label", "op", "parents", "value")

    def __init__(self, index: int, formula: str, op: str, value: float, parents: tuple[int, ...]) -> None:
        self.index = index
        self.label = f"v_{index}"
        self.formula = formula
        self.op = op
        self.value = value
        self.parents = parents

    def __repr__(self) -> str:
        return f"Variable({self.label} = {self.formula} = {format_value(self.value)})"


def _postorder(root: ReverseDiff) -> list[ReverseDiff]:
    """Every node ``root`` depends on, arguments visited left to right, each node after its arguments.

    For a single expression this is the order in which Python evaluates it.
    """
    order: list[ReverseDiff] = []
    seen = {id(root)}
    stack: list[tuple[ReverseDiff, int]] = [(root, 0)]
    while stack:
        node, j = stack.pop()
        parents = node.arg_nodes
        while j < len(parents) and (parents[j] is None or id(parents[j]) in seen):
            j += 1
        if j < len(parents):
            parent = parents[j]
            assert parent is not None
            seen.add(id(parent))
            stack.append((node, j + 1))
            stack.append((parent, 0))
        else:
            order.append(node)
    return order


def _number(intermediates: list[ReverseDiff], order: str) -> list[ReverseDiff]:
    """Sort operations (given in a topological order) into the trace's numbering.

    Evaluation order is the tape stamp when every node has one (``trace`` records it), else the
    left-to-right post-order, which is Python's evaluation order within one expression.
    In the lecture's example :math:`\\ln x_1 + x_1 x_2 - \\sin x_2`, Python evaluates the ``+``
    before ``sin``; the lecture numbers ``sin`` as :math:`v_3` (depth 1) and the ``+`` as :math:`v_4`
    (depth 2), which is the ``"layers"`` order.
    """
    position = {id(node): p for p, node in enumerate(intermediates)}
    stamps = [getattr(node, "_seq", None) for node in intermediates]
    if all(s is not None for s in stamps):
        position = {id(node): s for node, s in zip(intermediates, stamps, strict=True)}
    if order == "evaluation":
        return sorted(intermediates, key=lambda node: position[id(node)])
    depth: dict[int, int] = {}
    for node in intermediates:  # arguments come before results, so their depths are known
        depth[id(node)] = 1 + max((depth.get(id(p), 0) for p in node.parents), default=0)
    return sorted(intermediates, key=lambda node: (depth[id(node)], position[id(node)]))


def _scalar(value: Any, what: str) -> float:
    if np.ndim(value) != 0:
        raise ValueError(
            f"traces are for scalar programs: {what} has shape {np.shape(value)}; "
            "trace a scalar function (use jacobian or vjp for array programs)"
        )
    return float(np.asarray(value))


class Trace(TracePrinting):
    """The recorded evaluation of a scalar program, numbered as in the lecture.

    Build one with :func:`trace` (from a function and input values) or :meth:`from_output`
    (from an already computed ``ReverseDiff`` output). Its tables (``primal_table``,
    ``tangent_table``, ``adjoint_table``) and printed forms (``to_text``, ``to_markdown``,
    ``to_html``) come from :class:`~adlib.trace_render.TracePrinting`.

    Args:
        output: the program's output node.
        inputs: its input leaves, in order (they become :math:`v_{1-n}, \\dots, v_0`).
        names: the inputs' names (``x1``, ``x2``, ...).
        output_name: the output's name in the tables.
        title: a heading for the printed trace.
        order: how intermediates are numbered. ``"layers"`` (the lecture's numbering): by
            distance from the inputs, ties in evaluation order, so that operations which could run
            side by side get consecutive numbers. ``"evaluation"``: the order ``f`` ran them (the
            tape, a Wengert list). Both are topological orders, so either gives the same values.

    Attributes:
        point: the input values :math:`x_1, \\dots, x_n`.
        steps: one :class:`~adlib.trace_render.Step` per operation, in the trace's numbering: the
            plain data (number, primitive, operands, value) the tables are printed from.
    """

    def __init__(
        self,
        output: ReverseDiff,
        inputs: Sequence[ReverseDiff],
        names: Sequence[str],
        output_name: str = "y",
        title: str | None = None,
        order: str = "layers",
    ) -> None:
        if order not in ("layers", "evaluation"):
            raise ValueError(f"order must be 'layers' or 'evaluation', got {order!r}")
        if not isinstance(output, ReverseDiff):
            raise TypeError(f"a trace needs a ReverseDiff output, got {type(output).__name__}")
        inputs = list(inputs)
        names = [str(n) for n in names]
        if len(names) != len(inputs):
            raise ValueError(f"got {len(names)} names for {len(inputs)} inputs")
        if len(set(names)) != len(names) or any(not n for n in names):
            raise ValueError(f"input names must be distinct and non-empty, got {names}")
        point = []
        for leaf, name in zip(inputs, names, strict=True):
            if not isinstance(leaf, ReverseDiff) or not leaf.is_leaf:
                raise TypeError(f"input {name} must be a ReverseDiff leaf, got {type(leaf).__name__}")
            point.append(_scalar(leaf.value, f"input {name}"))
        if len({id(leaf) for leaf in inputs}) != len(inputs):
            raise ValueError("the same ReverseDiff leaf was given twice as an input")

        input_ids = {id(leaf) for leaf in inputs}
        reached = _postorder(output)
        intermediates = [node for node in reached if not node.is_leaf]
        for node in reached:
            if node.is_leaf and id(node) not in input_ids:
                raise ValueError(
                    f"the output depends on a ReverseDiff leaf (value {format_value(node.value)}) that is "
                    "not one of the inputs; pass it as an input or use a plain number as a constant"
                )
        for node in intermediates:
            _scalar(node.value, f"the result of {node.op!r}")
        intermediates = _number(intermediates, order)
        self.output = output
        self.inputs: tuple[ReverseDiff, ...] = tuple(inputs)
        self.names: tuple[str, ...] = tuple(names)
        self.output_name = output_name
        self.title = title
        self.intermediates: tuple[ReverseDiff, ...] = tuple(intermediates)
        self.nodes: tuple[ReverseDiff, ...] = self.inputs + self.intermediates
        n = len(inputs)
        self._index = {id(node): p - n + 1 for p, node in enumerate(self.nodes)}
        self.point: tuple[float, ...] = tuple(point)
        self.steps: tuple[Step, ...] = tuple(self._step(node) for node in intermediates)

    def _step(self, node: ReverseDiff) -> Step:
        """An operation as plain data: its number, primitive, operands (numbers or constants), value."""
        assert node.primitive is not None
        operands = tuple(
            Operand(None, arg) if parent is None else Operand(self._index[id(parent)])
            for arg, parent in zip(node.args, node.arg_nodes, strict=True)
        )
        return Step(self._index[id(node)], node.primitive, operands, float(np.asarray(node.value)))

    # ------------------------------------------------------------ construction
    @classmethod
    def from_output(
        cls,
        output: ReverseDiff,
        names: Sequence[str] | None = None,
        output_name: str = "y",
        order: str = "layers",
    ) -> Trace:
        """The trace of an already computed output; its leaves are the inputs, in evaluation order.

        Leaves' own ``name`` is used where set, otherwise ``x1``, ``x2``, ...
        """
        if not isinstance(output, ReverseDiff):
            raise TypeError(f"from_output needs a ReverseDiff output, got {type(output).__name__}")
        leaves = [node for node in _postorder(output) if node.is_leaf]
        if names is None:
            names = [leaf.name or f"x{i + 1}" for i, leaf in enumerate(leaves)]
        return cls(output, leaves, names, output_name, order=order)

    # ------------------------------------------------------------ numbering
    @property
    def n_inputs(self) -> int:
        """The number of inputs ``n``."""
        return len(self.inputs)

    @property
    def value(self) -> float:
        """The output's value."""
        return float(np.asarray(self.output.value))

    def index(self, node: ReverseDiff) -> int:
        """The lecture's number ``k`` of a node (:math:`v_k`)."""
        try:
            return self._index[id(node)]
        except KeyError:
            raise ValueError("this node is not part of the trace") from None

    def label(self, node: ReverseDiff) -> str:
        """``"v_k"`` for a node."""
        return f"v_{self.index(node)}"

    @property
    def variables(self) -> tuple[Variable, ...]:
        """Every variable, inputs first, with its formula, value and arguments (for drawings)."""
        out = [
            Variable(self._index[id(leaf)], name, "input", x, ())
            for name, leaf, x in zip(self.names, self.inputs, self.point, strict=True)
        ]
        for step in self.steps:
            parents = tuple(dict.fromkeys(o.index for o in step.operands if o.index is not None))
            out.append(
                Variable(
                    step.index, PrimalFormula(step).render(TEXT), step.primitive.name, step.value, parents
                )
            )
        return tuple(out)

    @property
    def output_index(self) -> int:
        """The number ``k`` of the output variable."""
        return self._index[id(self.output)]

    # ------------------------------------------------------------ the three sweeps
    def direction(self, wrt: Any = 0) -> list[float]:
        """The input tangent :math:`\\dot x` that ``wrt`` names.

        ``wrt`` is an input's position (``0`` for ``x1``, negative from the end), its name (the
        unit vector :math:`e_i`), or a direction vector of ``n`` finite numbers.
        """
        n = self.n_inputs
        if isinstance(wrt, str):
            if wrt not in self.names:
                raise ValueError(f"unknown input {wrt!r}; the inputs are {list(self.names)}")
            wrt = self.names.index(wrt)
        if isinstance(wrt, numbers.Integral) and not isinstance(wrt, bool):
            if not -n <= int(wrt) < n:
                raise ValueError(f"input index {wrt} is out of range for {n} inputs")
            i = int(wrt) % n
            return [1.0 if k == i else 0.0 for k in range(n)]
        if isinstance(wrt, Sequence | np.ndarray) and not isinstance(wrt, str):
            if np.ndim(wrt) != 1 or len(wrt) != n:
                raise ValueError(f"a tangent direction needs {n} numbers, got shape {np.shape(wrt)}")
            seed = [float(t) for t in wrt]
            if not all(math.isfinite(t) for t in seed):
                raise ValueError(f"the tangent direction must be finite, got {seed}")
            return seed
        raise TypeError(
            f"wrt must be an input index, an input name or a direction vector, got {type(wrt).__name__}"
        )

    def tangent_values(self, wrt: Any = 0) -> dict[str, float]:
        """:math:`\\dot v_k` for every variable, keyed by ``"v_k"``, by the primitives' JVP rules.

        One forward sweep: inputs carry :meth:`direction` ``(wrt)``, then each operation in order
        gets :math:`\\dot v_k = \\sum_j \\partial \\varphi_k / \\partial v_j \\, \\dot v_j` from ``prim.jvp``.
        """
        tangent: dict[int, Any] = dict(zip(map(id, self.inputs), self.direction(wrt), strict=True))
        for node in self.intermediates:
            tangents = tuple(None if p is None else tangent[id(p)] for p in node.arg_nodes)
            tangent[id(node)] = node.primitive.jvp(tangents, node.value, node.args, node.params)  # type: ignore[union-attr]
        return {self.label(node): float(np.asarray(tangent[id(node)])) for node in self.nodes}

    def adjoint_sweep(self, seed: float = 1.0) -> tuple[dict[str, float], list[AdjointStep]]:
        """One reverse sweep from :math:`\\bar y` = ``seed``, by the primitives' VJP rules.

        Returns :math:`\\bar v_k` for every variable, keyed by ``"v_k"``, and every chain-rule
        contribution :math:`\\bar v_j \\mathrel{+}= \\bar v_k\\, \\partial \\varphi_k / \\partial v_j` in the
        order it is made (operations from the last back, arguments left to right).
        """
        if isinstance(seed, Box) or isinstance(seed, bool) or not isinstance(seed, numbers.Real):
            raise TypeError(f"the output adjoint must be a real number, got {type(seed).__name__}")
        if not math.isfinite(seed):
            raise ValueError(f"the output adjoint must be finite, got {seed}")
        adjoint: dict[int, Any] = {id(self.output): float(seed)}
        steps = []
        for node, step in zip(reversed(self.intermediates), reversed(self.steps), strict=True):
            prim = step.primitive
            contributions = prim.vjp(adjoint[id(node)], node.value, node.args, node.params, node.arg_nodes)
            for j, (parent, c) in enumerate(zip(node.arg_nodes, contributions, strict=True)):
                if parent is None:
                    continue
                key = id(parent)
                accumulated = key in adjoint
                adjoint[key] = adjoint[key] + c if accumulated else c
                steps.append(AdjointStep(step, j, accumulated, float(np.asarray(adjoint[key]))))
        values = {self.label(node): float(np.asarray(adjoint.get(id(node), 0.0))) for node in self.nodes}
        return values, steps

    def adjoint_values(self, seed: float = 1.0) -> dict[str, float]:
        """:math:`\\bar v_k` for every variable, keyed by ``"v_k"`` (see :meth:`adjoint_sweep`)."""
        return self.adjoint_sweep(seed)[0]

    def gradient(self) -> tuple[float, ...]:
        """:math:`(\\bar x_1, \\dots, \\bar x_n)`, the gradient of the output (one reverse sweep)."""
        values = self.adjoint_values()
        return tuple(values[self.label(leaf)] for leaf in self.inputs)

    def __repr__(self) -> str:
        return (
            f"<Trace {self.heading()}: {len(self.intermediates)} operations, y = {format_value(self.value)}>"
        )


def _default_names(f: Callable[..., Any], n: int) -> list[str]:
    """``f``'s first ``n`` positional parameter names, or ``x1 .. xn`` when it has none to give."""
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = []
    for p in params:
        if p.kind not in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            break
        positional.append(p.name)
    return positional[:n] if len(positional) >= n else [f"x{i + 1}" for i in range(n)]


def trace(
    f: Callable[..., Any],
    *inputs: Any,
    names: Sequence[str] | None = None,
    output_name: str = "y",
    order: str = "layers",
) -> Trace:
    """Run the scalar program ``f`` on ``inputs`` and return its :class:`Trace`.

    Args:
        f: a function of ``n`` scalars built from adlib's primitives (operators, ``adlib.sin``, ...).
        *inputs: the point, one number per argument.
        names: the inputs' names; default ``f``'s parameter names, else ``x1, x2, ...``.
        output_name: the output's name in the tables.
        order: ``"layers"`` (the lecture's numbering, default) or ``"evaluation"`` (tape order);
            see :class:`Trace`.

    Raises:
        ValueError: for array inputs or results (traces are for scalar programs), or an output
            that does not depend on the inputs.
    """
    if not callable(f):
        raise TypeError(f"trace needs a function, got {type(f).__name__}")
    if not inputs:
        raise ValueError("trace needs at least one input value")
    names = list(names) if names is not None else _default_names(f, len(inputs))
    if len(names) != len(inputs):
        raise ValueError(f"got {len(names)} names for {len(inputs)} inputs")
    leaves = []
    for name, x in zip(names, inputs, strict=True):
        if isinstance(x, Box):
            raise TypeError(f"input {name} must be a plain number, got {type(x).__name__}")
        if not isinstance(x, numbers.Real | np.ndarray | np.generic | list | tuple):
            raise TypeError(f"input {name} must be a number, got {type(x).__name__}")
        _scalar(np.asarray(x), f"input {name}")
        leaves.append(_Taped(float(np.asarray(x)), name=name))
    out = f(*leaves)
    if not isinstance(out, ReverseDiff):
        raise ValueError(
            f"f returned {type(out).__name__} {out!r}, which does not depend on its inputs; "
            "there is nothing to trace"
        )
    title = getattr(f, "__name__", "f")
    return Trace(out, leaves, names, output_name, title="f" if title == "<lambda>" else title, order=order)
