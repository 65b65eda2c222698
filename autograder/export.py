"""Grades for a learning management system: ``adcourse export NAME --format canvas|csv``.

The score of a student is nbgrader's own ``score`` (the column of ``nbgrader export`` and of the
report's ``grades.csv``): the submission's points less its late penalty, clipped at 0,

    score = max(0, sum over grade cells c of s_c - penalty),

and 0 for a student of nbgrader's student table who submitted nothing. Names, emails and the
LMS's user id come from that table (``nbgrader db student add ID --first-name ... --email ...
--lms-user-id ...``, or the formgrader's Manage Students page).

``canvas``: a file for Canvas's gradebook import. Its columns are Canvas's gradebook columns,

    Student, ID, SIS User ID, SIS Login ID, Section, <Assignment Name (canvas id)>

with a second row whose first cell is ``Points Possible`` (indented, as in Canvas's exports) and
whose assignment cell is the assignment's maximum score; one row per student. Canvas finds each
student by ``ID`` (its own user id), ``SIS User ID`` or ``SIS Login ID``, and an assignment
column by the Canvas id in its parentheses (a column without one makes a new assignment).

* With ``roster``, the gradebook CSV exported from the course's Canvas gradebook: the rows are the
  roster's, in its order, with its own identifying cells, so Canvas matches every row exactly.
  Each roster row is matched to an nbgrader student (:func:`match_student`) whose SIS Login ID is
  the nbgrader id or the email (or the email's local part), whose SIS User ID is the nbgrader id,
  or whose Canvas ID is the student's LMS user id; a roster student with no match gets an empty
  cell (Canvas then leaves that grade alone), and every nbgrader student no roster row matched is
  reported (their grade would not reach Canvas). The assignment's column is the roster's column
  named ``NAME (id)`` (or ``column``).
* Without a roster: one row per nbgrader student, ``Student`` = "Last, First", ``ID`` = the LMS
  user id, ``SIS User ID`` = the nbgrader id, ``SIS Login ID`` = the email (the id when there is
  none), no section; the column is ``column`` or the assignment's name.

``csv``: one row per student with ``student_id, first_name, last_name, email, lms_user_id,
score, max_score, submitted``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .config import db_url
from .gradebook import check_gradebook, mask_password
from .paths import CourseError

#: Canvas's identifying columns, first in every gradebook import file, in this order.
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
#: The first cell of the row under the header that holds each assignment's points possible
#: (Canvas's own exports indent it by four spaces; it is read with or without them).
POINTS_POSSIBLE = "Points Possible"
POINTS_POSSIBLE_CELL = "    " + POINTS_POSSIBLE
#: The columns of ``--format csv``.
CSV_COLUMNS = (
    "student_id",
    "first_name",
    "last_name",
    "email",
    "lms_user_id",
    "score",
    "max_score",
    "submitted",
)
FORMATS = ("canvas", "csv")


class ExportError(CourseError):
    """Grades that cannot be exported as asked (no gradebook entry, a roster that is not Canvas's)."""


@dataclass(frozen=True)
class StudentGrade:
    """One student of nbgrader's student table and their score on the assignment."""

    student_id: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str
    score: float
    submitted: bool

    @property
    def sortable_name(self) -> str:
        """ "Last, First" as Canvas shows students (the id when the table has no name)."""
        if self.last_name and self.first_name:
            return f"{self.last_name}, {self.first_name}"
        return self.last_name or self.first_name or self.student_id


@dataclass
class Grades:
    """The assignment's maximum score and every student's grade."""

    assignment: str
    max_score: float
    students: list[StudentGrade]


def read_grades(course: Path, assignment: str) -> Grades:
    """Every student of the course gradebook with their score on ``assignment`` (module docstring)."""
    from nbgrader.api import Gradebook, MissingEntry

    url = db_url(course)
    check_gradebook(url)
    with Gradebook(url) as gb:
        try:
            max_score = float(gb.find_assignment(assignment).max_score)
        except MissingEntry:
            raise ExportError(
                f"assignment {assignment!r} is not in the gradebook {mask_password(url)}: release it first"
            ) from None
        students = []
        for s in gb.students:
            try:
                sub = gb.find_submission(assignment, s.id)
            except MissingEntry:
                score, submitted = 0.0, False
            else:
                score = max(0.0, float(sub.score) - float(sub.late_submission_penalty or 0.0))
                submitted = True
            students.append(
                StudentGrade(
                    s.id,
                    s.first_name or "",
                    s.last_name or "",
                    s.email or "",
                    s.lms_user_id or "",
                    score,
                    submitted,
                )
            )
    return Grades(assignment, max_score, sorted(students, key=lambda g: g.student_id))


# ---------------------------------------------------------------- a Canvas roster


@dataclass
class Roster:
    """A gradebook CSV exported from Canvas: its header, its students' rows, its assignment columns."""

    header: list[str]
    rows: list[dict[str, str]]

    def column_for(self, assignment: str) -> str | None:
        """The roster's column of ``assignment``: named ``assignment (id)`` or exactly ``assignment``."""
        pattern = re.compile(rf"{re.escape(assignment)}(?: \(\d+\))?")
        found = [c for c in self.header[len(CANVAS_COLUMNS) :] if pattern.fullmatch(c.strip())]
        return found[0] if len(found) == 1 else None


def read_roster(path: Path) -> Roster:
    """Read a Canvas gradebook export; ExportError naming the problem if it is not one."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # Canvas and Excel write a byte-order mark
    except (OSError, UnicodeDecodeError) as err:
        raise ExportError(f"cannot read the roster {path}: {err}") from err
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header[: len(CANVAS_COLUMNS)]) != CANVAS_COLUMNS:
        raise ExportError(
            f"{path} is not a Canvas gradebook export: its first columns must be {', '.join(CANVAS_COLUMNS)}"
        )
    header = [h.strip() for h in header]
    rows = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, cells, strict=False))
        if row.get("Student", "").strip() in (POINTS_POSSIBLE, "Student, Test"):
            continue  # the points row and Canvas's test student
        rows.append(row)
    return Roster(header, rows)


def match_student(row: dict[str, str], grades: list[StudentGrade]) -> StudentGrade | None:
    """The nbgrader student a Canvas roster row is (module docstring), or None."""
    login = row.get("SIS Login ID", "").strip().casefold()
    sis_id = row.get("SIS User ID", "").strip().casefold()
    canvas_id = row.get("ID", "").strip()
    for g in grades:
        email = g.email.casefold()
        if login and login in (g.student_id.casefold(), email, email.split("@")[0] if email else None):
            return g
        if sis_id and sis_id == g.student_id.casefold():
            return g
        if canvas_id and canvas_id == g.lms_user_id:
            return g
    return None


# ---------------------------------------------------------------- the files


@dataclass
class Export:
    """What an export wrote, and which students it could not place."""

    text: str
    rows: int
    unmatched_roster: list[str] = field(default_factory=list)  # roster students with no nbgrader grade
    not_in_roster: list[str] = field(default_factory=list)  # nbgrader students no roster row matched


def _number(value: float) -> str:
    return f"{value:g}"


def canvas_export(grades: Grades, roster: Roster | None = None, column: str | None = None) -> Export:
    """The Canvas gradebook import file (module docstring)."""
    if roster is not None and column is None:
        column = roster.column_for(grades.assignment)
    column = column or grades.assignment
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CANVAS_COLUMNS, column])
    writer.writerow([POINTS_POSSIBLE_CELL, "", "", "", "", _number(grades.max_score)])
    result = Export("", 0)
    if roster is None:
        for g in grades.students:
            writer.writerow(
                [g.sortable_name, g.lms_user_id, g.student_id, g.email or g.student_id, "", _number(g.score)]
            )
            result.rows += 1
    else:
        placed = set()
        for row in roster.rows:
            grade = match_student(row, grades.students)
            ident = [row.get(c, "") for c in CANVAS_COLUMNS]
            if grade is None:
                result.unmatched_roster.append(row.get("Student", "") or row.get("SIS Login ID", ""))
                writer.writerow([*ident, ""])
            else:
                placed.add(grade.student_id)
                writer.writerow([*ident, _number(grade.score)])
            result.rows += 1
        result.not_in_roster = [g.student_id for g in grades.students if g.student_id not in placed]
    result.text = out.getvalue()
    return result


def csv_export(grades: Grades) -> Export:
    """One row per student: :data:`CSV_COLUMNS`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for g in grades.students:
        writer.writerow(
            [
                g.student_id,
                g.first_name,
                g.last_name,
                g.email,
                g.lms_user_id,
                _number(g.score),
                _number(grades.max_score),
                "yes" if g.submitted else "no",
            ]
        )
    return Export(out.getvalue(), len(grades.students))


def export_grades(
    course: Path,
    assignment: str,
    fmt: str,
    out: Path | None = None,
    roster: Path | None = None,
    column: str | None = None,
) -> tuple[Path, Export]:
    """Write the ``fmt`` export of ``assignment`` to ``out`` (default: ``COURSE/exports/NAME-FMT.csv``)."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    if roster is not None and fmt != "canvas":
        raise ExportError("a roster is only used for --format canvas")
    grades = read_grades(course, assignment)
    if not grades.students:
        raise ExportError(f"the gradebook of {course} has no students: autograde or add students first")
    done = (
        canvas_export(grades, read_roster(roster) if roster else None, column)
        if fmt == "canvas"
        else csv_export(grades)
    )
    path = Path(out) if out else Path(course) / "exports" / f"{assignment}-{fmt}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(done.text, encoding="utf-8")
    return path, done
