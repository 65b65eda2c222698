"""What each graded notebook says: its grades and comments, as nbgrader's ``SaveAutoGrades`` reads them.

:func:`prepare` reads a worker's result before anything is written: it parses each executed
notebook, checks its nbgrader metadata as ``CheckCellMetadata`` does (with the schema compiled
once, not once a cell) and takes each grade cell's ``auto_score`` (nbgrader's ``determine_grade``)
and each solution and task cell's ``auto_comment``, in the notebook's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nbformat

from .results import NotebookResult, SubmissionResult


@dataclass
class ReadNotebook:
    """One notebook of a result, read: its grades and comments as nbgrader's ``SaveAutoGrades``
    decides them (in the notebook's order), or ``nb`` None for a notebook that could not be run."""

    name: str
    nb: Any  # the notebook, or None
    scores: list[tuple[str, float | None]]  # (grade_id, auto_score) of each grade cell
    comments: list[tuple[str, str | None]]  # (grade_id, auto_comment) of each solution or task cell


@dataclass
class Prepared:
    """A result and what each of its notebooks says."""

    result: SubmissionResult
    notebooks: list[ReadNotebook]


_validator: Any = None


def _metadata_validator() -> Any:
    """nbgrader's ``MetadataValidator`` (what ``CheckCellMetadata`` runs), made once, checking
    each cell against its schema with one compiled validator: nbgrader's own compiles the schema
    again for every cell (~5 ms a cell), the same checks otherwise, with the same errors."""
    global _validator
    if _validator is None:
        import jsonschema
        from nbgrader.nbgraderformat import MetadataValidator
        from nbgrader.nbgraderformat.common import BaseMetadataValidator

        class CompiledSchema(BaseMetadataValidator):
            def validate_cell(self, cell: Any) -> None:
                if "nbgrader" not in cell.metadata:
                    return
                if cell.metadata["nbgrader"].get("schema_version", 0) != self.schema_version:
                    super().validate_cell(cell)  # the schema-version error nbgrader raises
                if not hasattr(self, "_compiled"):
                    cls = jsonschema.validators.validator_for(self.schema)
                    cls.check_schema(self.schema)
                    self._compiled = cls(self.schema)
                    self._fast = _fast_validator(self.schema)
                if self._fast is not None:
                    try:
                        self._fast(cell.metadata["nbgrader"])
                        return
                    except Exception:  # invalid: jsonschema says how, as in nbgrader
                        pass
                error = jsonschema.exceptions.best_match(
                    self._compiled.iter_errors(cell.metadata["nbgrader"])
                )
                if error is not None:
                    raise error

        class Validator(MetadataValidator, CompiledSchema):  # MetadataValidator's checks on top
            pass

        _validator = Validator()
    return _validator


def _fast_validator(schema: dict[str, Any]) -> Any:
    """``schema`` compiled by ``fastjsonschema`` (nbformat's fast validator), if it is installed:
    a check of valid metadata in microseconds; an invalid one is checked again by jsonschema."""
    try:
        import fastjsonschema
    except ImportError:
        return None
    return fastjsonschema.compile(schema, use_default=False)  # never fills in defaults


def _read(nb_result: NotebookResult) -> ReadNotebook:
    from nbgrader import utils
    from nbgrader.nbgraderformat import ValidationError

    if nb_result.notebook is None:
        return ReadNotebook(nb_result.name, None, [], [])
    nb = nbformat.reads(nb_result.notebook, as_version=4)
    # CheckCellMetadata, the last of nbgrader's RECORD steps: refuse corrupted nbgrader metadata.
    try:
        _metadata_validator().validate_nb(nb)
    except ValidationError as exc:
        raise ValidationError("Notebook failed to validate; the nbgrader metadata may be corrupted.") from exc
    scores: list[tuple[str, float | None]] = []
    comments: list[tuple[str, str | None]] = []
    for cell in nb.cells:
        if utils.is_grade(cell):
            auto_score, _ = utils.determine_grade(cell)
            scores.append((cell.metadata["nbgrader"]["grade_id"], auto_score))
        # SaveAutoGrades comments on a solution cell and on a task cell (twice on a cell that is both).
        for _ in range(bool(utils.is_solution(cell)) + bool(utils.is_task(cell))):
            no_response = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
            comment = "No response." if no_response and not utils.is_task(cell) else None
            comments.append((cell.metadata["nbgrader"]["grade_id"], comment))
    return ReadNotebook(nb_result.name, nb, scores, comments)


def prepare(result: SubmissionResult) -> Prepared:
    """Read every notebook of ``result`` (ValidationError if its nbgrader metadata is corrupted)."""
    return Prepared(result, [_read(nb) for nb in result.notebooks])
