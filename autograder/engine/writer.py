"""The one writer: records graded submissions in the course gradebook and folders.

The gradebook gets exactly the rows stock ``nbgrader autograde`` writes with its own
``SaveAutoGrades`` (and, for late submissions, ``AssignLatePenalties``): each grade cell's
``auto_score`` (from nbgrader's ``determine_grade``) and ``needs_manual_grade``, each solution and
task cell's ``auto_comment``, each notebook's late penalty (from the course's late submission
plugin) and the submission's timestamp. A missing notebook gets zero, with nothing left to grade
by hand, as stock nbgrader gives it. The autograded notebook goes to
``autograded/<student>/<assignment>/`` and the status file next to the gradebook.

:func:`record_many` records a batch of results in one gradebook session and one transaction,
grades and comments with bulk statements (stock nbgrader opens a session per preprocessor and
commits per cell). The files are written after the transaction commits, so a crash in the middle of
a batch leaves the gradebook as it was before it and no status file of it: a re-run records the
batch again. Recording is idempotent (the same results recorded twice leave the same gradebook,
row ids included), so a crash between the commit and the files loses nothing either.
``tests/test_writer.py`` checks, row for row, that the gradebook is the one nbgrader's own
preprocessors write (:func:`record_each`, kept as the reference and the benchmarks' peer).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nbformat

from ..config import load_config
from .results import NotebookResult, SubmissionResult
from .status import SubmissionStatus, write_atomic, write_status


def record(course: Path, db_url: str, result: SubmissionResult, config: Any = None) -> SubmissionStatus:
    """Write one worker result into the gradebook, ``autograded/`` and the status file.

    ``config`` is the course's nbgrader configuration (e.g. ``c.LateSubmissionPlugin``); read
    from ``course`` when not given (a caller recording many results reads it once).
    """
    return record_many(course, db_url, [result], config)[0]


def record_many(
    course: Path, db_url: str, results: Iterable[SubmissionResult], config: Any = None
) -> list[SubmissionStatus]:
    """Record ``results`` (of any assignments) in one gradebook transaction; their statuses, in order.

    A result whose student and assignment come again later in ``results`` is recorded before the
    later one, as if recorded one after the other. Nothing of the batch is in the gradebook, nor
    in the folders, if recording fails.
    """
    from sqlalchemy.exc import SAWarning

    results = list(results)
    if not results:
        return []
    config = load_config(course) if config is None else config
    with warnings.catch_warnings():
        # nbgrader's gradebook API triggers SQLAlchemy autoflush warnings that are harmless here.
        warnings.simplefilter("ignore", SAWarning)
        prepared = [_prepare(result) for result in results]
        _write_gradebook(db_url, prepared, config)
    return [_write_files(course, p) for p in prepared]


# ---------------------------------------------------------------- what each notebook says


@dataclass
class _Notebook:
    """One notebook of a result, read: its grades and comments as nbgrader's ``SaveAutoGrades``
    decides them (in the notebook's order), or ``nb`` None for a notebook that could not be run."""

    name: str
    nb: Any  # the notebook, or None
    scores: list[tuple[str, float | None]]  # (grade_id, auto_score) of each grade cell
    comments: list[tuple[str, str | None]]  # (grade_id, auto_comment) of each solution or task cell


@dataclass
class _Prepared:
    result: SubmissionResult
    notebooks: list[_Notebook]


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


def _read(nb_result: NotebookResult) -> _Notebook:
    from nbgrader import utils
    from nbgrader.nbgraderformat import ValidationError

    if nb_result.notebook is None:
        return _Notebook(nb_result.name, None, [], [])
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
    return _Notebook(nb_result.name, nb, scores, comments)


def _prepare(result: SubmissionResult) -> _Prepared:
    return _Prepared(result, [_read(nb) for nb in result.notebooks])


# ---------------------------------------------------------------- the gradebook, one transaction


def _rounds(prepared: Sequence[_Prepared]) -> list[list[_Prepared]]:
    """``prepared`` cut, in order, into runs where each (student, assignment) comes at most once."""
    rounds: list[list[_Prepared]] = []
    seen: set[tuple[str, str]] = set()
    for p in prepared:
        key = (p.result.student, p.result.assignment)
        if not rounds or key in seen:
            rounds.append([])
            seen = set()
        rounds[-1].append(p)
        seen.add(key)
    return rounds


def _write_gradebook(db_url: str, prepared: Sequence[_Prepared], config: Any) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        session = gb.db
        try:
            for batch in _rounds(prepared):
                _write_round(session, batch, config)
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    """``items`` in slices of ``size`` (an IN list stays well below any database's limit)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Cells:
    """An assignment's cells, as nbgrader's ``find_grade`` and ``find_comment`` look them up."""

    notebooks: dict[str, str]  # notebook name -> notebook id
    graded: dict[tuple[str, str], str]  # (notebook, name) -> the cell a Grade belongs to
    commented: dict[tuple[str, str], str]  # (notebook, name) -> the cell a Comment belongs to
    grade_cells: dict[str, list[str]]  # notebook id -> the cells a new submission gets a Grade of
    comment_cells: dict[str, list[str]]  # notebook id -> the cells it gets a Comment of


def _cells(session: Any, assignment: str) -> tuple[Any, _Cells]:
    from nbgrader.api import Assignment, MissingEntry
    from sqlalchemy import select

    found = session.execute(select(Assignment).where(Assignment.name == assignment)).scalar_one_or_none()
    if found is None:
        raise MissingEntry(f"No such assignment: {assignment}")
    cells = _Cells({}, {}, {}, {}, {})
    for notebook in found.notebooks:
        cells.notebooks[notebook.name] = notebook.id
        # find_grade looks among the grade cells, then the task cells; find_comment among the
        # solution cells, then the task cells: the first found wins.
        for cell in [*notebook.task_cells, *notebook.grade_cells]:
            cells.graded[(notebook.name, cell.name)] = cell.id
        for cell in [*notebook.task_cells, *notebook.solution_cells]:
            cells.commented[(notebook.name, cell.name)] = cell.id
        # What add_submission makes: a Grade of each grade and task cell, a Comment of each solution
        # and task cell.
        cells.grade_cells[notebook.id] = [c.id for c in notebook.grade_cells] + [
            c.id for c in notebook.task_cells
        ]
        cells.comment_cells[notebook.id] = [c.id for c in notebook.solution_cells] + [
            c.id for c in notebook.task_cells
        ]
    return found, cells


def _write_round(session: Any, batch: Sequence[_Prepared], config: Any) -> None:
    """Record ``batch`` (each student and assignment at most once) in ``session``, uncommitted."""
    from nbgrader.api import (
        Comment,
        Grade,
        MissingEntry,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
        new_uuid,
    )
    from nbgrader.utils import parse_utc
    from sqlalchemy import insert, select, tuple_, update

    # Students: nbgrader's update_or_create_student, with no other attribute.
    students = sorted({p.result.student for p in batch})
    known = set()
    for chunk in _chunks(students):
        known |= set(session.execute(select(Student.id).where(Student.id.in_(chunk))).scalars())
    if len(known) < len(students):
        session.execute(insert(Student), [{"id": s} for s in students if s not in known])

    # Submissions: nbgrader's update_or_create_submission (a new one gets every notebook of its
    # assignment, and a Grade and a Comment of every cell, as add_submission makes them).
    assignments = {}
    for name in sorted({p.result.assignment for p in batch}):
        assignments[name] = _cells(session, name)
    wanted = [(assignments[p.result.assignment][0].id, p.result.student) for p in batch]
    submissions: dict[tuple[str, str], Any] = {}
    for chunk in _chunks(wanted):
        query = select(SubmittedAssignment).where(
            tuple_(SubmittedAssignment.assignment_id, SubmittedAssignment.student_id).in_(chunk)
        )
        for sub in session.execute(query).scalars():
            submissions[(sub.assignment_id, sub.student_id)] = sub
    new_subs, new_nbs, new_grades, new_comments = [], [], [], []
    for p, key in zip(batch, wanted, strict=True):
        timestamp = parse_utc(p.result.timestamp) if p.result.timestamp else None
        if key in submissions:
            if p.result.timestamp:
                submissions[key].timestamp = parse_utc(timestamp)
            continue
        sub_id = new_uuid()
        new_subs.append({"id": sub_id, "assignment_id": key[0], "student_id": key[1], "timestamp": timestamp})
        cells = assignments[p.result.assignment][1]
        for notebook_id in cells.notebooks.values():
            nb_id = new_uuid()
            new_nbs.append({"id": nb_id, "assignment_id": sub_id, "notebook_id": notebook_id})
            new_grades += [{"cell_id": c, "notebook_id": nb_id} for c in cells.grade_cells[notebook_id]]
            new_comments += [{"cell_id": c, "notebook_id": nb_id} for c in cells.comment_cells[notebook_id]]
    for table, rows in (
        (SubmittedAssignment, new_subs),
        (SubmittedNotebook, new_nbs),
        (Grade, new_grades),
        (Comment, new_comments),
    ):
        if rows:
            session.execute(insert(table), rows)
    if new_subs:
        for chunk in _chunks([row["id"] for row in new_subs]):
            for sub in session.execute(
                select(SubmittedAssignment).where(SubmittedAssignment.id.in_(chunk))
            ).scalars():
                submissions[(sub.assignment_id, sub.student_id)] = sub
    session.flush()  # the timestamps of known submissions, before their lateness is read

    # Every submitted notebook, grade and comment of the batch's submissions.
    sub_ids = [submissions[key].id for key in wanted]
    nb_ids: dict[tuple[str, str], str] = {}  # (submission id, notebook id) -> submitted notebook id
    for chunk in _chunks(sub_ids):
        rows = session.execute(
            select(
                SubmittedNotebook.id, SubmittedNotebook.assignment_id, SubmittedNotebook.notebook_id
            ).where(SubmittedNotebook.assignment_id.in_(chunk))
        )
        nb_ids.update({(sub, nb): sid for sid, sub, nb in rows})
    grades: dict[tuple[str, str], tuple[str, float | None]] = {}  # (submitted nb, cell) -> (id, manual)
    comments: dict[tuple[str, str], str] = {}
    by_notebook: dict[str, list[str]] = {}
    for chunk in _chunks(list(nb_ids.values())):
        query = select(Grade.id, Grade.notebook_id, Grade.cell_id, Grade.manual_score)
        for gid, nb, cell, manual in session.execute(query.where(Grade.notebook_id.in_(chunk))):
            grades[(nb, cell)] = (gid, manual)
            by_notebook.setdefault(nb, []).append(gid)
        query = select(Comment.id, Comment.notebook_id, Comment.cell_id)
        for cid, nb, cell in session.execute(query.where(Comment.notebook_id.in_(chunk))):
            comments[(nb, cell)] = cid

    # SaveAutoGrades, cell by cell, as bulk statements: the last write of a row wins, as it would.
    grade_rows: dict[str, dict[str, Any]] = {}
    comment_rows: dict[str, dict[str, Any]] = {}
    graded_notebooks: list[tuple[_Prepared, str]] = []  # (result, submitted notebook) for the penalties
    for p, key in zip(batch, wanted, strict=True):
        where = f"{p.result.assignment} for {p.result.student}"
        cells = assignments[p.result.assignment][1]
        for nb in p.notebooks:
            if (
                nb.name not in cells.notebooks
                or (submissions[key].id, cells.notebooks[nb.name]) not in nb_ids
            ):
                raise MissingEntry(f"No such submitted notebook: {nb.name}/{where}")
            submitted = nb_ids[(submissions[key].id, cells.notebooks[nb.name])]
            if nb.nb is None:
                # As stock nbgrader does for a missing notebook: zero, and nothing left to grade by hand.
                for gid in by_notebook.get(submitted, []):
                    grade_rows[gid] = {"id": gid, "auto_score": 0, "needs_manual_grade": False}
                continue
            for grade_id, auto_score in nb.scores:
                found = grades.get((submitted, cells.graded.get((nb.name, grade_id), "")))
                if found is None:
                    raise MissingEntry(f"No such grade: {nb.name}/{grade_id}/{where}")
                gid, manual = found
                needs_manual = manual is not None or auto_score is None
                grade_rows[gid] = {"id": gid, "auto_score": auto_score, "needs_manual_grade": needs_manual}
            for grade_id, comment in nb.comments:
                cid = comments.get((submitted, cells.commented.get((nb.name, grade_id), "")))
                if cid is None:
                    raise MissingEntry(f"No such comment: {nb.name}/{grade_id}/{where}")
                comment_rows[cid] = {"id": cid, "auto_comment": comment}
            graded_notebooks.append((p, submitted))
    if grade_rows:
        session.execute(update(Grade), list(grade_rows.values()))
    if comment_rows:
        session.execute(update(Comment), list(comment_rows.values()))

    # AssignLatePenalties, for each notebook that ran: its score as the gradebook now computes it.
    scores: dict[str, float] = {}
    for chunk in _chunks([nb for _, nb in graded_notebooks]):
        query = select(SubmittedNotebook.id, SubmittedNotebook.score).where(SubmittedNotebook.id.in_(chunk))
        scores.update(dict(session.execute(query).all()))
    step = None
    penalties = []
    for p, submitted in graded_notebooks:
        penalty = None
        sub = submissions[(assignments[p.result.assignment][0].id, p.result.student)]
        late = sub.total_seconds_late
        if late > 0:
            if step is None:
                step = _late_penalties(config)
            step.log.warning(f"{sub} is {late} seconds late")
            penalty = step.plugin_inst.late_submission_penalty(p.result.student, scores[submitted], late)
            step.log.warning(f"Late submission penalty: {penalty}")
            if penalty is not None:
                penalty = step._check_late_penalty(SimpleNamespace(score=scores[submitted]), penalty)
        penalties.append({"id": submitted, "late_submission_penalty": penalty})
    if penalties:
        session.execute(update(SubmittedNotebook), penalties)


def _late_penalties(config: Any) -> Any:
    """nbgrader's ``AssignLatePenalties`` step with the course's config, its plugin made."""
    from . import pipeline

    (step,) = pipeline.build(("AssignLatePenalties",), config)
    step.init_plugin()
    return step


# ---------------------------------------------------------------- the folders, after the commit


def _write_files(course: Path, p: _Prepared) -> SubmissionStatus:
    result = p.result
    out_dir = course / "autograded" / result.student / result.assignment
    for nb in p.notebooks:
        target = out_dir / f"{nb.name}.ipynb"
        if nb.nb is None:
            target.unlink(missing_ok=True)  # an older graded copy would no longer match the gradebook
        else:
            write_atomic(target, nbformat.writes(nb.nb).encode("utf-8"))
    for rel, data in result.files.items():
        write_atomic(out_dir / rel, data)
    status = SubmissionStatus(
        result.student,
        result.assignment,
        result.status,
        result.detail,
        result.score,
        result.max_score,
        result.findings,
        result.fingerprint,
    )
    write_status(course, status)
    return status


# ---------------------------------------------------------------- the reference: nbgrader's own steps


def record_each(course: Path, db_url: str, result: SubmissionResult, config: Any = None) -> SubmissionStatus:
    """Record one result as the engine did before batches: through nbgrader's own ``SaveAutoGrades``
    and ``AssignLatePenalties`` (:data:`.pipeline.RECORD`), a gradebook session per step and a
    commit per cell. The reference :func:`record_many` is checked against, and the benchmarks' peer."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        return _record_each(course, db_url, result, load_config(course) if config is None else config)


def _record_each(course: Path, db_url: str, result: SubmissionResult, config: Any) -> SubmissionStatus:
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    from . import pipeline

    assignment, student = result.assignment, result.student
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        if result.timestamp:
            gb.update_or_create_submission(assignment, student, timestamp=parse_utc(result.timestamp))
        else:
            gb.update_or_create_submission(assignment, student)

    notebooks = []
    for nb_result in result.notebooks:
        if nb_result.notebook is None:
            with Gradebook(db_url) as gb:
                for grade in gb.find_submission_notebook(nb_result.name, assignment, student).grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gb.db.commit()
            notebooks.append(_Notebook(nb_result.name, None, [], []))
            continue
        nb = nbformat.reads(nb_result.notebook, as_version=4)
        resources: dict[str, Any] = {
            "nbgrader": {
                "notebook": nb_result.name,
                "assignment": assignment,
                "student": student,
                "db_url": db_url,
            }
        }
        nb, resources = pipeline.run(pipeline.build(pipeline.RECORD, config), nb, resources)
        notebooks.append(_Notebook(nb_result.name, nb, [], []))
    return _write_files(course, _Prepared(result, notebooks))
