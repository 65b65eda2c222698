"""Markdown tables and text for notebooks: what every lecture shows its computed numbers in.

``md_table(header, rows)`` builds a GitHub-flavoured pipe table from values a cell computed, and
``markdown(obj)`` shows markdown text (or anything with a ``to_markdown()`` method, such as a trace
table) as markdown. Both return a :class:`MarkdownText`, which Jupyter displays as rendered
markdown through ``_repr_markdown_`` (no IPython import needed here) and ``str()`` gives as text.

A table cell must stay on one line, and a bare ``|`` would end the cell early. ``md_table``
therefore escapes it: outside inline math ``$...$`` as ``\\|`` (GFM's escape, valid inside code
spans too), inside math as ``\\vert`` (the same bar in LaTeX, which the table parser leaves alone).
A cell with a line break is refused with an error naming its row and column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_ALIGN = {"left": ":--", "right": "--:", "center": ":-:", None: "---"}
# Inline math: a $ that is not escaped, up to the next unescaped $ (``$$`` display math is not a cell's).
_INLINE_MATH = re.compile(r"(?<!\\)\$(?:\\.|[^$\\])+\$")


@dataclass(frozen=True)
class MarkdownText:
    """Markdown source that notebooks render: ``display(MarkdownText("**bold**"))`` or as a cell's value."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def to_markdown(self) -> str:
        """The markdown source."""
        return self.text

    def __str__(self) -> str:
        return self.text


def markdown(source: Any) -> MarkdownText:
    """Show ``source`` as rendered markdown.

    ``source`` is markdown text or an object with a ``to_markdown()`` method returning it (a trace
    table from :func:`adlib.trace`, whose HTML form a notebook would otherwise prefer).
    """
    if isinstance(source, str):
        return MarkdownText(source)
    to_markdown = getattr(source, "to_markdown", None)
    if not callable(to_markdown):
        raise TypeError(
            f"markdown() takes markdown text or an object with a to_markdown() method, "
            f"not {type(source).__name__}"
        )
    text = to_markdown()
    if not isinstance(text, str):
        raise TypeError(f"{type(source).__name__}.to_markdown() returned {type(text).__name__}, not str")
    return MarkdownText(text)


def escape_cell(text: str) -> str:
    """``text`` made safe for one cell of a pipe table: ``|`` escaped, math kept typesettable.

    Outside inline math a ``|`` becomes ``\\|``; inside ``$...$`` it becomes ``\\vert`` followed by a
    space, which LaTeX reads as the same bar. A ``|`` that is already escaped is left alone.
    """
    parts, last = [], 0
    for match in _INLINE_MATH.finditer(text):
        parts.append(_escape_bars(text[last : match.start()]))
        parts.append(re.sub(r"(?<!\\)\|", r"\\vert ", match.group()))
        last = match.end()
    parts.append(_escape_bars(text[last:]))
    return "".join(parts)


def _escape_bars(text: str) -> str:
    return re.sub(r"(?<!\\)\|", r"\\|", text)


def md_table(
    header: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    align: Sequence[str | None] | None = None,
) -> MarkdownText:
    """A markdown pipe table: one header row, one line per row, each cell ``str()`` of its value.

    Args:
        header: the column titles.
        rows: the rows; each must have as many cells as ``header``.
        align: per column ``"left"``, ``"right"``, ``"center"`` or ``None`` (the renderer's default);
            all ``None`` when omitted.

    Raises:
        ValueError: an empty header, a row of the wrong length, a cell with a line break, or an
            ``align`` of the wrong length or with an unknown word.
    """
    titles = [str(h) for h in header]
    if not titles:
        raise ValueError("md_table needs at least one column")
    if align is None:
        align = [None] * len(titles)
    if len(align) != len(titles):
        raise ValueError(f"align has {len(align)} entries for {len(titles)} columns")
    unknown = [a for a in align if a not in _ALIGN]
    if unknown:
        raise ValueError(f"unknown alignment {unknown[0]!r}: use 'left', 'right', 'center' or None")

    def line(cells: Sequence[Any], where: str) -> str:
        texts = []
        for col, cell in enumerate(cells):
            text = str(cell)
            if "\n" in text or "\r" in text:
                raise ValueError(
                    f"{where}, column {col + 1} ({titles[col]!r}): a table cell cannot hold a line break: "
                    f"{text!r}"
                )
            texts.append(escape_cell(text))
        return "| " + " | ".join(texts) + " |"

    lines = [line(titles, "header"), "|" + "|".join(_ALIGN[a] for a in align) + "|"]
    for number, row in enumerate(rows, start=1):
        cells = list(row)
        if len(cells) != len(titles):
            raise ValueError(f"row {number} has {len(cells)} cells but the table has {len(titles)} columns")
        lines.append(line(cells, f"row {number}"))
    return MarkdownText("\n".join(lines))
