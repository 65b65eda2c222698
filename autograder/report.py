"""The grade report of one assignment: a CSV for the registrar, a Markdown page and a histogram.

Scores come from the nbgrader gradebook (the course's ``db_url``: ``course/gradebook.db`` by
default, or a PostgreSQL database, see :mod:`autograder.gradebook`). A student's score is nbgrader's
submission score less its late penalty, clipped at 0 (the ``score`` column of ``nbgrader
export``):

    score = max(0, sum over grade cells c of s_c - penalty),
    s_c = manual_score_c if a grader gave one, else auto_score_c, else 0,

so a written answer counts once an instructor has graded it by hand. The per-test table covers the
autograded test cells (grade cells that are not also solution cells); for a test cell with
``p`` points and scores ``s_1 .. s_n`` of the ``n`` graded students it gives the mean
``(1/n) sum_i s_i`` and the full-marks share ``#{i : s_i >= p} / n``, sorted by that share, lowest
first: the tests most students fail come first.

Submissions that could not be graded come from the grading engine's status files
(``course/.adcourse/status/<assignment>/<student>.json``, see :func:`read_statuses`) and from
submitted folders the gradebook has no grades for ("not graded yet"). The same files carry the
tamper check's flags (:mod:`autograder.integrity`), listed under "Integrity flags": a flag is for
an instructor to look at and changes no grade.

``grades.csv`` is written by nbgrader's own ``CsvExportPlugin`` (the format of ``nbgrader export``),
filtered to this assignment: one row per student in the gradebook, 0 for a student with no
submission, as nbgrader does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import db_url
from .engine.status import STATUSES, status_dir
from .gradebook import gradebook_exists, mask_password
from .integrity.findings import CHECK_FAILED, Finding
from .paths import CourseError

GRADED = "graded"
NOT_GRADED_YET = "not graded yet"
STATUS_UNREADABLE = "status file unreadable"
NEEDS_MANUAL = "needs manual grading"
#: The statuses the grading engine writes; any other than "graded" marks an ungradable submission.
ENGINE_STATUSES = STATUSES
HISTOGRAM_BINS = np.linspace(0.0, 100.0, 11)  # ten bins of 10 percentage points; 100 % falls in the last


@dataclass(frozen=True)
class StudentRow:
    """One student's total on the assignment."""

    student: str
    score: float
    max_score: float
    percent: float
    status: str
    late_penalty: float = 0.0


@dataclass(frozen=True)
class TestRow:
    """How the graded students did on one autograded test cell."""

    __test__ = False  # a report row, not a pytest test class

    notebook: str
    grade_id: str
    points: float
    mean_score: float
    full_marks_share: float
    students: int


@dataclass(frozen=True)
class Ungradable:
    """A submission without a proper grade, and why."""

    student: str
    status: str
    detail: str


@dataclass(frozen=True)
class Flag:
    """A place in one student's submission the tamper check flagged (see :class:`Finding`)."""

    student: str
    finding: Finding


#: What the report says about flags, above their table.
FLAGS_NOTE = (
    "The tamper check flags code that patches numpy, builtins or the test helpers, writes to "
    "sys.modules, opens files outside the submission folder or uses the reference implementation "
    "where the exercise asks for the student's own code; *scan* flags were read in the code, "
    "*kernel* flags seen while it ran. **A flag is not a verdict and changes no grade**: read the "
    "code (autograded/STUDENT/ASSIGNMENT/) and decide."
)


