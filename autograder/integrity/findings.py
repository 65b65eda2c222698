"""What the tamper check found in a submission: one :class:`Finding` per suspicious place.

A finding is a flag for an instructor to look at, never a verdict: grading ignores it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

MONKEYPATCH = "monkeypatch"
SYS_MODULES = "sys.modules"
OUTSIDE_FILE = "file outside the folder"
REFERENCE = "reference implementation"
DYNAMIC_CODE = "hidden code"
MONITOR = "monitor blinded"
CHECK_FAILED = "check failed"

#: Every kind of finding, in the order reports list them. "check failed" is not the student's
#: doing: the tamper check could not read that notebook, so it deserves a look by hand.
KINDS = (MONKEYPATCH, SYS_MODULES, OUTSIDE_FILE, REFERENCE, DYNAMIC_CODE, MONITOR, CHECK_FAILED)

#: Longest evidence snippet kept (characters).
EVIDENCE_CHARS = 160


@dataclass(frozen=True)
class Finding:
    """One suspicious place in a student's code.

    Attributes:
        kind: one of :data:`KINDS`.
        what: a sentence saying what the code does (``"assigns numpy.allclose"``).
        notebook: the notebook's name without ``.ipynb``, or a submitted ``.py`` file's path.
        cell: index of the cell in the graded notebook (``None`` for a ``.py`` file or when the
            whole notebook is concerned).
        grade_id: the cell's nbgrader grade id, ``""`` for a cell the student added.
        line: line in the cell (or file), from 1; ``None`` when unknown.
        evidence: the source line (or, for what the kernel did, the event), shortened.
        source: ``"scan"`` (read from the code) or ``"kernel"`` (seen while the notebook ran).
    """

    kind: str
    what: str
    notebook: str
    cell: int | None = None
    grade_id: str = ""
    line: int | None = None
    evidence: str = ""
    source: str = "scan"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.source not in ("scan", "kernel"):
            raise ValueError(f"a finding's source is 'scan' or 'kernel', got {self.source!r}")
        object.__setattr__(self, "evidence", shorten(self.evidence))

    @property
    def where(self) -> str:
        """``notebook, cell 3 (grade id), line 2`` in words."""
        parts = [self.notebook]
        if self.cell is not None:
            parts.append(f"cell {self.cell} ({self.grade_id or 'added by the student'})")
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON values."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """The finding :meth:`to_dict` wrote; ``ValueError`` naming what is wrong otherwise."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a finding must be a JSON object, got {type(data).__name__}")
        for name in ("kind", "what", "notebook"):
            if not isinstance(data.get(name), str):
                raise ValueError(f"a finding needs a string {name!r}")
        for name in ("cell", "line"):
            if data.get(name) is not None and type(data.get(name)) is not int:
                raise ValueError(f"a finding's {name!r} must be a whole number or null")
        return cls(
            kind=data["kind"],
            what=data["what"],
            notebook=data["notebook"],
            cell=data.get("cell"),
            grade_id=str(data.get("grade_id") or ""),
            line=data.get("line"),
            evidence=str(data.get("evidence") or ""),
            source=str(data.get("source") or "scan"),
        )


def shorten(text: str, limit: int = EVIDENCE_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def unique(findings: Iterable[Finding]) -> list[Finding]:
    """``findings`` in a stable order (notebook, cell, line, kind), one per place and kind: the
    first found, which for one line is the most specific."""
    seen: dict[tuple[Any, ...], Finding] = {}
    for f in findings:
        seen.setdefault((f.notebook, f.cell, f.line, f.kind), f)

    def key(f: Finding) -> tuple[Any, ...]:
        return (f.notebook, -1 if f.cell is None else f.cell, f.line or 0, KINDS.index(f.kind), f.what)

    return sorted(seen.values(), key=key)
