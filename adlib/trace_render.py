"""Rendering for :mod:`adlib.trace`: notation styles, formula text and the printed tables.

A :class:`~adlib.trace.Trace` numbers a program's operations and runs its sweeps; it hands
them here as plain data (:class:`Step`, :class:`AdjointStep`). Tables are lists of :class:`Row`,
whose cells render in any notation, so text, Markdown and HTML all come from one path,
:meth:`TraceTable.rows`.

Nothing here knows any calculus. A row's formula is assembled from the primitive's own
``template`` (for the primal) and ``partial_templates`` (for tangents and adjoints), so the
formulas shown in a trace are the ones the derivative table in :mod:`adlib.calculus` declares.

Three notations are produced from the same rows:

* plain text: ``v_-1``, ``v̇_-1`` (a combining dot), ``v̄_-1`` (a combining bar);
* Markdown with inline LaTeX: ``$v_{-1}$``, ``$\\dot v_{-1}$``, ``$\\bar v_{-1}$``;
* HTML: ``v<sub>-1</sub>``, ``v̇<sub>-1</sub>``, ``v̄<sub>-1</sub>`` (no MathJax needed).
"""

from __future__ import annotations

import html
import math
import numbers
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .dispatch import show
from .primitive import Primitive

if TYPE_CHECKING:
    from .trace import Trace

DOT = "\u0307"  # combining dot above: the tangent accent
BAR = "\u0304"  # combining macron: the adjoint accent
_ACCENTS = {"": "", "dot": DOT, "bar": BAR}
_LATEX_ACCENTS = {"": "", "dot": "\\dot ", "bar": "\\bar "}
_INDEXED_NAME = re.compile(r"^([A-Za-z]+)_?(\d+)$")


# ---------------------------------------------------------------- numbers


def format_value(x: Any, decimals: int = 3) -> str:
    """A value as the seed prints it: ``decimals`` decimals, trailing zeros dropped (10, 0.5, -0.959).

    Values too small to show at that precision use scientific notation rather than a silent ``0``.
    """
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if abs(x) < 10.0**-decimals or abs(x) >= 1e12:
        return f"{x:.{max(decimals, 1)}g}"
    text = f"{x:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_constant(x: Any) -> str:
    """A constant operand shown inline in a formula: ``6``, ``0.5``, ``(-3)``."""
    if np.ndim(x) != 0:
        return show(x)
    x = float(np.asarray(x))
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        text = str(int(x))
    else:
        text = f"{x:.4g}"
    return f"({text})" if text.startswith("-") else text


# ---------------------------------------------------------------- notations


@dataclass(frozen=True)
class Style:
    """One notation: how variables, names and literal template text are written."""

    kind: str  # "text", "markdown" or "html"

    def var(self, k: int, accent: str = "") -> str:
        """The seed's variable :math:`v_k`, optionally with a tangent dot or adjoint bar."""
        if self.kind == "markdown":
            return f"${_LATEX_ACCENTS[accent]}v_{{{k}}}$"
        if self.kind == "html":
            return f"v{_ACCENTS[accent]}<sub>{k}</sub>"
        return f"v{_ACCENTS[accent]}_{k}"

    def name(self, name: str, accent: str = "") -> str:
        """An input or output name (``x1``, ``y``), optionally accented."""
        match = _INDEXED_NAME.match(name)
        if self.kind == "markdown":
            if match:
                body = f"{match.group(1)}_{{{match.group(2)}}}"
            elif len(name) == 1 and name.isalpha():
                body = name
            else:
                body = "\\mathrm{" + name.replace("_", "\\_") + "}"
            return f"${_LATEX_ACCENTS[accent]}{body}$"
        if self.kind == "html":
            if match:
                return f"{match.group(1)}{_ACCENTS[accent]}<sub>{match.group(2)}</sub>"
            return html.escape(name[:1] + _ACCENTS[accent] + name[1:])
        return name[:1] + _ACCENTS[accent] + name[1:]

    def escape(self, literal: str) -> str:
        """Make template text safe for this notation (``{0}`` placeholders survive)."""
        if self.kind == "markdown":
            return re.sub(r"([|*_\\])", r"\\\1", literal)
        if self.kind == "html":
            return html.escape(literal, quote=False)
        return literal


TEXT = Style("text")
MARKDOWN = Style("markdown")
HTML = Style("html")
STYLES = (TEXT, MARKDOWN, HTML)


# ---------------------------------------------------------------- formulas


def fill(template: str, labels: Sequence[str], style: Style) -> str:
    """Substitute argument labels into a template, then tidy constant exponents.

    Tidying only does arithmetic on literal numbers, e.g. the power rule's ``2 v^(2-1)`` reads
    ``2 v``; no formula is rewritten.
    """
    text = style.escape(template).format(*labels)
    text = re.sub(r"\((\d+(?:\.\d+)?)-1\)", lambda m: format_constant(float(m.group(1)) - 1), text)
    return re.sub(r"\^1(?![\d.])", "", text)


