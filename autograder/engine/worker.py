"""Grading one submission: nbgrader's sanitize and execute steps, with no gradebook writes.

``grade_submission`` is a pure function of picklable values, so it runs the same in a local
process pool or as a task on a cluster. It reads the assignment's definition from the bundle's
gradebook snapshot (a private copy in a scratch folder), restores every locked and test cell
from it (nbgrader's ``OverwriteCells``), executes the notebook (nbgrader's ``Execute``) and
returns the executed notebooks with their scores. The caller records them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat

from .bundle import AssignmentBundle


@dataclass(frozen=True)
class NotebookResult:
    """One notebook of a submission after grading.

    ``notebook`` is the executed notebook as JSON, or ``None`` when it could not be run (missing,
    unreadable); ``scores`` maps each autograded cell's grade_id to ``(score, max_score)``.
    """

    name: str
    notebook: str | None
    scores: dict[str, tuple[float | None, float]]
    status: str = "graded"
    detail: str = ""


@dataclass(frozen=True)
class SubmissionResult:
    """Everything the worker found for one student's submission."""

    student: str
    assignment: str
    notebooks: tuple[NotebookResult, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    timestamp: str | None = None

    @property
    def status(self) -> str:
        """The worst outcome among the notebooks ("graded" when all ran to the end)."""
        for nb in self.notebooks:
            if nb.status != "graded":
                return nb.status
        return "graded"

    @property
    def detail(self) -> str:
        """What went wrong, notebook by notebook."""
        return "; ".join(f"{nb.name}: {nb.detail}" for nb in self.notebooks if nb.detail)

    @property
    def score(self) -> float:
        """Autograded points earned."""
        return sum(s or 0.0 for nb in self.notebooks for s, _ in nb.scores.values())

    @property
    def max_score(self) -> float:
        """Autograded points available."""
        return sum(m for nb in self.notebooks for _, m in nb.scores.values())


def _safe_relative(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and name not in ("", ".")


def _zero_scores(bundle_db: str, assignment: str, notebook: str) -> dict[str, tuple[float | None, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(bundle_db) as gb:
        nb = gb.find_notebook(notebook, assignment)
        return {
            cell.name: (0.0, float(cell.max_score)) for cell in nb.grade_cells if cell.cell_type == "code"
        }


def _scores(nb: nbformat.NotebookNode) -> dict[str, tuple[float | None, float]]:
    from nbgrader import utils

    out = {}
    for cell in nb.cells:
        if utils.is_grade(cell) and cell.cell_type == "code":
            out[cell.metadata["nbgrader"]["grade_id"]] = utils.determine_grade(cell)
    return out


def _classify_run(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """A status from the executed cells' errors (timeouts are recorded as CellTimeoutError)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and out.get("ename") == "CellTimeoutError":
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "a cell")
                return "timeout", f"{grade_id} ran longer than the cell time limit"
            if out.get("output_type") == "error" and out.get("ename") == "MemoryError":
                return "out of memory", "a cell raised MemoryError"
    return "graded", ""


def _fail_unfinished_tests(nb: nbformat.NotebookNode, first: int, status: str) -> None:
    """Give every test cell from index ``first`` on an error output, so it earns 0.

    When execution stops early (the kernel died), the cell that was running and every cell after
    it have no outputs, and nbgrader's ``determine_grade`` gives a code test cell without an
    error output full marks. A test that did not run to the end has not passed.
    """
    from nbgrader import utils

    for cell in nb.cells[first:]:
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            if not any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
                cell.setdefault("outputs", []).append(
                    nbformat.v4.new_output(
                        "error",
                        ename="NotRun",
                        evalue=f"this test did not run to the end ({status})",
                        traceback=[f"NotRun: this test did not run to the end ({status})"],
                    )
                )


def _read_notebook(raw: bytes) -> nbformat.NotebookNode:
    text = raw.decode("utf-8")
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    return nb


def _grade_notebook(
    bundle: AssignmentBundle, student: str, name: str, raw: bytes | None, db_url: str, workdir: Path
) -> NotebookResult:
    from nbclient.exceptions import DeadKernelError
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        Execute,
        IgnorePattern,
        LimitOutput,
        OverwriteCells,
        OverwriteKernelspec,
    )

    if raw is None:
        return NotebookResult(
            name,
            None,
            _zero_scores(db_url, bundle.assignment, name),
            "missing notebook",
            f"no {name}.ipynb was submitted",
        )
    try:
        nb = _read_notebook(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.ValidationError, ValueError) as exc:
        reason = f"{name}.ipynb is not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})"
        return NotebookResult(
            name, None, _zero_scores(db_url, bundle.assignment, name), "unreadable notebook", reason
        )

    resources: dict[str, Any] = {
        "nbgrader": {"notebook": name, "assignment": bundle.assignment, "student": student, "db_url": db_url},
        "metadata": {"path": str(workdir)},
    }
    try:
        for step in (
            ClearOutput(),
            DeduplicateIds(),
            OverwriteKernelspec(),
            OverwriteCells(),
            CheckCellMetadata(),
        ):
            nb, resources = step.preprocess(nb, resources)
    except Exception as exc:  # a notebook nbgrader cannot sanitize is ungradable, not a crash
        reason = f"{name}.ipynb could not be prepared for grading ({type(exc).__name__}: {str(exc)[:200]})"
        return NotebookResult(
            name, None, _zero_scores(db_url, bundle.assignment, name), "unreadable notebook", reason
        )

    status, detail = "graded", ""
    started: list[int] = []  # the index of every cell the executor has begun, in order

    def on_cell_start(cell: nbformat.NotebookNode, cell_index: int, **_: Any) -> None:
        started.append(cell_index)

    executor = Execute(
        timeout=bundle.limits.cell_timeout, interrupt_on_timeout=True, on_cell_start=on_cell_start
    )
    try:
        nb, resources = executor.preprocess(nb, resources)
    except DeadKernelError as exc:
        status, detail = "kernel died", f"the kernel died while running {name}.ipynb ({str(exc)[:120]})"
    except Exception as exc:  # execution machinery failing is recorded, never fatal for the class
        status, detail = "error", f"running {name}.ipynb failed ({type(exc).__name__}: {str(exc)[:200]})"
    if status != "graded":
        _fail_unfinished_tests(nb, started[-1] if started else 0, status)
    else:
        status, detail = _classify_run(nb)
    # Stock autograde also lists nbconvert's ClearMetadataPreprocessor, disabled by default: omitted.
    for step in (IgnorePattern(), LimitOutput()):
        nb, resources = step.preprocess(nb, resources)
    return NotebookResult(name, nbformat.writes(nb), _scores(nb), status, detail)


def grade_submission(
    bundle: AssignmentBundle, student: str, files: dict[str, bytes], timestamp: str | None = None
) -> SubmissionResult:
    """Grade one student's submitted files (``{relative path: bytes}``) against ``bundle``."""
    with tempfile.TemporaryDirectory(prefix=f"adgrade-{student}-") as tmp:
        root = Path(tmp)
        db_path = root / "gradebook.db"
        db_path.write_bytes(bundle.gradebook)
        db_url = f"sqlite:///{db_path}"
        workdir = root / "work"
        workdir.mkdir()
        # The kernel runs in a folder with the student's files, the assignment's own files on top.
        for rel, data in {**files, **bundle.files}.items():
            if not _safe_relative(rel):
                continue
            target = workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        results = tuple(
            _grade_notebook(bundle, student, name, files.get(f"{name}.ipynb"), db_url, workdir)
            for name in bundle.notebooks
        )
        shutil.rmtree(workdir, ignore_errors=True)
    others = {rel: data for rel, data in files.items() if not rel.endswith(".ipynb") and _safe_relative(rel)}
    return SubmissionResult(student, bundle.assignment, results, others, timestamp)
