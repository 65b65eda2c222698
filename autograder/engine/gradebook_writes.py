"""A batch of graded results into the gradebook: nbgrader's rows, in one transaction.

:func:`write_gradebook` writes what stock ``nbgrader autograde`` writes for each result, with bulk
statements in one session and one transaction (nbgrader opens a session per preprocessor and
commits per cell). A batch is cut into rounds in which each student and assignment comes once, and
each round goes through nbgrader's steps in order:

1. the students (``update_or_create_student``);
2. the submissions (``update_or_create_submission``: a new one gets every notebook of its
   assignment and a Grade and a Comment of every cell, as ``add_submission`` makes them; a known
   one gets its new timestamp);
3. ``SaveAutoGrades``, cell by cell: each grade's ``auto_score`` and ``needs_manual_grade``, each
   comment's ``auto_comment`` (a missing notebook: zero, nothing left to grade by hand);
4. ``AssignLatePenalties`` for each notebook that ran: the course plugin's penalty for its score.

Nothing is committed unless every round was written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from .graded_notebooks import Prepared


def _rounds(prepared: Sequence[Prepared]) -> list[list[Prepared]]:
    """``prepared`` cut, in order, into runs where each (student, assignment) comes at most once."""
    rounds: list[list[Prepared]] = []
    seen: set[tuple[str, str]] = set()
    for p in prepared:
        key = (p.result.student, p.result.assignment)
        if not rounds or key in seen:
            rounds.append([])
            seen = set()
        rounds[-1].append(p)
        seen.add(key)
    return rounds


def write_gradebook(db_url: str, prepared: Sequence[Prepared], config: Any) -> None:
    """Record ``prepared`` in the gradebook at ``db_url`` in one transaction (rolled back on error)."""
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


@dataclass
class _Round:
    """One round of a batch and what the gradebook holds for it, step after step."""

    batch: Sequence[Prepared]
    assignments: dict[str, tuple[Any, _Cells]] = field(default_factory=dict)  # name -> (row, cells)
    wanted: list[tuple[str, str]] = field(default_factory=list)  # (assignment id, student), per result
    submissions: dict[tuple[str, str], Any] = field(default_factory=dict)  # (assignment id, student) -> row
    nb_ids: dict[tuple[str, str], str] = field(default_factory=dict)  # (submission, notebook) -> submitted nb
    grades: dict[tuple[str, str], tuple[str, float | None]] = field(default_factory=dict)  # -> (id, manual)
    comments: dict[tuple[str, str], str] = field(default_factory=dict)  # (submitted nb, cell) -> id
    by_notebook: dict[str, list[str]] = field(default_factory=dict)  # submitted nb -> its grade ids

    def submission(self, p: Prepared) -> Any:
        return self.submissions[(self.assignments[p.result.assignment][0].id, p.result.student)]


def _write_round(session: Any, batch: Sequence[Prepared], config: Any) -> None:
    """Record ``batch`` (each student and assignment at most once) in ``session``, uncommitted."""
    r = _Round(batch)
    _add_students(session, r)
    _add_submissions(session, r)
    _read_rows(session, r)
    graded = _save_auto_grades(session, r)
    _assign_late_penalties(session, r, graded, config)


def _add_students(session: Any, r: _Round) -> None:
    """nbgrader's ``update_or_create_student``, with no other attribute."""
    from nbgrader.api import Student
    from sqlalchemy import insert, select

    students = sorted({p.result.student for p in r.batch})
    known = set()
    for chunk in _chunks(students):
        known |= set(session.execute(select(Student.id).where(Student.id.in_(chunk))).scalars())
    if len(known) < len(students):
        session.execute(insert(Student), [{"id": s} for s in students if s not in known])


def _add_submissions(session: Any, r: _Round) -> None:
    """nbgrader's ``update_or_create_submission`` for each result."""
    from nbgrader.api import Comment, Grade, SubmittedAssignment, SubmittedNotebook, new_uuid
    from nbgrader.utils import parse_utc
    from sqlalchemy import insert, select, tuple_

    for name in sorted({p.result.assignment for p in r.batch}):
        r.assignments[name] = _cells(session, name)
    r.wanted = [(r.assignments[p.result.assignment][0].id, p.result.student) for p in r.batch]
    for chunk in _chunks(r.wanted):
        query = select(SubmittedAssignment).where(
            tuple_(SubmittedAssignment.assignment_id, SubmittedAssignment.student_id).in_(chunk)
        )
        for sub in session.execute(query).scalars():
            r.submissions[(sub.assignment_id, sub.student_id)] = sub
    new_subs, new_nbs, new_grades, new_comments = [], [], [], []
    for p, key in zip(r.batch, r.wanted, strict=True):
        timestamp = parse_utc(p.result.timestamp) if p.result.timestamp else None
        if key in r.submissions:
            if p.result.timestamp:
                r.submissions[key].timestamp = parse_utc(timestamp)
            continue
        sub_id = new_uuid()
        new_subs.append({"id": sub_id, "assignment_id": key[0], "student_id": key[1], "timestamp": timestamp})
        cells = r.assignments[p.result.assignment][1]
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
    for chunk in _chunks([row["id"] for row in new_subs]):
        for sub in session.execute(
            select(SubmittedAssignment).where(SubmittedAssignment.id.in_(chunk))
        ).scalars():
            r.submissions[(sub.assignment_id, sub.student_id)] = sub
    session.flush()  # the timestamps of known submissions, before their lateness is read


