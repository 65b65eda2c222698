"""Private SQLite gradebooks copied from the course gradebook, for workers.

Workers grade against a snapshot of one assignment's definition, never against the course
gradebook (which only the parent writes). The copy is row for row, ids included, of the tables
that define an assignment — the course, the assignment, its notebooks and their cells — so that a
worker's graded rows refer to the same cells as the course gradebook's, whatever database that one
lives in (SQLite, PostgreSQL). Workers that make a class's feedback pages get a snapshot of the
class (:func:`snapshot_class`): the definition and every submission of the assignment with its
grades and comments, as ``nbgrader generate_feedback`` reads them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..paths import CourseError

# The tables that define an assignment, parents before children; the column joining each to the
# assignment (directly or through its notebook / its cell).
_DEFINITION = (
    "course",
    "assignment",
    "notebook",
    "base_cell",
    "grade_cells",
    "solution_cells",
    "task_cells",
    "source_cell",
)
# The tables of a class's submissions of the assignment, parents before children.
_SUBMISSIONS = ("student", "submitted_assignment", "submitted_notebook", "grade", "comment")


def snapshot_assignment(db_url: str, assignment: str) -> tuple[bytes, tuple[str, ...]]:
    """A new SQLite gradebook holding ``assignment``'s definition from ``db_url``, as bytes, and
    the names of the assignment's notebooks (sorted).

    Raises :class:`~autograder.paths.CourseError` if the assignment is not in that gradebook.
    """
    rows, version = _read(db_url, assignment, with_submissions=False)
    return _write(rows, version, assignment), tuple(sorted(r["name"] for r in rows["notebook"]))


def snapshot_class(db_url: str, assignment: str) -> bytes:
    """A new SQLite gradebook holding ``assignment``'s definition and every submission of it (the
    students, their submitted assignments and notebooks, grades and comments) from ``db_url``."""
    rows, version = _read(db_url, assignment, with_submissions=True)
    return _write(rows, version, assignment)


def _read(db_url: str, assignment: str, with_submissions: bool) -> tuple[dict[str, list[dict]], str]:
    from sqlalchemy import create_engine, text

    source = create_engine(db_url, future=True)
    try:
        with source.connect() as src:
            rows = _definition_rows(src, assignment)
            if with_submissions:
                rows.update(_submission_rows(src, [r["id"] for r in rows["assignment"]]))
            version = src.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        source.dispose()
    return rows, version


def _write(rows: dict[str, list[dict]], version: str, assignment: str) -> bytes:
    """The SQLite gradebook holding exactly ``rows`` (table by table), as bytes."""
    from nbgrader.api import Base
    from sqlalchemy import create_engine, func, select, text

    with tempfile.TemporaryDirectory(prefix="adsnapshot-") as tmp:
        path = Path(tmp) / "gradebook.db"
        target = create_engine(f"sqlite:///{path}", future=True)
        try:
            Base.metadata.create_all(bind=target)
            with target.begin() as dst:
                dst.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                dst.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
                for name in (*_DEFINITION, *_SUBMISSIONS):
                    if rows.get(name):
                        dst.execute(Base.metadata.tables[name].insert(), rows[name])
            with target.connect() as check:  # the copy must be complete before anyone uses it
                for name, table_rows in rows.items():
                    table = Base.metadata.tables[name]
                    copied = check.execute(select(func.count()).select_from(table)).scalar_one()
                    if copied != len(table_rows):
                        raise CourseError(f"the gradebook snapshot of {assignment} is incomplete ({name})")
        finally:
            target.dispose()
        return path.read_bytes()


def _definition_rows(conn, assignment: str) -> dict[str, list[dict]]:
    """The rows of every definition table that belong to ``assignment``."""
    from nbgrader.api import Base
    from sqlalchemy import select

    t = Base.metadata.tables
    found = conn.execute(select(t["assignment"]).where(t["assignment"].c.name == assignment)).mappings().all()
    if not found:
        raise CourseError(f"{assignment} is not in the course gradebook (release it first)")
    rows: dict[str, list[dict]] = {"assignment": [dict(r) for r in found]}
    course_ids = {r["course_id"] for r in rows["assignment"]}
    rows["course"] = _all(conn, t["course"], t["course"].c.id.in_(course_ids))
    assignment_ids = [r["id"] for r in rows["assignment"]]
    rows["notebook"] = _all(conn, t["notebook"], t["notebook"].c.assignment_id.in_(assignment_ids))
    notebook_ids = [r["id"] for r in rows["notebook"]]
    rows["base_cell"] = _all(conn, t["base_cell"], t["base_cell"].c.notebook_id.in_(notebook_ids))
    cell_ids = [r["id"] for r in rows["base_cell"]]
    for name in ("grade_cells", "solution_cells", "task_cells"):
        rows[name] = _all(conn, t[name], t[name].c.id.in_(cell_ids))
    rows["source_cell"] = _all(conn, t["source_cell"], t["source_cell"].c.notebook_id.in_(notebook_ids))
    return rows


def _submission_rows(conn, assignment_ids: list) -> dict[str, list[dict]]:
    """The rows of every submission of the assignments ``assignment_ids``, with their students.

    Each table is read with a subquery on its parent (not a list of ids), so the statements stay
    small whatever the size of the class."""
    from nbgrader.api import Base
    from sqlalchemy import select

    t = Base.metadata.tables
    sa, sn = t["submitted_assignment"], t["submitted_notebook"]
    submissions = select(sa.c.id).where(sa.c.assignment_id.in_(assignment_ids))
    notebooks = select(sn.c.id).where(sn.c.assignment_id.in_(submissions))
    students = select(sa.c.student_id).where(sa.c.assignment_id.in_(assignment_ids))
    return {
        "student": _all(conn, t["student"], t["student"].c.id.in_(students)),
        "submitted_assignment": _all(conn, sa, sa.c.assignment_id.in_(assignment_ids)),
        "submitted_notebook": _all(conn, sn, sn.c.assignment_id.in_(submissions)),
        "grade": _all(conn, t["grade"], t["grade"].c.notebook_id.in_(notebooks)),
        "comment": _all(conn, t["comment"], t["comment"].c.notebook_id.in_(notebooks)),
    }


def _all(conn, table, where) -> list[dict]:
    from sqlalchemy import select

    return [dict(r) for r in conn.execute(select(table).where(where)).mappings().all()]
