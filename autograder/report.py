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

``grades.csv`` is nbgrader's export of this assignment (the format of ``nbgrader export``, see
:mod:`autograder.grades_csv`): one row per student in the gradebook, 0 for a student with no
submission, as nbgrader does.

The gradebook is read with a constant number of set-based queries whatever the class size, streamed
(:mod:`autograder.report_queries`): the per-test table is summed up as the grades arrive and
``grades.csv`` written as the students do, so a class of thousands costs a few seconds and no more
memory than a small one (beyond one small row per student).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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


def _read_gradebook(url: str, assignment: str, csv_path: Path) -> _Grades:
    """The assignment's numbers from the gradebook at ``url``, writing ``csv_path`` (``grades.csv``)
    on the way from the same session: a constant number of queries, see :mod:`.report_queries`."""
    from nbgrader.api import Gradebook

    from . import report_queries as q
    from .grades_csv import write_grades_csv

    with Gradebook(url) as gb:
        source = q.find_assignment(gb.db, assignment)
        if source is None:
            raise CourseError(
                f"assignment {assignment!r} is not in the gradebook {mask_password(url)}: "
                "run generate_assignment first"
            )
        cells = q.autograded_cells(gb.db, source)
        submissions = {sub.student: sub for sub in q.submission_totals(gb.db, source)}
        tallies = q.tally_tests(cells, q.autograded_scores(gb.db, source))
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        missing = write_grades_csv(csv_path, source, q.students(gb.db), submissions)
    totals = {
        s.student: (float(s.score), float(s.late_penalty or 0.0), s.needs_manual_grade)
        for s in submissions.values()
    }
    tests = [
        TestRow(t.notebook, t.grade_id, t.points, t.mean_score, t.full_marks_share, t.students)
        for t in tallies
    ]
    tests.sort(
        key=lambda t: (
            t.full_marks_share,
            t.mean_score / t.points if t.points else 0.0,
            t.notebook,
            t.grade_id,
        )
    )
    return _Grades(float(source.max_score), totals, tests, sorted(missing))


# ---------------------------------------------------------------- the figure and the page


def bin_counts(percents: list[float]) -> list[int]:
    """Students per :data:`HISTOGRAM_BINS` bin (the last bin holds 100 %)."""
    counts, _ = np.histogram(np.asarray(percents, dtype=np.float64), bins=HISTOGRAM_BINS)
    return [int(c) for c in counts]


def plot_histogram(counts: list[int], path: Path, title: str, max_score: float) -> None:
    """Plot the score histogram from its bin ``counts`` (:func:`bin_counts`) to ``path`` as PNG.

    The bars are those ``ax.hist`` draws from the percents themselves: one weighted value per bin.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.hist(HISTOGRAM_BINS[:-1], bins=HISTOGRAM_BINS, weights=counts, edgecolor="black")
    ax.set_title(title)
    ax.set_xlabel(f"score (% of {max_score:g} points)")
    ax.set_ylabel("students")
    ax.set_xlim(0, 100)
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)


def _cell(text: object) -> str:
    """Text fit for a Markdown table cell."""
    return str(text).replace("\n", " ").replace("|", "\\|")


def markdown_lines(report: Report) -> Iterator[str]:
    """The report's Markdown page, line by line (without line ends): written as it is made."""
    rows = report.students
    yield from (f"# Grade report: {report.assignment}", "")
    if rows:
        percents = [r.percent for r in rows]
        yield (
            f"{len(rows)} graded submission(s) out of {report.max_score:g} points: mean "
            f"{np.mean(percents):.1f} %, median {np.median(percents):.1f} %."
        )
    else:
        yield "No graded submissions yet."
    yield from ("", "![score histogram](histogram.png)", "", "## Students", "")
    yield from ("| student | score | max | percent | status |", "|---|---:|---:|---:|---|")
    for r in rows:
        penalty = f" (late: -{r.late_penalty:g})" if r.late_penalty else ""
        yield (
            f"| {_cell(r.student)} | {r.score:g}{penalty} | {r.max_score:g} | {r.percent:.1f} "
            f"| {_cell(r.status)} |"
        )
    yield from ("", "## Tests, most failed first", "")
    yield from ("| test | notebook | points | mean score | full marks |", "|---|---|---:|---:|---:|")
    for t in report.tests:
        yield (
            f"| {_cell(t.grade_id)} | {_cell(t.notebook)} | {t.points:g} | {t.mean_score:.2f} | "
            f"{t.full_marks_share:.0%} of {t.students} |"
        )
    yield from ("", "## Submissions that could not be graded", "")
    if report.ungradable:
        yield from ("| student | status | detail |", "|---|---|---|")
        for u in report.ungradable:
            yield f"| {_cell(u.student)} | {_cell(u.status)} | {_cell(u.detail)} |"
    else:
        yield "None: every submission was graded."
    yield from ("", "## Integrity flags", "", FLAGS_NOTE, "")
    if report.flags:
        yield from ("| student | flag | where | what | evidence | seen |", "|---|---|---|---|---|---|")
        for flag in report.flags:
            f = flag.finding
            evidence = "`" + _cell(f.evidence).replace("`", "'") + "`" if f.evidence else ""
            yield (
                f"| {_cell(flag.student)} | {_cell(f.kind)} | {_cell(f.where)} | {_cell(f.what)} | "
                f"{evidence} | {f.source} |"
            )
    else:
        yield "None: the tamper check flagged no submission."
    if report.missing:
        yield from ("", "## No submission", "", ", ".join(report.missing))


def render_markdown(report: Report) -> str:
    """The report as a Markdown page (:func:`markdown_lines`, joined)."""
    return "".join(line + "\n" for line in markdown_lines(report))


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
    csv_path = out / "grades.csv"
    grades = _read_gradebook(gradebook_url(course), assignment, csv_path)
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
        histogram_counts=bin_counts([r.percent for r in students]),
        out_dir=out,
        grades_csv=csv_path,
        markdown=out / "report.md",
        histogram=out / "histogram.png",
    )
    out.mkdir(parents=True, exist_ok=True)
    title = f"{assignment}: scores of {len(students)} student(s)"
    plot_histogram(report.histogram_counts, report.histogram, title, grades.max_score)
    with report.markdown.open("w", encoding="utf-8") as fh:
        for line in markdown_lines(report):
            fh.write(line + "\n")
    return report