@dataclass
class Report:
    """The numbers of the report and the files it was written to."""

    assignment: str
    max_score: float
    students: list[StudentRow] = field(default_factory=list)
    tests: list[TestRow] = field(default_factory=list)
    ungradable: list[Ungradable] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the gradebook, but no submission
    flags: list[Flag] = field(default_factory=list)  # the tamper check's findings
    histogram_counts: list[int] = field(default_factory=list)  # students per HISTOGRAM_BINS bin
    out_dir: Path | None = None
    grades_csv: Path | None = None
    markdown: Path | None = None
    histogram: Path | None = None

    def summary(self) -> str:
        """A few lines for the terminal: the counts, where the files are, what could not be graded."""
        n = len(self.students)
        mean = f", mean {np.mean([r.percent for r in self.students]):.1f} %" if n else ""
        lines = [
            f"{self.assignment}: {n} graded submission(s) out of {self.max_score:g} points{mean}; "
            f"{len(self.ungradable)} could not be graded"
        ]
        if self.tests:
            hardest = self.tests[0]
            lines.append(
                f"  most failed test: {hardest.grade_id} ({hardest.notebook}), full marks for "
                f"{hardest.full_marks_share:.0%} of {hardest.students}"
            )
        lines += [f"  {u.student}: {u.status} ({u.detail})" for u in self.ungradable]
        if self.flags:
            per_student: dict[str, int] = {}
            for flag in self.flags:
                per_student[flag.student] = per_student.get(flag.student, 0) + 1
            named = ", ".join(f"{s} ({n})" for s, n in per_student.items())
            lines.append(f"  integrity flags (no grade changed; see the report): {named}")
        for label, path in (
            ("grades", self.grades_csv),
            ("report", self.markdown),
            ("histogram", self.histogram),
        ):
            if path is not None:
                lines.append(f"  {label}: {path}")
        return "\n".join(lines)


# ---------------------------------------------------------------- status files


def read_statuses(course: Path, assignment: str) -> dict[str, dict]:
    """``{student: status record}`` from ``course/.adcourse/status/<assignment>/<student>.json``.

    A missing folder means no statuses. A file that is not a JSON object with a string
    ``status`` becomes the record ``{"status": "status file unreadable", "detail": <why>}``, so
    the report lists it instead of failing. Records always carry ``student``, ``assignment``,
    ``status`` and ``detail`` (the student is the file's name).
    """
    folder = status_dir(course, assignment)
    out: dict[str, dict] = {}
    if not folder.is_dir():
        return out
    for path in sorted(p for p in folder.glob("*.json") if not p.name.startswith(".")):
        student = path.stem
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict):
                raise ValueError(f"expected a JSON object, found {type(record).__name__}")
            if not isinstance(record.get("status"), str):
                raise ValueError("it has no string field 'status'")
        except (OSError, UnicodeDecodeError, ValueError) as err:
            record = {"status": STATUS_UNREADABLE, "detail": f"{path.name}: {err}"}
        record = {**record, "student": student, "assignment": assignment}
        record["detail"] = str(record.get("detail") or "")
        out[student] = record
    return out


def read_flags(statuses: dict[str, dict]) -> list[Flag]:
    """The tamper check's flags in the status records (:func:`read_statuses`), by student.

    A record without ``flags`` has none (older status files); flags that cannot be read become
    one "check failed" flag saying so, so that nothing goes unseen.
    """
    out = []
    for student, record in sorted(statuses.items()):
        raw = record.get("flags", [])
        try:
            if not isinstance(raw, list):
                raise ValueError(f"expected a list, found {type(raw).__name__}")
            out += [Flag(student, Finding.from_dict(item)) for item in raw]
        except ValueError as err:
            what = f"the status file's flags are unreadable ({err}); look by hand"
            out.append(Flag(student, Finding(CHECK_FAILED, what, f"{student}.json")))
    return out


# ---------------------------------------------------------------- the gradebook


@dataclass
class _Grades:
    max_score: float
    totals: dict[str, tuple[float, float, bool]]  # student -> (score, penalty, needs manual grade)
    tests: list[TestRow]
    missing: list[str]


def gradebook_url(course: Path) -> str:
    """The URL of the course's gradebook, which must exist; CourseError (GradebookError) if not."""
    url = db_url(course)
    if not gradebook_exists(url):
        raise CourseError(
            f"{course} has no gradebook ({mask_password(url)}): run generate_assignment and autograde first"
        )
    return url


