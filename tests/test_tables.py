"""adlib.md_table and adlib.markdown: the lectures' tables, checked against a real markdown parser.

The cells are read back with mistune, the GFM-table parser that nbconvert renders markdown with
(JupyterLab's renderer splits table rows the same way), so the tests do not trust the helper's own
idea of what a table is.
"""

from __future__ import annotations

import mistune
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import adlib
from adlib.tables import MarkdownText, escape_cell, markdown, md_table


def _text(node: dict) -> str:
    if node["type"] == "codespan":
        return f"`{node['raw']}`"
    if "raw" in node:
        return node["raw"]
    return "".join(_text(child) for child in node.get("children", []))


def parsed_cells(text: str) -> list[list[str]]:
    """The table's rows (header first) as the text each cell shows, parsed by mistune (GFM tables)."""
    parse = mistune.create_markdown(renderer="ast", plugins=["table"])
    (table,) = [node for node in parse(text) if node["type"] == "table"]
    head, body = table["children"]
    rows = [head["children"]] + [row["children"] for row in body["children"]]
    return [[_text(cell).strip() for cell in row] for row in rows]


def test_a_table_has_its_header_and_rows_in_order() -> None:
    table = md_table(["n", "calls"], [(1, 2), (10, 11)])
    assert isinstance(table, MarkdownText)
    assert parsed_cells(str(table)) == [["n", "calls"], ["1", "2"], ["10", "11"]]
    assert table._repr_markdown_() == table.to_markdown() == str(table)


def test_pipes_are_escaped_outside_math_and_become_vert_inside() -> None:
    table = md_table(["rule", "formula"], [("abs", r"$\frac{d}{dx}|x| = x/|x|$"), ("or", "a | b")])
    cells = parsed_cells(str(table))
    assert len(cells) == 3 and all(len(r) == 2 for r in cells)  # no cell was split by a bar
    assert cells[1][1] == r"$\frac{d}{dx}\vert x\vert  = x/\vert x\vert $"
    assert cells[2][1] == "a | b"  # the parser shows the escaped bar as a bar


def test_an_escaped_bar_is_not_escaped_twice() -> None:
    assert escape_cell(r"a \| b") == r"a \| b"
    assert parsed_cells(str(md_table(["x"], [[r"a \| b"]])))[1] == ["a | b"]


def test_dollar_amounts_without_a_closing_dollar_are_plain_text() -> None:
    assert escape_cell("$5 | more") == r"$5 \| more"


# Cell text without markdown syntax other than |, which the helper escapes.
PLAIN_CELL = st.text(alphabet=st.characters(blacklist_characters="\n\r\\`$*_[]<>&#!~"), max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(PLAIN_CELL, min_size=3, max_size=3), max_size=5))
def test_any_one_line_cells_round_trip(rows: list[list[str]]) -> None:
    # Text without markdown syntax (other than |, which is escaped) reads back as written, stripped.
    text = str(md_table(["a", "b", "c"], rows))
    parsed = parsed_cells(text)
    assert parsed[0] == ["a", "b", "c"]
    assert parsed[1:] == [[c.strip() for c in row] for row in rows]


def test_alignment_row() -> None:
    text = str(md_table(["a", "b", "c", "d"], [], align=["left", "right", "center", None]))
    assert text.splitlines()[1] == "|:--|--:|:-:|---|"


@pytest.mark.parametrize(
    ("header", "rows", "align", "message"),
    [
        ([], [], None, "at least one column"),
        (["a", "b"], [(1,)], None, "row 1 has 1 cells but the table has 2 columns"),
        (["a", "b"], [(1, 2), (1, 2, 3)], None, "row 2 has 3 cells"),
        (["a"], [("two\nlines",)], None, "row 1, column 1 ('a'): a table cell cannot hold a line break"),
        (["a\nb"], [], None, "header, column 1"),
        (["a", "b"], [], ["left"], "align has 1 entries for 2 columns"),
        (["a"], [], ["middle"], "unknown alignment 'middle'"),
    ],
)
def test_bad_tables_are_refused_with_a_reason(header, rows, align, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        md_table(header, rows, align=align)


def test_markdown_shows_text_and_objects_with_to_markdown() -> None:
    assert markdown("**bold**")._repr_markdown_() == "**bold**"
    t = adlib.trace(lambda a, b: a * b + a, 2.0, 3.0)
    shown = markdown(t.primal_table())
    assert shown.text == t.primal_table().to_markdown()
    assert not hasattr(shown, "_repr_html_")  # a notebook renders it as markdown, with its LaTeX


def test_markdown_refuses_what_it_cannot_show() -> None:
    with pytest.raises(TypeError, match="not int"):
        markdown(3)

    class Bad:
        def to_markdown(self) -> int:
            return 1

    with pytest.raises(TypeError, match="returned int"):
        markdown(Bad())


def test_the_helpers_are_adlibs_public_api() -> None:
    assert adlib.md_table is md_table and adlib.markdown is markdown and adlib.MarkdownText is MarkdownText
