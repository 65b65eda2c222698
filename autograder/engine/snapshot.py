"""A private SQLite gradebook holding one assignment's definition, copied from the course gradebook.

Workers grade against such a snapshot, never against the course gradebook (which only the parent
writes). The copy is row for row, ids included, of the tables that define an assignment — the
course, the assignment, its notebooks and their cells — so that a worker's graded rows refer to
the same cells as the course gradebook's, whatever database that one lives in (SQLite, PostgreSQL).
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


def snapshot_assignment(db_url: str, assignment: str) -> tuple[bytes, tuple[str, ...]]:
    """A new SQLite gradebook holding ``assignment``'s definition from ``db_url``, as bytes, and
    the names of the assignment's notebooks (sorted).

    Raises :class:`~autograder.paths.CourseError` if the assignment is not in that gradebook.
    """
    from nbgrader.api import Base
    from sqlalchemy import create_engine, select, text

    source = create_engine(db_url, future=True)
    try:
        with source.connect() as src:
            rows = _definition_rows(src, assignment)
            version = src.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        source.dispose()

    with tempfile.TemporaryDirectory(prefix="adsnapshot-") as tmp:
        path = Path(tmp) / "gradebook.db"
        target = create_engine(f"sqlite:///{path}", future=True)
        try:
            Base.metadata.create_all(bind=target)
            with target.begin() as dst:
                dst.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                dst.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
                for name in _DEFINITION:
                    if rows[name]:
                        dst.execute(Base.metadata.tables[name].insert(), rows[name])
            with target.connect() as check:  # the copy must be complete before anyone grades with it
                table = Base.metadata.tables["source_cell"]
                copied = len(check.execute(select(table.c.id)).all())
            if copied != len(rows["source_cell"]):
                raise CourseError(f"the gradebook snapshot of {assignment} is incomplete")
        finally:
            target.dispose()
        return path.read_bytes(), tuple(sorted(r["name"] for r in rows["notebook"]))


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


def _all(conn, table, where) -> list[dict]:
    from sqlalchemy import select

    return [dict(r) for r in conn.execute(select(table).where(where)).mappings().all()]
