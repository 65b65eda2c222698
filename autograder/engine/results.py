"""What grading one submission produced: per notebook, and for the whole submission."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..integrity.findings import Finding


@dataclass(frozen=True)
class NotebookResult:
    """One notebook of a submission after grading.

    ``notebook`` is the executed notebook as JSON, or ``None`` when it could not be run (missing,
    unreadable); ``scores`` maps each autograded cell's grade_id to ``(score, max_score)``;
    ``integrity`` holds the tamper check's findings in its student cells (they change no score).
    """

    name: str
    notebook: str | None
    scores: dict[str, tuple[float | None, float]]
    status: str = "graded"
    detail: str = ""
    integrity: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class SubmissionResult:
    """Everything the worker found for one student's submission."""

    student: str
    assignment: str
    notebooks: tuple[NotebookResult, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    timestamp: str | None = None
    integrity: tuple[Finding, ...] = ()  # the tamper check's findings in submitted .py files
    fingerprint: str = ""  # of the submitted files (set by the engine, which read them)
    #: Submitted files kept out of the sandbox, with the reason: ``((path, why), ...)``.
    refused: tuple[tuple[str, str], ...] = ()
    #: The student's feedback pages, made by the worker (``autograde --feedback``): ``{path in
    #: feedback/<student>/<assignment>/: bytes}``, and the fingerprint of what they were made from
    #: (:mod:`autograder.feedback_state`); empty when the worker made none, and then
    #: ``pages_error`` says why if making them failed (the client makes them later).
    pages: dict[str, bytes] = field(default_factory=dict)
    pages_inputs: str = ""
    pages_error: str = ""

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding of the tamper check: in the notebooks, then in the .py files."""
        return tuple(f for nb in self.notebooks for f in nb.integrity) + self.integrity

    @property
    def status(self) -> str:
        """The worst outcome among the notebooks ("graded" when all ran to the end)."""
        for nb in self.notebooks:
            if nb.status != "graded":
                return nb.status
        return "graded"

    @property
    def detail(self) -> str:
        """What went wrong, notebook by notebook, and which files were refused."""
        parts = [f"{nb.name}: {nb.detail}" for nb in self.notebooks if nb.detail]
        if self.refused:
            listed = ", ".join(f"{path} ({why})" for path, why in self.refused[:5])
            more = f" and {len(self.refused) - 5} more" if len(self.refused) > 5 else ""
            parts.append(f"refused submitted files: {listed}{more}")
        return "; ".join(parts)

    @property
    def score(self) -> float:
        """Autograded points earned."""
        return sum(s or 0.0 for nb in self.notebooks for s, _ in nb.scores.values())

    @property
    def max_score(self) -> float:
        """Autograded points available."""
        return sum(m for nb in self.notebooks for _, m in nb.scores.values())
