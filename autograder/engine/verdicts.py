"""Deciding each autograded test cell in the grader, from plain data, against the answer key.

A test cell passes when the student's run of it sent the same observations as the answer key's
trusted run of the same cell (:mod:`.oracle`): the same checks, in the same order, each value
agreeing with the key's under the check's kind and tolerance, and the cell ran to its end. What
the student's kernel says about itself (an error or none, an ``execute_result``, text on stderr)
no longer decides anything: :func:`apply_verdicts` removes those outputs from every test cell and
writes the verdict in their place, as an error output for a failed test (what was checked, what
was expected, what came back, the hint). nbgrader's own ``SaveAutoGrades`` then scores the cells
from that, so the gradebook, the formgrader and the feedback work as with stock nbgrader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import nbformat

from adlib.grading.values import Other, compare, describe, message

from .observations import CellStream, Observation, parse

#: The error name of a failed test's verdict (what students see in their feedback).
VERDICT_ERROR = "AssertionError"
#: The longest piece of the student's own text (an exception's message) a verdict quotes.
QUOTE = 300


@dataclass(frozen=True)
class KeyCell:
    """The answer key's run of one test cell: its observations (as sent) and its error, if any."""

    observations: tuple[dict[str, Any], ...] = ()
    error: str = ""

    def parsed(self) -> list[Observation]:
        """The observations, read as trusted."""
        return [parse(p, trusted=True) for p in self.observations]


@dataclass(frozen=True)
class NotebookOracle:
    """The answer key's runs of every test cell of one notebook, by grade id."""

    cells: Mapping[str, KeyCell] = field(default_factory=dict)


def is_test_cell(cell: Any) -> bool:
    """An autograded test cell: a code cell that is graded and is not an answer."""
    meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def grade_id(cell: Any) -> str:
    return str((cell.get("metadata", {}).get("nbgrader", {}) or {}).get("grade_id", ""))


def _value_detail(e: Observation, g: Observation) -> str | None:
    if isinstance(g.value, Other) and g.value.kind == "error":
        name, text = g.value.value
        return f"your code raised {name}: {text[:QUOTE]}"
    if e.kind == "call":
        return None
    if e.kind == "shape":
        if compare("equal", e.value, g.value) is None:
            return None
        return f"expected shape {describe(e.value)[1:-1]}, got shape {describe(g.value)[1:-1]}"
    return compare(e.kind, e.value, g.value, e.rtol, e.atol)


def judge(key: KeyCell, got: CellStream | None, error: str = "") -> str | None:
    """``None`` when the student's run of a test cell passes, else the failure, in one message.

    ``got`` is what the student's run sent; ``error`` what stopped it (the kernel's error, a
    time limit), empty when it ran to its end.
    """
    if key.error:
        return f"the answer key does not pass this test ({key.error[:QUOTE]}): please tell your instructor"
    got = got or CellStream()
    if got.malformed:
        return f"the test's checks could not be read: {got.malformed}"
    expected = key.parsed()
    if not expected:
        return "this test records no checks: please tell your instructor"
    for i, e in enumerate(expected):
        if i >= len(got.observations):
            why = (
                f"the test stopped before checking it ({error[:QUOTE]})" if error else "it was never checked"
            )
            return message(e.label, why, e.hint)
        g = got.observations[i]
        if g.label != e.label:
            if isinstance(g.value, Other) and g.value.kind == "error":
                return message(e.label, _value_detail(e, g) or "", e.hint)
            return message(
                e.label, f"the test checked {g.label[:200]!r} instead: an earlier result differs", e.hint
            )
        detail = _value_detail(e, g)
        if detail is not None:
            return message(e.label, detail, e.hint)
    if len(got.observations) > len(expected):
        extra = got.observations[len(expected)].label[:200]
        return f"the test made more checks than the answer key's run (the first extra one: {extra!r})"
    if error:
        return f"the test stopped with an error after its checks: {error[:QUOTE]}"
    return None


def error_summary(outputs: list[Any]) -> str:
    """``"Name: message"`` of the first error output, or ``""``."""
    for out in outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"[: 2 * QUOTE]
    return ""


def _neutral(outputs: list[Any]) -> list[Any]:
    """A test cell's outputs with nothing left that nbgrader would score: errors go, text on stderr
    becomes ordinary text, a value becomes displayed data."""
    kept = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "error":
            continue
        if kind == "stream" and out.get("name") == "stderr":
            out = nbformat.v4.new_output("stream", name="stdout", text="[stderr] " + str(out.get("text", "")))
        elif kind == "execute_result":
            out = nbformat.v4.new_output(
                "display_data", data=out.get("data", {}), metadata=out.get("metadata", {})
            )
        kept.append(out)
    return kept


def verdict_output(text: str) -> Any:
    """The error output that carries a failed test's verdict."""
    return nbformat.v4.new_output(
        "error", ename=VERDICT_ERROR, evalue=text, traceback=[f"{VERDICT_ERROR}: {text}"]
    )


def apply_verdicts(
    nb: Any, oracle: NotebookOracle, streams: Mapping[int, CellStream]
) -> dict[str, str | None]:
    """Decide every test cell of the executed notebook ``nb`` and write the verdicts into it.

    Returns ``{grade_id: None or the failure}``. A test cell the key's run does not know fails.
    """
    found = {}
    for index, cell in enumerate(nb.cells):
        if not is_test_cell(cell):
            continue
        gid = grade_id(cell)
        outputs = cell.get("outputs", [])
        key = oracle.cells.get(gid)
        if key is None:
            verdict: str | None = "the grader has no answer-key run of this test: please tell your instructor"
        else:
            verdict = judge(key, streams.get(index), error_summary(outputs))
        cell["outputs"] = _neutral(outputs) + ([verdict_output(verdict)] if verdict else [])
        found[gid] = verdict
    return found
