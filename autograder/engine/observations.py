"""Reading the observations a kernel's checks send, strictly and within bounds.

Each check in a test cell makes one observation (:mod:`adlib.grading.checks`); a cell's
observations travel as display data of MIME type :data:`~adlib.grading.checks.MIME`, a list of
them per message. The executor takes them out of the output stream
(they are never written into the graded notebook) and hands them here, cell by cell
(:class:`Collector`). A student's kernel may send anything under that MIME type, so nothing is
trusted: an observation is a JSON object with exactly a ``label`` (a string) and a ``value`` (plain
data, :func:`adlib.grading.values.decode`); sizes are bounded per observation, per cell and per
notebook; anything else makes that cell's stream *malformed*, which fails the cell. Nothing is ever
unpickled or evaluated. Observations of the answer key's trusted run also carry the check's kind,
tolerances, hint and whether the key agreed with the test's expected value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from adlib.grading.values import ObservationError, Value, decode

#: Bounds on what one kernel may send.
MAX_OBSERVATIONS_PER_CELL = 20_000
MAX_BYTES_PER_CELL = 32 * 1024 * 1024
MAX_BYTES_PER_NOTEBOOK = 128 * 1024 * 1024

#: The kinds of check the grader knows how to compare.
KINDS = ("close", "equal", "true", "shape", "call")

_STUDENT_KEYS = {"label", "value"}
_KEY_KEYS = {"label", "value", "kind", "rtol", "atol", "hint", "agree", "detail"}


@dataclass(frozen=True)
class Observation:
    """One check's record: its label and value; from the key's run also how to compare."""

    label: str
    value: Value
    kind: str = "close"
    rtol: float = 1e-6
    atol: float = 1e-9
    hint: str = ""
    agree: bool = True
    detail: str = ""


def _number(value: Any, name: str) -> float:
    if type(value) not in (int, float) or not (0 <= value < 1e6):
        raise ObservationError(f"{name} must be a non-negative number")
    return float(value)


def parse(payload: Any, trusted: bool) -> Observation:
    """One observation from the JSON a kernel sent; :class:`ObservationError` unless well formed.

    ``trusted``: the payload comes from the answer key's run (it then carries the comparison's
    settings); a student's observation has exactly a label and a value.
    """
    if not isinstance(payload, dict):
        raise ObservationError("an observation must be a JSON object")
    keys = set(payload)
    expected = _KEY_KEYS if trusted else _STUDENT_KEYS
    if (not trusted and keys != expected) or (trusted and not (_STUDENT_KEYS <= keys <= expected)):
        raise ObservationError(f"an observation has the fields {sorted(expected)}, got {sorted(keys)[:10]}")
    label = payload["label"]
    if not isinstance(label, str) or len(label) > 500:
        raise ObservationError("an observation's label must be a string of at most 500 characters")
    value = decode(payload["value"])
    if not trusted:
        return Observation(label, value)
    kind = payload.get("kind", "close")
    if kind not in KINDS:
        raise ObservationError(f"unknown kind of check {str(kind)[:20]!r}")
    hint, detail, agree = payload.get("hint", ""), payload.get("detail", ""), payload.get("agree", True)
    if not isinstance(hint, str) or not isinstance(detail, str) or type(agree) is not bool:
        raise ObservationError("hint and detail must be strings, agree a boolean")
    return Observation(
        label,
        value,
        kind,
        _number(payload.get("rtol", 1e-6), "rtol"),
        _number(payload.get("atol", 1e-9), "atol"),
        hint[:1000],
        agree,
        detail[:1000],
    )


@dataclass
class CellStream:
    """The observations one cell's run sent, in order, or why they could not be read."""

    observations: list[Observation] = field(default_factory=list)
    malformed: str = ""
    size: int = 0
    raw: list[Any] = field(default_factory=list)  # what was sent, kept for the answer key's run


@dataclass
class Collector:
    """Collects the observations of one notebook's run, cell by cell (by cell index)."""

    trusted: bool = False
    streams: dict[int, CellStream] = field(default_factory=dict)
    total: int = 0

    def take(self, cell_index: int, payload: Any) -> None:
        """Add what a kernel sent during cell ``cell_index`` under the observation MIME type: one
        observation, or a list of them (the checks send a cell's observations in one message)."""
        stream = self.streams.setdefault(cell_index, CellStream())
        for item in payload if isinstance(payload, list) else [payload]:
            if stream.malformed:
                return
            if isinstance(item, list):
                stream.malformed = "an observation could not be read (a list inside a list)"
                stream.observations, stream.raw = [], []
                return
            self._take_one(stream, item)

    def _take_one(self, stream: CellStream, payload: Any) -> None:
        try:
            size = len(json.dumps(payload)) if not isinstance(payload, str) else len(payload)
        except (TypeError, ValueError):
            stream.malformed = "an observation is not JSON"
            return
        stream.size += size
        self.total += size
        if len(stream.observations) >= MAX_OBSERVATIONS_PER_CELL:
            stream.malformed = f"the test sent more than {MAX_OBSERVATIONS_PER_CELL} observations"
        elif stream.size > MAX_BYTES_PER_CELL or self.total > MAX_BYTES_PER_NOTEBOOK:
            stream.malformed = "the test's observations are too large"
        else:
            try:
                stream.observations.append(parse(payload, self.trusted))
                if self.trusted:
                    stream.raw.append(payload)
            except ObservationError as exc:
                stream.malformed = f"an observation could not be read ({exc})"
        if stream.malformed:
            stream.observations, stream.raw = [], []  # free the memory; the cell fails
