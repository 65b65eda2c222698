"""``adcourse`` end to end: every subcommand on a toy course in a temporary folder, and the demo.

The toy course has two assignments. ``toy`` (notebook ``toy.ipynb``) has three autograded tests
and a written answer:

* ``double`` (solution): ``return 2 * x``; ``test-two`` (3 points): ``double(2) == 4``;
  ``test-more`` (2 points): ``double(3) == 6`` and, hidden, ``double(-1) == -2``;
* ``square`` (solution): ``return x * x``; ``test-square`` (4 points): ``square(3) == 9``;
* ``explain`` (5 points, markdown, graded by hand).

``toy2`` (notebook ``toy2.ipynb``) has one solution and one 1-point test; it is only released.

Three students hand in ``toy``, worked out by hand (the written answer is not graded yet, so it
counts 0; the maximum is 3 + 2 + 4 + 5 = 14 points):

=======  ====================================  ===  ====  ======  =====  =======  =====================
student  submission                            two  more  square  total  percent  status
=======  ====================================  ===  ====  ======  =====  =======  =====================
key      the answer key, written answer given  3    2     4       9      64.3     needs manual grading
blank    the untouched release                 0    0     0       0      0.0      graded
wrong    ``3 * x``, key ``square``             0    0     4       4      28.6     graded
=======  ====================================  ===  ====  ======  =====  =======  =====================

The pipeline (release, collect, autograde, feedback, report) runs once per module; each step is a
fixture that the tests of that step read.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from helpers.toycourse import (
    HARMLESS,
    REQUIREMENTS,
    SQUARE_DOUBLES,
    TRIPLE,
    autograded_cell,
    csv_totals,
    double_cells,
    edited,
    make_course,
    notebook,
    read_grades_csv,
    read_release,
    solution_cell,
    square_cells,
    written_cell,
)

from autograder import check as check_module
from autograder.cli import main
from autograder.demo import STUDENTS, DemoResult
from autograder.engine import SubmissionStatus
from autograder.mutants import load_mutants
from autograder.paths import KIT_COURSE, REPO_ROOT, assignment_names, mutants_file

POINTS = {"test-two": 3, "test-more": 2, "test-square": 4}
WRITTEN = 5
MAX = sum(POINTS.values()) + WRITTEN
KEY = {
    "double": "def double(x):\n    return 2 * x",
    "square": "def square(x):\n    return x * x",
    "explain": "The slope of 2x is 2 everywhere.",
}
SUBMISSIONS = {
    "key": KEY,
    "blank": {},
    "wrong": {"double": "def double(x):\n    return 3 * x", "square": KEY["square"]},
}
TOTALS = {"key": 9.0, "blank": 0.0, "wrong": 4.0}  # from the table in the module docstring
STATUS = {"key": "needs manual grading", "blank": "graded", "wrong": "graded"}

CAUGHT = TRIPLE + SQUARE_DOUBLES
MISSED = HARMLESS


# ---------------------------------------------------------------- the toy course


def toy_notebook() -> nbformat.NotebookNode:
    return notebook(
        [
            *double_cells(POINTS["test-two"], POINTS["test-more"]),
            *square_cells(POINTS["test-square"]),
            written_cell(WRITTEN),
        ]
    )


def toy2_notebook() -> nbformat.NotebookNode:
    return notebook(
        [
            solution_cell("half", "def half(x):", "return x / 2"),
            autograded_cell("test-half", "assert half(4) == 2", 1),
        ]
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course root (course/ and assignments/) with the sources of toy and toy2, nothing generated."""
    root = tmp_path_factory.mktemp("source")
    make_course(root, {"toy": toy_notebook(), "toy2": toy2_notebook()})
    return root


