"""Feedback that keeps hidden tests hidden: a preprocessor for nbgrader's ``GenerateFeedback``.

Stock nbgrader renders a student's feedback from the autograded notebook, so every student sees
every hidden test's code (jupyter/nbgrader#917, #1156, #1363), and whatever student code printed
while a hidden test ran. :class:`HideHiddenTests` makes the feedback show, instead:

* every test cell as the student's release showed it (its hidden part replaced by one comment
  line), with its verdict, points and message, and no other output: text printed while a test
  ran may hold the test's code;
* the student's own code, and the outputs of the cells that ran before the first cell with hidden
  tests; outputs of later cells are left out (code run after a hidden test could print its code;
  the engine also stops those earlier outputs from changing once hidden tests start);
* no widget state; and no line of a hidden test anywhere in what is left (the verdicts quote the
  student's values and errors, which could carry one): each such line is replaced by ``[...]``.

``adcourse feedback``, ``adcourse watch`` and the formgrader use it (the kit's
``nbgrader_config.py`` lists it in ``c.GenerateFeedback.preprocessors``). To give students stock
nbgrader's feedback instead, set ``c.HideHiddenTests.enabled = False`` in ``nbgrader_config.py``.
"""

from __future__ import annotations

from typing import Any

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import Bool, Integer

from .engine.verdicts import is_test_cell

#: What replaces a test cell's hidden part.
HIDDEN_NOTE = "# ... hidden tests ran here (their code is not shown in feedback)"
#: What a cell's left-out outputs become.
LEFT_OUT = "(output not shown in feedback: this cell ran after hidden tests had started)\n"
#: What a hidden line inside shown text becomes.
SCRUBBED = "[...]"


def hidden_regions(nb: Any, clear: ClearHiddenTests) -> tuple[int | None, list[str]]:
    """``(first, lines)``: the index of the first test cell with hidden tests and every line of
    every hidden test (stripped), read from a notebook that still holds them."""
    first, lines = None, []
    for index, cell in enumerate(nb.cells):
        if not is_test_cell(cell):
            continue
        inside = False
        for line in cell.source.split("\n"):
            if clear.begin_test_delimeter in line:
                inside = True
                first = index if first is None else first
            elif clear.end_test_delimeter in line:
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
    return first, lines


def scrub(text: str, lines: list[str]) -> str:
    """``text`` with every occurrence of a hidden line replaced by :data:`SCRUBBED`."""
    for line in lines:
        if line in text:
            text = text.replace(line, SCRUBBED)
    return text


def _scrub_output(out: Any, lines: list[str]) -> Any:
    out = nbformat.from_dict(dict(out))
    if out.get("output_type") == "stream":
        out["text"] = scrub(str(out.get("text", "")), lines)
    elif out.get("output_type") == "error":
        out["evalue"] = scrub(str(out.get("evalue", "")), lines)
        out["traceback"] = [scrub(str(t), lines) for t in out.get("traceback", [])]
    else:
        data = out.get("data", {})
        for mime, value in list(data.items()):
            if isinstance(value, str):
                data[mime] = scrub(value, lines)
            elif isinstance(value, list):
                data[mime] = [scrub(str(v), lines) for v in value]
    return out


class HideHiddenTests(NbGraderPreprocessor):  # type: ignore[misc]
    """Remove hidden tests, and anything that could hold them, from a notebook for feedback."""

    enabled = Bool(True, help="Hide hidden tests in feedback (False: stock nbgrader's feedback)").tag(
        config=True
    )
    min_line = Integer(
        8, help="Hidden lines shorter than this (e.g. `else:`) are not scrubbed from shown text"
    ).tag(config=True)

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        clear = ClearHiddenTests(parent=self)
        first, lines = hidden_regions(nb, clear)
        own = {line for cell in nb.cells if not is_test_cell(cell) for line in cell.source.split("\n")}
        lines = sorted(
            {line for line in lines if len(line) >= self.min_line and line not in {o.strip() for o in own}},
            key=len,
            reverse=True,
        )
        for index, cell in enumerate(nb.cells):
            if is_test_cell(cell):
                if clear._remove_hidden_test_region(cell):
                    cell.source = cell.source.rstrip("\n") + "\n" + HIDDEN_NOTE
                cell.outputs = [
                    _scrub_output(o, lines) for o in cell.outputs if o.get("output_type") == "error"
                ]
            elif cell.cell_type == "code":
                if first is not None and index >= first and cell.outputs:
                    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=LEFT_OUT)]
                else:
                    cell.outputs = [_scrub_output(o, lines) for o in cell.outputs]
            keep = {"nbgrader": cell.metadata["nbgrader"]} if "nbgrader" in cell.metadata else {}
            cell.metadata = nbformat.from_dict(keep)
        nb.metadata.pop("widgets", None)
        return nb, resources

    def preprocess_cell(self, cell: Any, resources: dict[str, Any], index: int) -> tuple[Any, dict[str, Any]]:
        return cell, resources  # the work is done on the whole notebook, in :meth:`preprocess`