def _wrap(text: str) -> str:
    """Parenthesise a factor that contains a sum or difference."""
    return f"({text})" if (" + " in text or " - " in text) else text


def _wrap_divisor(text: str) -> str:
    if " " in text and not (text.startswith("(") and text.endswith(")")):
        return f"({text})"
    return text


def chain_term(
    carrier: str, partial: str | None, labels: Sequence[str], style: Style, *, adjoint: bool, fallback: str
) -> tuple[bool, str]:
    """One chain-rule term: ``carrier`` (a tangent or adjoint) times a local partial derivative.

    Returns ``(negative, text)``; a negative term is written as a subtraction in a tangent sum.
    ``partial`` is the primitive's partial template (``None`` when it declares none, then
    ``fallback``, e.g. ``∂v_3/∂v_1``, is used). Tangents read like the seed's forward trace
    (``v̇_-1 / v_-1``, ``v̇_4 - v̇_3``); adjoint contributions keep the explicit factor as the
    seed's reverse trace does (``v̄_5 × 1``, ``v̄_5 × (-1)``).
    """
    if partial is None:
        return False, f"{carrier} × {fallback}"
    if partial == "1":
        return False, f"{carrier} × 1" if adjoint else carrier
    if partial == "-1":
        return (False, f"{carrier} × (-1)") if adjoint else (True, carrier)
    if partial.startswith("1/"):
        return False, f"{carrier} / {_wrap_divisor(fill(partial[2:], labels, style))}"
    if partial.startswith("-"):
        rest = fill(partial[1:], labels, style)
        if adjoint:
            return False, f"{carrier} × (-{_wrap(rest)})"
        return True, f"{carrier} × {_wrap(rest)}"
    return False, f"{carrier} × {_wrap(fill(partial, labels, style))}"


def join_terms(terms: Sequence[tuple[bool, str]]) -> str:
    """A signed sum of terms: ``a + b - c``."""
    text = ""
    for i, (negative, term) in enumerate(terms):
        if i == 0:
            text = f"-{term}" if negative else term
        else:
            text += f" - {term}" if negative else f" + {term}"
    return text or "0"


# ---------------------------------------------------------------- operations


class Operand(NamedTuple):
    """One argument of an operation: a variable's number ``index``, or (``index`` None) a constant."""

    index: int | None
    constant: Any = None


@dataclass(frozen=True)
class Step:
    """One operation of a trace as plain data: :math:`v_k = \\varphi(\\text{operands})` with its value."""

    index: int
    primitive: Primitive
    operands: tuple[Operand, ...]
    value: float

    def labels(self, style: Style) -> list[str]:
        """The operands as written in ``style``: ``v_j`` for variables, the number for constants."""
        return [format_constant(o.constant) if o.index is None else style.var(o.index) for o in self.operands]

    def partial(self, j: int, style: Style) -> tuple[str | None, str]:
        """The partial template for operand ``j`` (None if the primitive declares none) and its fallback."""
        templates = self.primitive.partial_templates
        template = templates[j] if len(templates) == len(self.operands) else None
        operand = self.operands[j].index
        assert operand is not None, "a constant operand has no partial"
        return template, f"∂{style.var(self.index)}/∂{style.var(operand)}"


class AdjointStep(NamedTuple):
    """One contribution of the reverse sweep to an argument's adjoint.

    :math:`\\bar v_j \\mathrel{+}= \\bar v_k\\,\\partial\\varphi_k/\\partial v_j`: ``step`` is operation
    :math:`k`, ``j`` the operand's position, ``accumulated`` whether :math:`\\bar v_j` already had a
    contribution, ``value`` :math:`\\bar v_j` after this one.
    """

    step: Step
    j: int
    accumulated: bool
    value: float


# ---------------------------------------------------------------- cells: what a row shows, in any style


@dataclass(frozen=True)
class Var:
    """The variable :math:`v_k`, optionally accented (``"dot"``, ``"bar"``)."""

    k: int
    accent: str = ""

    def render(self, style: Style) -> str:
        return style.var(self.k, self.accent)


@dataclass(frozen=True)
class Name:
    """An input or output name (``x1``, ``y``), optionally accented."""

    name: str
    accent: str = ""

    def render(self, style: Style) -> str:
        return style.name(self.name, self.accent)


@dataclass(frozen=True)
class PrimalFormula:
    """:math:`\\varphi(v_j, \\dots)` from the primitive's ``template`` (``name(args)`` without one)."""

    step: Step

    def render(self, style: Style) -> str:
        prim, labels = self.step.primitive, self.step.labels(style)
        if not prim.template:
            return f"{style.escape(prim.name)}({', '.join(labels)})"
        return fill(prim.template, labels, style)