def _read_gradebook(course: Path, assignment: str, url: str) -> _Grades:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url) as gb:
        try:
            source = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(
                f"assignment {assignment!r} is not in the gradebook {mask_password(url)}: "
                "run generate_assignment first"
            ) from None
        points: dict[tuple[str, str], float] = {}
        for nb in source.notebooks:
            answers = {c.name for c in nb.solution_cells}
            for cell in nb.grade_cells:
                if cell.name not in answers:
                    points[(nb.name, cell.name)] = float(cell.max_score)
        scores: dict[tuple[str, str], list[float]] = {key: [] for key in points}
        totals = {}
        for sub in gb.assignment_submissions(assignment):
            penalty = float(sub.late_submission_penalty or 0.0)
            totals[sub.student.id] = (float(sub.score), penalty, bool(sub.needs_manual_grade))
            for snb in sub.notebooks:
                for grade in snb.grades:
                    if (snb.name, grade.name) in scores:
                        scores[(snb.name, grade.name)].append(float(grade.score))
        missing = sorted(s.id for s in gb.students if s.id not in totals)
        max_score = float(source.max_score)
    tests = []
    for (notebook, cell), got in scores.items():
        n, p = len(got), points[(notebook, cell)]
        mean = sum(got) / n if n else 0.0
        share = sum(s >= p for s in got) / n if n else 0.0
        tests.append(TestRow(notebook, cell, p, mean, share, n))
    tests.sort(
        key=lambda t: (
            t.full_marks_share,
            t.mean_score / t.points if t.points else 0.0,
            t.notebook,
            t.grade_id,
        )
    )
    return _Grades(max_score, totals, tests, missing)


