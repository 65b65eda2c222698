"""Which cells of a notebook are the student's code, and their Python source as the kernel runs it.

nbgrader restores the instructor's cells (locked cells and test cells) from the gradebook before
grading, so only the other code cells hold what the student wrote: solution cells, cells the
student added, and unlocked cells that came with the release. The grader knows the instructor's
cells from its gradebook snapshot (:func:`instructor_sources`); a cell counts as the instructor's
only when its grade id is one of them and its source is exactly the recorded one. Without a
gradebook (scanning a notebook file directly), nbgrader's metadata decides.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

import nbformat


@dataclass(frozen=True)
class CodeCell:
    """One code cell of a notebook, as the tamper check sees it.

    ``python`` is the source after IPython's input transformations (magics and shell escapes
    become calls, as the kernel runs them); ``tree`` is its syntax tree, ``None`` when it does not
    parse (the kernel cannot run it either, so it cannot tamper with anything).
    """

    index: int
    grade_id: str
    source: str
    python: str
    tree: ast.Module | None
    student: bool
    solution: bool


def instructor_sources(db_url: str, assignment: str, notebook: str) -> dict[str, str]:
    """``{grade_id: source}`` of the instructor's code cells of one notebook, from a gradebook:
    every recorded source cell that is not a solution cell (locked cells and test cells)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        nb = gb.find_notebook(notebook, assignment)
        answers = {c.name for c in nb.solution_cells}
        return {c.name: c.source for c in nb.source_cells if c.name not in answers and c.cell_type == "code"}


def python_source(source: str) -> str:
    """``source`` as the IPython kernel runs it (``%time x`` becomes ``get_ipython().run_line_magic``)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # a cell IPython cannot transform is run as it is (and fails to compile)
        return source


def parse(source: str) -> ast.Module | None:
    """The syntax tree of ``source``; ``None`` when it is not valid Python."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def code_cells(nb: nbformat.NotebookNode, instructor: Mapping[str, str] | None = None) -> list[CodeCell]:
    """Every code cell of ``nb`` with its Python source, marked student's or instructor's.

    ``instructor`` is :func:`instructor_sources` for this notebook; without it a cell is the
    instructor's when nbgrader's metadata says locked or graded without being a solution.
    """
    out = []
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        grade_id = str(meta.get("grade_id") or "")
        solution = bool(meta.get("solution"))
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if instructor is not None:
            owned = not solution and grade_id in instructor and instructor[grade_id] == source
        else:
            owned = not solution and bool(meta.get("locked") or meta.get("grade"))
        python = python_source(source)
        out.append(CodeCell(index, grade_id, source, python, parse(python), not owned, solution))
    return out