def _copy(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest / "course"


@dataclass(frozen=True)
class Ran:
    """What one ``adcourse`` call returned and printed."""

    code: int
    out: str
    err: str


def adcourse(*argv: str | Path) -> Ran:
    """``adcourse ARGV`` through ``main``, its stdout and stderr captured (for module-scoped steps)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return Ran(code, out.getvalue(), err.getvalue())


# ---------------------------------------------------------------- the pipeline, one step per fixture


@dataclass(frozen=True)
class Step:
    course: Path
    ran: Ran


@pytest.fixture(scope="module")
def released(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Step:
    course = _copy(source, tmp_path_factory.mktemp("pipeline") / "root")
    return Step(course, adcourse("--course", course, "release", "toy"))


@pytest.fixture(scope="module")
def inbox(released: Step) -> Path:
    """A folder of student folders, each holding its toy.ipynb."""
    release = read_release(released.course)
    folder = released.course.parent / "inbox"
    for student, edits in SUBMISSIONS.items():
        (folder / student).mkdir(parents=True)
        nbformat.write(edited(release, edits), folder / student / "toy.ipynb")
    return folder


@pytest.fixture(scope="module")
def collected(released: Step, inbox: Path) -> Step:
    return Step(released.course, adcourse("--course", released.course, "collect", "toy", inbox))


@pytest.fixture(scope="module")
def graded(collected: Step) -> Step:
    return Step(collected.course, adcourse("--course", collected.course, "autograde", "toy", "--jobs", "2"))


@pytest.fixture(scope="module")
def fed_back(graded: Step) -> Step:
    return Step(graded.course, adcourse("--course", graded.course, "feedback", "toy"))


@pytest.fixture(scope="module")
def reported(fed_back: Step) -> Step:
    return Step(fed_back.course, adcourse("--course", fed_back.course, "report", "toy"))


def test_release_one(released: Step) -> None:
    assert released.ran.code == 0, released.ran.err
    student_nb = released.course / "release" / "toy" / "toy.ipynb"
    assert f"released toy: {student_nb.parent}" in released.ran.out
    text = student_nb.read_text(encoding="utf-8")
    assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
    assert "check_equal('double(2)', double(2), 4)" in text and "raise NotImplementedError()" in text
    assert not (released.course / "release" / "toy2").exists()
    # and into the course's exchange, where students' Assignments list finds it
    exchanged = released.course / "exchange" / "ad-course" / "outbound" / "toy" / "toy.ipynb"
    assert exchanged.read_bytes() == student_nb.read_bytes()


def test_release_all(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = _copy(source, tmp_path / "root")
    assert main(["--course", str(course), "release", "--all"]) == 0
    out = capsys.readouterr().out
    for name in ("toy", "toy2"):
        assert f"released {name}: {course / 'release' / name}" in out
        assert (course / "release" / name / f"{name}.ipynb").is_file()


def test_collect_takes_a_folder_of_student_folders(collected: Step, inbox: Path) -> None:
    assert collected.ran.code == 0, collected.ran.err
    assert "3 submission(s) taken (3 new, 0 replaced)" in collected.ran.out
    for student in SUBMISSIONS:
        assert f"  {student}: toy.ipynb (new)" in collected.ran.out
        taken = collected.course / "submitted" / student / "toy" / "toy.ipynb"
        assert taken.read_bytes() == (inbox / student / "toy.ipynb").read_bytes()


def test_autograde_grades_everyone_with_a_progress_bar(graded: Step) -> None:
    assert graded.ran.code == 0, graded.ran.err
    assert re.search(r"graded 3 submissions of toy in [0-9.]+ s with 2 workers", graded.ran.out)
    assert "autograde toy" in graded.ran.err and "3/3" in graded.ran.err
    for student in SUBMISSIONS:
        assert (graded.course / "autograded" / student / "toy" / "toy.ipynb").is_file()


def test_autograde_prints_each_score_and_a_summary(graded: Step) -> None:
    autograded = sum(POINTS.values())  # the written answer is graded by hand, later
    for student, total in TOTALS.items():
        assert f"  {student}: {total:g}/{autograded:g} autograded points, graded\n" in graded.ran.out
    mean = sum(TOTALS.values()) / len(TOTALS)
    summary = f"summary: mean {mean:.1f} of {autograded:g} autograded points; 3 graded; 3 new, 0 re-graded"
    assert summary in graded.ran.out
    assert "re-grading" not in graded.ran.out


def test_a_rerun_says_what_it_regrades_and_why(graded: Step, tmp_path: Path) -> None:
    course = tmp_path / "root" / "course"
    shutil.copytree(graded.course.parent, course.parent)
    release = read_release(course)
    nbformat.write(edited(release, KEY), course / "submitted" / "wrong" / "toy" / "toy.ipynb")  # re-submitted
    ran = adcourse("--course", course, "autograde", "toy", "--jobs", "2")
    assert ran.code == 0, ran.err
    assert "re-grading 3 submission(s) graded before:" in ran.out
    autograded = sum(POINTS.values())
    wrong, key = (f"{TOTALS[s]:g}/{autograded:g}" for s in ("wrong", "key"))
    assert f"  wrong: re-submitted since it was graded ({wrong}, graded)" in ran.out
    assert f"  key: unchanged since it was graded ({key}, graded); graded again" in ran.out
    assert f"  wrong: {key} autograded points, graded" in ran.out  # the new score
    assert "0 new, 3 re-graded" in ran.out


def test_feedback_writes_html_per_student(fed_back: Step) -> None:
    assert fed_back.ran.code == 0, fed_back.ran.err
    assert f"feedback for toy: 3 student(s) in {fed_back.course / 'feedback'}" in fed_back.ran.out
    assert "feedback toy" in fed_back.ran.err and "3/3" in fed_back.ran.err  # the progress bar
    for student, total in TOTALS.items():
        page = fed_back.course / "feedback" / student / "toy" / "toy.html"
        text = page.read_text(encoding="utf-8")
        assert "<html" in text.lower()
        assert f"Score: {total} / {float(MAX)}" in text  # the student's own total, as nbgrader prints it


def test_feedback_for_one_student_leaves_the_others(fed_back: Step, tmp_path: Path) -> None:
    course = tmp_path / "root" / "course"
    shutil.copytree(fed_back.course.parent, course.parent)
    shutil.rmtree(course / "feedback")
    ran = adcourse("--course", course, "feedback", "toy", "--student", "wrong")
    assert ran.code == 0, ran.err
    assert "feedback for toy: 1 student(s)" in ran.out
    assert sorted(p.name for p in (course / "feedback").iterdir()) == ["wrong"]


def test_feedback_goes_on_past_a_student_it_cannot_write(fed_back: Step, tmp_path: Path) -> None:
    """An autograded folder the gradebook does not know fails alone; the class still gets feedback."""
    course = tmp_path / "root" / "course"
    shutil.copytree(fed_back.course.parent, course.parent)
    shutil.rmtree(course / "feedback")
    shutil.copytree(course / "autograded" / "key", course / "autograded" / "ghost")
    ran = adcourse("--course", course, "feedback", "toy")
    assert ran.code == 1
    assert "feedback for toy: 3 student(s)" in ran.out
    assert re.search(r"ghost: FAILED: nbgrader generate_feedback toy --student ghost failed", ran.err)
    for student in SUBMISSIONS:
        assert (course / "feedback" / student / "toy" / "toy.html").is_file()
    assert not (course / "feedback" / "ghost" / "toy" / "toy.html").exists()


def test_feedback_before_autograding_is_a_clear_error(source: Path, tmp_path: Path) -> None:
    course = _copy(source, tmp_path / "root")
    ran = adcourse("--course", course, "feedback", "toy")
    assert ran.code == 1
    assert "no autograded submission of toy: run `adcourse autograde` first." in ran.err


def test_report_writes_the_three_files_with_the_right_totals(reported: Step) -> None:
    assert reported.ran.code == 0, reported.ran.err
    out_dir = reported.course / "reports" / "toy"
    mean = 100 * sum(TOTALS.values()) / (len(TOTALS) * MAX)
    assert f"toy: 3 graded submission(s) out of {MAX} points, mean {mean:.1f} %" in reported.ran.out
    rows = read_grades_csv(out_dir / "grades.csv")
    assert csv_totals(rows) == TOTALS
    assert {float(r["max_score"]) for r in rows} == {MAX}
    page = (out_dir / "report.md").read_text(encoding="utf-8")
    for student, total in TOTALS.items():
        assert f"| {student} | {total:g} | {MAX} | {100 * total / MAX:.1f} | {STATUS[student]} |" in page
    assert "None: every submission was graded." in page
    assert (out_dir / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- check


@pytest.mark.parametrize(
    ("corpus", "code", "caught"),
    [(CAUGHT, 0, "2/2 typical mistakes caught (100%)"), (CAUGHT + MISSED, 1, "2/3 typical mistakes caught")],
    ids=["all-caught", "one-missed"],
)
def test_check(
    source: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    corpus: str,
    code: int,
    caught: str,
) -> None:
    path = tmp_path / "toy.toml"
    path.write_text(corpus, encoding="utf-8")
    monkeypatch.setattr(check_module, "mutants_file", lambda name: path)
    course = _copy(source, tmp_path / "root")
    (course.parent / "assignments" / "toy" / "requirements.toml").write_text(REQUIREMENTS, encoding="utf-8")
    assert main(["--course", str(course), "check", "toy"]) == code
    out = capsys.readouterr().out
    autograded = sum(POINTS.values())
    assert f"toy: 3 autograded tests, {autograded} points" in out
    assert f"answer key: {autograded}/{autograded}" in out
    assert f"blank release: 0/{autograded}" in out
    assert caught in out
    assert "[caught] triple" in out and "[caught] square-doubles" in out
    assert ("[MISSED] harmless" in out) == (code == 1)


# ---------------------------------------------------------------- help and errors


def _subcommands() -> dict[str, list[str]]:
    return {
        "release": ["name", "--all"],
        "collect": ["name", "path", "--pattern"],
        "autograde": ["name", "--jobs", "--student", "--cluster"],
        "cluster": ["--workers", "--port", "--host"],
        "watch": ["name", "--interval", "--once", "--jobs", "--batch", "--max-attempts"],
        "lab": ["--port", "--root", "--student"],
        "export": ["name", "--format", "--roster", "--column", "--out"],
        "similarity": ["name", "--threshold", "--out"],
        "feedback": ["name"],
        "report": ["name", "--out"],
        "check": ["name"],
        "demo": ["--out", "--assignments", "--jobs"],
    }


@pytest.mark.parametrize(("command", "arguments"), list(_subcommands().items()))
def test_help_of_every_subcommand(
    command: str, arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: adcourse {command}")
    for argument in arguments:
        assert re.search(rf"(?<![\w-]){re.escape(argument)}\b", out), (command, argument)
    assert "--course" in out  # also after the subcommand


def test_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--course" in out
    for command in _subcommands():
        assert re.search(rf"^\s+{command}\s", out, re.MULTILINE), command


def _error(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> str:
    """Run ``adcourse ARGV``, expecting exit 1 and one line on stderr; return that line."""
    assert main([str(a) for a in argv]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("adcourse: error: ")
    return lines[0]


def test_unknown_assignment(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = source / "course"
    for command in ("release", "autograde", "feedback", "report", "check"):
        line = _error(capsys, "--course", course, command, "nope")
        assert "unknown assignment 'nope' (known: toy, toy2)" in line, command
    line = _error(capsys, "--course", course, "collect", "nope", source)
    assert "unknown assignment 'nope'" in line


def test_autograde_with_no_submissions(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    course = _copy(source, tmp_path / "root")
    (course / "submitted").mkdir()
    line = _error(capsys, "--course", course, "autograde", "toy", "--jobs", "2")
    assert line == f"adcourse: error: no submissions of toy in {course / 'submitted'}"


def test_a_folder_that_is_not_a_course(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv in (["release", "--all"], ["autograde", "toy"], ["report", "toy"], ["check"]):
        line = _error(capsys, "--course", empty, *argv)
        assert line == f"adcourse: error: {empty} is not a course folder: it has no nbgrader_config.py"


def test_release_needs_a_name_or_all(source: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = source / "course"
    for argv in (["release"], ["release", "toy", "--all"]):
        line = _error(capsys, "--course", course, *argv)
        assert "name one assignment to release, or pass --all" in line
    assert not (course / "release").exists()


def test_a_course_without_assignments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = make_course(tmp_path, {})
    for argv in (["release", "--all"], ["check"]):
        line = _error(capsys, "--course", course, *argv)
        assert "has no assignments" in line


def test_jobs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["autograde", "toy", "--jobs", "0"])
    assert exc.value.code == 2
    assert "expected at least 1, got 0" in capsys.readouterr().err


# ---------------------------------------------------------------- the demo


def _test_points(nb: nbformat.NotebookNode) -> list[tuple[int, str, float]]:
    """``(cell index, grade_id, points)`` of every autograded test cell, in notebook order."""
    out = []
    for i, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            out.append((i, meta["grade_id"], float(meta["points"])))
    return out


def test_demo_on_one_real_assignment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``adcourse demo``: the simulated class scores as the demo defines it (key, blank, mistakes, a
    timeout, a corrupt file), prints each assignment's scores, a table and what to do next."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from autograder.config import load_config
    from autograder.engine.status import read_status

    monkeypatch.delenv("ADCOURSE_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    name = "a2_forward_mode"
    source_nb = nbformat.read(REPO_ROOT / "assignments" / name / "forward_mode.ipynb", as_version=4)
    tests = _test_points(source_nb)
    full = sum(p for _, _, p in tests)
    last_solution = max(
        i
        for i, c in enumerate(source_nb.cells)
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    )
    before_loop = sum(p for i, _, p in tests if i < last_solution)
    assert 0 < before_loop < full  # the demo's timeout student is meant to be partial
    mistakes = load_mutants(mutants_file(name))[:2]
    points = {grade_id: p for _, grade_id, p in tests}

    # emmy's endless loop ends at the cell timeout: 30 s leaves the honest cells room on a busy machine
    ran = adcourse(
        "demo", "--out", tmp_path / "demo", "--assignments", name, "--jobs", "2", "--cell-timeout", "30"
    )
    assert ran.code == 0, ran.err
    course = tmp_path / "demo" / "course"
    statuses = {s: read_status(course, name, s) for s in STUDENTS}
    scores = {s: status.score for s, status in statuses.items()}
    kinds = {s: status.status for s, status in statuses.items()}
    assert statuses["ada"].max_score == full
    assert (scores["ada"], kinds["ada"]) == (full, "graded")
    assert (scores["blaise"], kinds["blaise"]) == (0, "graded")
    for student, mistake in zip(("carl", "dora"), mistakes, strict=True):
        assert kinds[student] == "graded"
        # the mistake loses at least the points of the tests that target it, and not all points
        assert 0 < scores[student] <= full - sum(points[c] for c in mistake.loses), student
    assert kinds["emmy"] == "timeout"
    assert scores["emmy"] == before_loop  # the tests before the looping cell keep their points
    assert (scores["fermat"], kinds["fermat"]) == (0, "unreadable notebook")

    out = ran.out
    # the assignment's scores as soon as it is graded, then the table, fitting 100 columns
    assert re.search(rf"^\[\s*\d+ s\] {name}: ada {full:g}/{full:g}, blaise 0/{full:g}, ", out, re.MULTILINE)
    table = out[out.index("student ") : out.index("What next")]
    assert max(len(line) for line in table.splitlines()) <= 100
    for student in STUDENTS:
        mark = "*" if kinds[student] != "graded" else ""
        row = re.compile(rf"^{student}\s+{scores[student]:g}{re.escape(mark)}\s", re.MULTILINE)
        assert row.search(table), (student, table)
    assert re.search(r"^student\s+a2\s+expected$", table, re.MULTILINE)
    assert re.search(rf"^out of\s+{full:g}$", table, re.MULTILINE)
    assert "a2 = a2_forward_mode" in table
    assert "demo: 100%" in ran.err and "6/6" in ran.err  # one progress bar for the class
    # what next: the exact command that opens the formgrader on this class
    assert "the formgrader on this class:  adcourse lab --course demo/course" in out

    page = (course / "reports" / name / "report.md").read_text(encoding="utf-8")
    assert "| emmy | timeout |" in page and "| fermat | unreadable notebook |" in page
    assert (course / "feedback" / "ada" / name / "forward_mode.html").is_file()
    # the formgrader finds the exchange and shows the assignment as released, not draft
    config = load_config(course)
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    assert not api.exchange_missing
    assert api.get_assignment(name)["status"] == "released"


def test_the_demo_table_fits_100_columns_for_the_kit() -> None:
    """Six assignments with long names and three-digit, fractional scores still fit."""
    names = assignment_names(KIT_COURSE)
    assert len(names) == 6
    result = DemoResult(Path("demo"), names)
    for i, student in enumerate(STUDENTS):
        for name in names:
            status = "graded" if i < 4 else "timeout"
            result.record(SubmissionStatus(student, name, status, "", 100.5 - i, 105.0))
    table = result.table()
    assert max(len(line) for line in table.splitlines()) <= 100, table
    assert re.search(r"^ada\s+100\.5\s", table, re.MULTILINE)
    assert re.search(r"^emmy\s+96\.5\*\s", table, re.MULTILINE)
    assert re.search(r"^out of(\s+105){6}$", table, re.MULTILINE)
    for name in names:
        assert f"{name.split('_')[0]} = {name}" in table