def export_grades_csv(course: Path, assignment: str, path: Path) -> Path:
    """Write ``path`` with nbgrader's CSV exporter, restricted to ``assignment``; return it."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    path.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(db_url(course)) as gb:
        CsvExportPlugin(to=str(path), assignment=[assignment]).export(gb)
    return path


# ---------------------------------------------------------------- the figure and the page


def histogram(percents: list[float], path: Path, title: str, max_score: float) -> list[int]:
    """Plot the score histogram (percent of ``max_score``) to ``path`` as PNG; return the bin counts."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts, _ = np.histogram(np.asarray(percents, dtype=np.float64), bins=HISTOGRAM_BINS)
    fig = Figure(figsize=(6.4, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.hist(percents, bins=HISTOGRAM_BINS, edgecolor="black")
    ax.set_title(title)
    ax.set_xlabel(f"score (% of {max_score:g} points)")
    ax.set_ylabel("students")
    ax.set_xlim(0, 100)
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)
    return [int(c) for c in counts]


def _cell(text: object) -> str:
    """Text fit for a Markdown table cell."""
    return str(text).replace("\n", " ").replace("|", "\\|")


def render_markdown(report: Report) -> str:
    """The report as a Markdown page."""
    rows = report.students
    lines = [f"# Grade report: {report.assignment}", ""]
    if rows:
        percents = [r.percent for r in rows]
        lines.append(
            f"{len(rows)} graded submission(s) out of {report.max_score:g} points: mean "
            f"{np.mean(percents):.1f} %, median {np.median(percents):.1f} %."
        )
    else:
        lines.append("No graded submissions yet.")
    lines += ["", "![score histogram](histogram.png)", "", "## Students", ""]
    lines += ["| student | score | max | percent | status |", "|---|---:|---:|---:|---|"]
    for r in rows:
        penalty = f" (late: -{r.late_penalty:g})" if r.late_penalty else ""
        lines.append(
            f"| {_cell(r.student)} | {r.score:g}{penalty} | {r.max_score:g} | {r.percent:.1f} "
            f"| {_cell(r.status)} |"
        )
    lines += ["", "## Tests, most failed first", ""]
    lines += ["| test | notebook | points | mean score | full marks |", "|---|---|---:|---:|---:|"]
    for t in report.tests:
        lines.append(
            f"| {_cell(t.grade_id)} | {_cell(t.notebook)} | {t.points:g} | {t.mean_score:.2f} | "
            f"{t.full_marks_share:.0%} of {t.students} |"
        )
    lines += ["", "## Submissions that could not be graded", ""]
    if report.ungradable:
        lines += ["| student | status | detail |", "|---|---|---|"]
        lines += [
            f"| {_cell(u.student)} | {_cell(u.status)} | {_cell(u.detail)} |" for u in report.ungradable
        ]
    else:
        lines.append("None: every submission was graded.")
    lines += ["", "## Integrity flags", "", FLAGS_NOTE, ""]
    if report.flags:
        lines += ["| student | flag | where | what | evidence | seen |", "|---|---|---|---|---|---|"]
        for flag in report.flags:
            f = flag.finding
            evidence = "`" + _cell(f.evidence).replace("`", "'") + "`" if f.evidence else ""
            lines.append(
                f"| {_cell(flag.student)} | {_cell(f.kind)} | {_cell(f.where)} | {_cell(f.what)} | "
                f"{evidence} | {f.source} |"
            )
    else:
        lines.append("None: the tamper check flagged no submission.")
    if report.missing:
        lines += ["", "## No submission", "", ", ".join(report.missing)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the command


def _ungradable(
    course: Path, assignment: str, graded: set[str], statuses: dict[str, dict]
) -> list[Ungradable]:
    found = {s: Ungradable(s, r["status"], r["detail"]) for s, r in statuses.items() if r["status"] != GRADED}
    submitted = Path(course) / "submitted"
    folders = {p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir()}
    for student in sorted((folders | set(statuses)) - graded - set(found)):
        if student in statuses:
            detail = "the status file says graded, but the gradebook has no grades for it"
        else:
            detail = "submitted, but the gradebook has no grades for it: run autograde"
        found[student] = Ungradable(student, NOT_GRADED_YET, detail)
    return [found[s] for s in sorted(found)]


def build_report(course: Path, assignment: str, out_dir: Path | None = None) -> Report:
    """Write ``grades.csv``, ``report.md`` and ``histogram.png`` for ``assignment``; return the numbers.

    ``out_dir`` defaults to ``course/reports/<assignment>/``. Raises CourseError when the course
    has no gradebook, its gradebook cannot be opened (:class:`~.gradebook.GradebookError`) or does
    not know the assignment.
    """
    course = Path(course)
    out = Path(out_dir) if out_dir is not None else course / "reports" / assignment
    grades = _read_gradebook(course, assignment, gradebook_url(course))
    statuses = read_statuses(course, assignment)
    ungradable = _ungradable(course, assignment, set(grades.totals), statuses)
    problems = {u.student: u.status for u in ungradable}

    students = []
    for student, (raw, penalty, manual) in sorted(grades.totals.items()):
        score = max(0.0, raw - penalty)
        percent = 100.0 * score / grades.max_score if grades.max_score else 0.0
        status = problems.get(student) or (NEEDS_MANUAL if manual else GRADED)
        students.append(StudentRow(student, score, grades.max_score, percent, status, penalty))

    report = Report(
        assignment,
        grades.max_score,
        students,
        grades.tests,
        ungradable,
        grades.missing,
        read_flags(statuses),
        out_dir=out,
        grades_csv=out / "grades.csv",
        markdown=out / "report.md",
        histogram=out / "histogram.png",
    )
    out.mkdir(parents=True, exist_ok=True)
    export_grades_csv(course, assignment, report.grades_csv)
    report.histogram_counts = histogram(
        [r.percent for r in students],
        report.histogram,
        f"{assignment}: scores of {len(students)} student(s)",
        grades.max_score,
    )
    report.markdown.write_text(render_markdown(report), encoding="utf-8")
    return report