def _read_rows(session: Any, r: _Round) -> None:
    """Every submitted notebook, grade and comment of the round's submissions."""
    from nbgrader.api import Comment, Grade, SubmittedNotebook
    from sqlalchemy import select

    for chunk in _chunks([r.submissions[key].id for key in r.wanted]):
        rows = session.execute(
            select(
                SubmittedNotebook.id, SubmittedNotebook.assignment_id, SubmittedNotebook.notebook_id
            ).where(SubmittedNotebook.assignment_id.in_(chunk))
        )
        r.nb_ids.update({(sub, nb): sid for sid, sub, nb in rows})
    for chunk in _chunks(list(r.nb_ids.values())):
        query = select(Grade.id, Grade.notebook_id, Grade.cell_id, Grade.manual_score)
        for gid, nb, cell, manual in session.execute(query.where(Grade.notebook_id.in_(chunk))):
            r.grades[(nb, cell)] = (gid, manual)
            r.by_notebook.setdefault(nb, []).append(gid)
        query = select(Comment.id, Comment.notebook_id, Comment.cell_id)
        for cid, nb, cell in session.execute(query.where(Comment.notebook_id.in_(chunk))):
            r.comments[(nb, cell)] = cid


def _save_auto_grades(session: Any, r: _Round) -> list[tuple[Prepared, str]]:
    """``SaveAutoGrades``, cell by cell, as bulk statements (the last write of a row wins, as it
    would); the (result, submitted notebook) of each notebook that ran."""
    from nbgrader.api import Comment, Grade, MissingEntry
    from sqlalchemy import update

    grade_rows: dict[str, dict[str, Any]] = {}
    comment_rows: dict[str, dict[str, Any]] = {}
    graded: list[tuple[Prepared, str]] = []
    for p in r.batch:
        where = f"{p.result.assignment} for {p.result.student}"
        cells = r.assignments[p.result.assignment][1]
        sub_id = r.submission(p).id
        for nb in p.notebooks:
            if nb.name not in cells.notebooks or (sub_id, cells.notebooks[nb.name]) not in r.nb_ids:
                raise MissingEntry(f"No such submitted notebook: {nb.name}/{where}")
            submitted = r.nb_ids[(sub_id, cells.notebooks[nb.name])]
            if nb.nb is None:
                # As stock nbgrader does for a missing notebook: zero, and nothing left to grade by hand.
                for gid in r.by_notebook.get(submitted, []):
                    grade_rows[gid] = {"id": gid, "auto_score": 0, "needs_manual_grade": False}
                continue
            for grade_id, auto_score in nb.scores:
                found = r.grades.get((submitted, cells.graded.get((nb.name, grade_id), "")))
                if found is None:
                    raise MissingEntry(f"No such grade: {nb.name}/{grade_id}/{where}")
                gid, manual = found
                needs_manual = manual is not None or auto_score is None
                grade_rows[gid] = {"id": gid, "auto_score": auto_score, "needs_manual_grade": needs_manual}
            for grade_id, comment in nb.comments:
                cid = r.comments.get((submitted, cells.commented.get((nb.name, grade_id), "")))
                if cid is None:
                    raise MissingEntry(f"No such comment: {nb.name}/{grade_id}/{where}")
                comment_rows[cid] = {"id": cid, "auto_comment": comment}
            graded.append((p, submitted))
    if grade_rows:
        session.execute(update(Grade), list(grade_rows.values()))
    if comment_rows:
        session.execute(update(Comment), list(comment_rows.values()))
    return graded


def _assign_late_penalties(session: Any, r: _Round, graded: list[tuple[Prepared, str]], config: Any) -> None:
    """``AssignLatePenalties`` for each notebook that ran: its score as the gradebook now computes it."""
    from nbgrader.api import SubmittedNotebook
    from sqlalchemy import select, update

    scores: dict[str, float] = {}
    for chunk in _chunks([nb for _, nb in graded]):
        query = select(SubmittedNotebook.id, SubmittedNotebook.score).where(SubmittedNotebook.id.in_(chunk))
        scores.update(dict(session.execute(query).all()))
    step = None
    penalties = []
    for p, submitted in graded:
        penalty = None
        sub = r.submission(p)
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