@dataclass(frozen=True)
class TangentFormula:
    """:math:`\\sum_j \\dot v_j\\, \\partial \\varphi / \\partial v_j` over the variable operands."""

    step: Step

    def render(self, style: Style) -> str:
        labels = self.step.labels(style)
        terms = []
        for j, operand in enumerate(self.step.operands):
            if operand.index is None:
                continue
            partial, fallback = self.step.partial(j, style)
            carrier = style.var(operand.index, "dot")
            terms.append(chain_term(carrier, partial, labels, style, adjoint=False, fallback=fallback))
        return join_terms(terms)


@dataclass(frozen=True)
class AdjointFormula:
    """:math:`[\\bar v_j +]\\ \\bar v_k\\, \\partial \\varphi_k / \\partial v_j` for one contribution."""

    contribution: AdjointStep

    def render(self, style: Style) -> str:
        step, j = self.contribution.step, self.contribution.j
        partial, fallback = step.partial(j, style)
        carrier = style.var(step.index, "bar")
        _, term = chain_term(carrier, partial, step.labels(style), style, adjoint=True, fallback=fallback)
        target = step.operands[j].index
        assert target is not None
        return f"{style.var(target, 'bar')} + {term}" if self.contribution.accumulated else term


Cell = Var | Name | PrimalFormula | TangentFormula | AdjointFormula


class Row(NamedTuple):
    """One line of a trace as data: ``variable = formula = value``, each cell renderable in any style."""

    variable: Cell
    formula: Cell
    value: float


# ---------------------------------------------------------------- tables


class TraceRow(NamedTuple):
    """One line of a trace in one notation: ``variable = formula = value`` (full-precision value)."""

    variable: str
    formula: str
    value: float


