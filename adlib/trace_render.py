"""Rendering for :mod:`adlib.trace`: notation styles, formula text and the printed tables.

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
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .dispatch import show

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


# ---------------------------------------------------------------- tables


class TraceRow(NamedTuple):
    """One line of a trace: ``variable = formula = value`` (plain-text notation, full-precision value)."""

    variable: str
    formula: str
    value: float


def display_width(text: str) -> int:
    """Columns a string occupies in a terminal: combining accents take none."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


class TraceTable(list[TraceRow]):
    """A list of :class:`TraceRow` with a title, printable as text, Markdown or HTML.

    ``cells[style.kind][i]`` holds row ``i``'s ``(variable, formula)`` in that notation.
    """

    def __init__(self, title: str, rows: Sequence[TraceRow], cells: dict[str, list[tuple[str, str]]]) -> None:
        super().__init__(rows)
        self.title = title
        self.cells = cells

    def to_text(self, decimals: int = 3) -> str:
        """Aligned plain-text lines under the title."""
        values = [format_value(r.value, decimals) for r in self]
        w_var = max((display_width(r.variable) for r in self), default=0)
        w_formula = max((display_width(r.formula) for r in self), default=0)
        lines = [self.title, "-" * display_width(self.title)]
        for row, value in zip(self, values, strict=True):
            lines.append(f"{_pad(row.variable, w_var)} = {_pad(row.formula, w_formula)} = {value}".rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def to_markdown(self, decimals: int = 3) -> str:
        """A Markdown table with inline LaTeX variables."""
        lines = [f"**{MARKDOWN.escape(self.title)}**", "", "| variable | formula | value |", "|:--|:--|--:|"]
        for row, (var, formula) in zip(self, self.cells["markdown"], strict=True):
            lines.append(f"| {var} | {formula} | {format_value(row.value, decimals)} |")
        return "\n".join(lines)

    def to_html(self, decimals: int = 3) -> str:
        """An HTML table (renders without MathJax)."""
        body = "".join(
            f"<tr><td>{var}</td><td>= {formula}</td><td>= {format_value(row.value, decimals)}</td></tr>"
            for row, (var, formula) in zip(self, self.cells["html"], strict=True)
        )
        return (
            f'<table style="text-align:left"><caption style="text-align:left"><b>'
            f"{html.escape(self.title)}</b></caption>{body}</table>"
        )

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()