def display_width(text: str) -> int:
    """Columns a string occupies in a terminal: combining accents take none."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


class TraceTable(list[TraceRow]):
    """A titled trace: a list of its rows in plain text, printable as text, Markdown or HTML.

    Every notation goes through :meth:`rows`, which renders the same row data in a style.
    """

    def __init__(self, title: str, rows: Sequence[Row]) -> None:
        self.title = title
        self.data: tuple[Row, ...] = tuple(rows)
        super().__init__(self.rows(TEXT))

    def rows(self, style: Style) -> list[TraceRow]:
        """The rows written in ``style``."""
        return [TraceRow(r.variable.render(style), r.formula.render(style), r.value) for r in self.data]

    def to_text(self, decimals: int = 3) -> str:
        """Aligned plain-text lines under the title."""
        rows = self.rows(TEXT)
        w_var = max((display_width(r.variable) for r in rows), default=0)
        w_formula = max((display_width(r.formula) for r in rows), default=0)
        lines = [self.title, "-" * display_width(self.title)]
        for r in rows:
            value = format_value(r.value, decimals)
            lines.append(f"{_pad(r.variable, w_var)} = {_pad(r.formula, w_formula)} = {value}".rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def to_markdown(self, decimals: int = 3) -> str:
        """A Markdown table with inline LaTeX variables."""
        lines = [f"**{MARKDOWN.escape(self.title)}**", "", "| variable | formula | value |", "|:--|:--|--:|"]
        for r in self.rows(MARKDOWN):
            lines.append(f"| {r.variable} | {r.formula} | {format_value(r.value, decimals)} |")
        return "\n".join(lines)

    def to_html(self, decimals: int = 3) -> str:
        """An HTML table (renders without MathJax)."""
        body = "".join(
            f"<tr><td>{var}</td><td>= {formula}</td><td>= {format_value(value, decimals)}</td></tr>"
            for var, formula, value in self.rows(HTML)
        )
        return (
            f'<table style="text-align:left"><caption style="text-align:left"><b>'
            f"{html.escape(self.title)}</b></caption>{body}</table>"
        )

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()


# ---------------------------------------------------------------- the tables and printing of a trace


class TracePrinting:
    """The tables and printed forms of a :class:`~adlib.trace.Trace` (which inherits them).

    Reads only the trace's numbering (``names``, ``point``, ``steps``, ``output_index``) and
    its sweeps (``direction``, ``tangent_values``, ``adjoint_sweep``).
    """

    def primal_table(self: Trace) -> TraceTable:
        """Rows :math:`(v_k, \\text{formula}, \\text{value})`, inputs first, then the output's name."""
        rows = [Row(Var(k), Name(name), x) for k, name, x in _inputs(self, self.point)]
        rows += [Row(Var(step.index), PrimalFormula(step), step.value) for step in self.steps]
        rows.append(Row(Name(self.output_name), Var(self.output_index), self.value))
        return TraceTable("Forward primal trace", rows)

    def tangent_table(self: Trace, wrt: Any = 0) -> TraceTable:
        """The forward tangent trace for input direction ``wrt`` (see ``Trace.direction``).

        Each row :math:`\\dot v_k = \\sum_j \\dot v_j\\, \\partial \\varphi_k / \\partial v_j` reads its
        partials from ``partial_templates`` and its value from ``prim.jvp``.
        """
        seed = self.direction(wrt)
        values = self.tangent_values(wrt)
        rows = [Row(Var(k, "dot"), Name(name, "dot"), x) for k, name, x in _inputs(self, seed)]
        rows += [Row(Var(s.index, "dot"), TangentFormula(s), values[f"v_{s.index}"]) for s in self.steps]
        out = self.output_index
        rows.append(Row(Name(self.output_name, "dot"), Var(out, "dot"), values[f"v_{out}"]))
        if isinstance(wrt, str | numbers.Integral):
            i = seed.index(1.0)
            title = f"Forward tangent trace (d/d{self.names[i]}: direction e_{i + 1})"
        else:
            title = f"Forward tangent trace (direction ({', '.join(format_value(x) for x in seed)}))"
        return TraceTable(title, rows)

    def adjoint_table(self: Trace, seed: float = 1.0) -> TraceTable:
        """The reverse adjoint trace: one row per chain-rule contribution, from the output back.

        Starts with :math:`\\bar v_{\\text{out}} = \\bar y` (``seed``), then for each variable in
        reverse evaluation order and each of its arguments :math:`v_j`:
        :math:`\\bar v_j = [\\bar v_j +]\\ \\bar v_k\\,\\partial \\varphi_k/\\partial v_j` (the bracket when
        :math:`v_j` already had a contribution), valued by ``prim.vjp``; ends with
        :math:`\\bar x_i = \\bar v_{i-n}`.
        """
        values, contributions = self.adjoint_sweep(seed)
        rows = [Row(Var(self.output_index, "bar"), Name(self.output_name, "bar"), float(seed))]
        for c in contributions:
            target = c.step.operands[c.j].index
            assert target is not None
            rows.append(Row(Var(target, "bar"), AdjointFormula(c), c.value))
        rows += [
            Row(Name(name, "bar"), Var(k, "bar"), values[f"v_{k}"])
            for k, name, _ in _inputs(self, self.point)
        ]
        return TraceTable("Reverse adjoint trace", rows)

    def heading(self: Trace) -> str:
        """``f(x1, x2) at x1 = 2, x2 = 5``."""
        point = ", ".join(f"{n} = {format_value(x)}" for n, x in zip(self.names, self.point, strict=True))
        return f"{self.title or 'f'}({', '.join(self.names)}) at {point}"

    def tables(self: Trace, wrt: Any = 0) -> list[TraceTable]:
        """The primal, tangent (for direction ``wrt``; none without inputs) and adjoint tables."""
        out = [self.primal_table()]
        if self.n_inputs:
            out.append(self.tangent_table(wrt))
        out.append(self.adjoint_table())
        return out

    def to_text(self: Trace, wrt: Any = 0, decimals: int = 3) -> str:
        """The three traces as aligned plain text (tangents for direction ``wrt``)."""
        return "\n\n".join([self.heading()] + [table.to_text(decimals) for table in self.tables(wrt)])

    def to_markdown(self: Trace, wrt: Any = 0, decimals: int = 3) -> str:
        """The three traces as Markdown tables with inline LaTeX."""
        parts = [f"**{MARKDOWN.escape(self.heading())}**"]
        return "\n\n".join(parts + [table.to_markdown(decimals) for table in self.tables(wrt)])

    def to_html(self: Trace, wrt: Any = 0, decimals: int = 3) -> str:
        """The three traces as HTML tables side by side."""
        boxes = "".join(
            f'<div style="margin-right:2em">{t.to_html(decimals)}</div>' for t in self.tables(wrt)
        )
        return (
            f'<div><p><b>{html.escape(self.heading())}</b></p><div style="display:flex">{boxes}</div></div>'
        )

    def __str__(self) -> str:
        return self.to_text()  # type: ignore[attr-defined]

    def _repr_markdown_(self) -> str:
        return self.to_markdown()  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        return self.to_html()  # type: ignore[attr-defined]


def _inputs(t: Trace, values: Sequence[float]) -> list[tuple[int, str, float]]:
    """``(k, name, value)`` per input: :math:`v_{1-n}, \\dots, v_0`."""
    n = t.n_inputs
    return [(i + 1 - n, name, x) for i, (name, x) in enumerate(zip(t.names, values, strict=True))]
