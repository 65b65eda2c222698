"""Students and instructors in a real JupyterLab, end to end in headless Chromium.

Each test drives Debian's Chromium (``/usr/bin/chromium``) with Playwright against a JupyterLab 4
server that :func:`autograder.lab.start_lab` starts on 127.0.0.1 with a token, in a temporary
copy of the course (the repository is never touched), and stops at the end. Screenshots go to
``out/browser/<test name>/``: ``NN-step.png`` for what a scenario shows, ``FAILED-NN-step.png``
for the step that failed (the failure message names the step, the screenshot and the server's
log, which stays in pytest's temporary folder).

* ``adcourse lab`` prints a URL that serves the course, lectures and assignments only with its
  token, and Ctrl+C stops the server.
* A student opens the released ``a2_forward_mode`` (the first Jacobian-by-forward-passes
  exercise), types ``jacobian_forward`` and the written answer into the notebook, presses
  nbgrader's Validate button, and sees the failed tests with the kit's hints for a Jacobian
  returned transposed; after fixing it, Validate reports success.
* Every lecture opens, runs with Run → Run All Cells, and shows typeset math, tables and figures,
  with no errors.
* The instructor opens the formgrader from JupyterLab's Nbgrader menu on the demo class, sees the
  autograded submissions, grades ada's written answer 3 of 5 by hand, and ``adcourse report``
  gives ada exactly 3 more points.

Expected values are worked out by hand from the assignment's source (``a2_forward_mode``: twelve
autograded tests worth 100 points and one written answer worth 5) and from the test cells'
``adlib.grading`` checks, whose messages read ``what: expected E, got G: hint``.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from browser_helpers import (
    Steps,
    answer_cell,
    bring_into_view,
    close_dialog,
    code_cell_containing,
    launch_browser,
    menu,
    open_notebook,
    output_dir,
    press_validate,
    read_when_written,
    rendering_facts,
    replace_code,
    run_all,
    save_notebook,
    scroll_dialog_to,
    shutdown_kernels,
    type_answer,
    wait_until,
)
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from autograder.cli import main
from autograder.demo import run_demo
from autograder.lab import LabServer, lab_command, start_lab
from autograder.notebooks import lecture_paths
from autograder.paths import REPO_ROOT, CourseError
from autograder.report import build_report

pytestmark = pytest.mark.browser

LECTURES = lecture_paths()
ASSIGNMENT = "a2_forward_mode"
NOTEBOOK = "forward_mode.ipynb"
KEY = REPO_ROOT / "solutions" / ASSIGNMENT / NOTEBOOK
STUDENT_PATH = f"student/{ASSIGNMENT}/{NOTEBOOK}"  # where the student keeps the release, under the root

# The student's jacobian_forward returns the columns as rows (forgets the transpose). By hand:
# for f(x, y) = (xy, x + y) at (2, 3) the Jacobian is [[3, 2], [1, 1]]; pass i gives column i,
# so the untransposed result is [[3, 1], [2, 1]]: entries (0, 1) and (1, 0) differ, the first
# expected 2, got 1. For v -> A v with A 2 x 3 the untransposed result has shape (3, 2).
RETURN_LINE = "    return np.array(columns, dtype=float).T"
BUGGY_RETURN = "    return np.array(columns, dtype=float)"
FAILED_SQUARE = (
    "jacobian_forward of f(x, y) = (xy, x + y) at (2, 3): 2 of 4 entries differ; first at index (0, 1): "
    "expected 2, got 1: row j holds the derivatives of output j, column i those along input i"
)
FAILED_LINEAR = (
    "jacobian_forward of v -> A v with A = [[1, 2, 3], [4, 5, 6]]: expected shape (2, 3), "
    "got shape (3, 2): the Jacobian of a linear map is its matrix"
)
# Lines that only the two test cells that check jacobian_forward's result contain.
SQUARE_TEST_LINE = "_J = jacobian_forward(_f, np.array([2.0, 3.0]))"
LINEAR_TEST_LINE = "_J = jacobian_forward(_counted, np.array([0.5, -1.0, 2.0]))"
WRITTEN_ANSWER = (
    "One forward pass gives one column of the Jacobian, so a gradient of n inputs takes n passes."
)

AUTOGRADED_POINTS = 100.0  # a2's twelve autograded tests: 8+8+9+9+10+9+9+10+6+6+10+6
WRITTEN_POINTS = 5.0  # answer-passes
MANUAL_POINTS = 3.0  # what the instructor gives ada's written answer


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    context = launch_browser(playwright, tmp_path_factory.mktemp("chromium-profile"))
    yield context
    context.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the course's config, the assignments and the lectures, laid out as in the repo."""
    root = tmp_path_factory.mktemp("kit")
    (root / "course").mkdir()
    for name in ("nbgrader_config.py", "header.ipynb"):
        shutil.copy2(REPO_ROOT / "course" / name, root / "course" / name)
    shutil.copytree(REPO_ROOT / "assignments", root / "assignments")
    shutil.copytree(REPO_ROOT / "lectures", root / "lectures")
    return root


@pytest.fixture(scope="module")
def lab(workdir: Path) -> Iterator[LabServer]:
    """JupyterLab on the copy, with a fresh profile of its own (settings, workspaces, runtime)."""
    with start_lab(
        workdir / "course", state_dir=workdir / ".jupyter", log=workdir / "jupyterlab.log"
    ) as server:
        yield server


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    page = browser.new_page()
    yield page
    page.close()


@pytest.fixture
def steps(page: Page, request: pytest.FixtureRequest) -> Steps:
    return Steps(page, output_dir(request.node.name))


def _solution(source: str) -> str:
    """An answer-key cell as a student writes it: without nbgrader's solution markers."""
    markers = ("### BEGIN SOLUTION", "### END SOLUTION")
    return "\n".join(line for line in source.splitlines() if line.strip() not in markers)


def _grade_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _cell(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    (cell,) = [c for c in nb.cells if _grade_id(c) == grade_id]
    return cell


# ---------------------------------------------------------------- adcourse lab


def test_lab_command_refuses_a_course_it_cannot_serve(tmp_path: Path) -> None:
    """The formgrader needs the course under the server root; a folder must be a course."""
    (tmp_path / "course").mkdir()
    with pytest.raises(CourseError, match=r"no nbgrader_config\.py"):
        lab_command(tmp_path / "course")
    shutil.copy2(REPO_ROOT / "course" / "nbgrader_config.py", tmp_path / "course")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(CourseError, match="must lie inside the JupyterLab root"):
        lab_command(tmp_path / "course", tmp_path / "elsewhere")
    cmd = lab_command(tmp_path / "course")
    assert cmd.cwd == (tmp_path / "course").resolve()  # nbgrader reads nbgrader_config.py from here
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in cmd.argv
    assert "--ip=127.0.0.1" in cmd.argv
    assert cmd.env["JUPYTER_TOKEN"] == cmd.token and len(cmd.token) >= 32
    assert not any(cmd.token in arg for arg in cmd.argv)  # never visible in the process list


def _read_lines(stream, lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)


def test_adcourse_lab_serves_the_course_with_a_token(
    workdir: Path, tmp_path: Path, page: Page, steps: Steps
) -> None:
    """``adcourse lab`` prints a token URL on 127.0.0.1 showing course/, lectures/ and assignments/.

    Screenshots in out/browser/test_adcourse_lab_serves_the_course_with_a_token/.
    """
    runtime = tmp_path / "runtime"
    steps.log = tmp_path / "jupyterlab.log"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    with open(steps.log, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autograder.cli",
                "--course",
                str(workdir / "course"),
                "lab",
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        with steps("adcourse lab prints the URL"):
            printed = wait_until(lambda: _next_line(lines, "JupyterLab on"), 120, "the URL line")
            match = re.search(r"(http://127\.0\.0\.1:\d+/)lab\?token=(\w+)", printed)
            assert match, printed
            base, token = match.groups()
            assert f"JupyterLab on {workdir.resolve()}:" in printed
        with steps("the server wants the token"):
            with pytest.raises(urllib.error.HTTPError) as denied:
                urllib.request.urlopen(f"{base}api/contents", timeout=30)
            assert denied.value.code == 403
            request = urllib.request.Request(
                f"{base}api/contents", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                listing = {item["name"] for item in json.load(response)["content"]}
            assert {"course", "lectures", "assignments"} <= listing
        with steps("the browser shows the folders and the Nbgrader menu"):
            page.goto(f"{base}lab?token={token}&reset")
            for name in ("course", "lectures", "assignments"):
                page.locator(".jp-DirListing-itemName", has_text=re.compile(f"^{name}$")).wait_for()
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).wait_for()
            steps.shot("file browser")
        with steps("Ctrl+C stops the server"):
            proc.send_signal(signal.SIGINT)
            assert proc.wait(180) == 0  # generous: stopping waits for the kernels to shut down
            assert not list(runtime.glob("jpserver-*.json"))  # jupyter removes it when it shuts down
            with pytest.raises(urllib.error.URLError):
                urllib.request.urlopen(f"{base}api/status?token={token}", timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _next_line(lines: queue.Queue[str], marker: str) -> str | None:
    while not lines.empty():
        line = lines.get()
        if marker in line:
            return line
    return None


# ---------------------------------------------------------------- the student and Validate


def test_student_validates_the_released_assignment(
    workdir: Path, lab: LabServer, page: Page, steps: Steps
) -> None:
    """Validate shows the failed tests with the kit's hints, then success once the bug is fixed.

    Screenshots in out/browser/test_student_validates_the_released_assignment/.
    """
    key = nbformat.read(KEY, as_version=4)
    typed = _solution(_cell(key, "jacobian-forward").source)
    assert RETURN_LINE in typed.splitlines()
    buggy = typed.replace(RETURN_LINE, BUGGY_RETURN)
    student_file = workdir / STUDENT_PATH
    steps.log = lab.log

    with steps("adcourse release"):
        assert main(["--course", str(workdir / "course"), "release", ASSIGNMENT]) == 0
    with steps("the student's copy, with parts 1 and 2 already written"):
        nb = nbformat.read(workdir / "course" / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
        assert "raise NotImplementedError()" in _cell(nb, "jacobian-forward").source  # the release's stub
        for grade_id in ("forward-diff", "tangent-trace"):
            _cell(nb, grade_id).source = _solution(_cell(key, grade_id).source)
        student_file.parent.mkdir(parents=True)
        nbformat.write(nb, student_file)
    with steps("open the notebook"):
        open_notebook(page, lab, STUDENT_PATH)
        steps.shot("opened")
    with steps("type jacobian_forward, transposed by mistake"):
        replace_code(page, code_cell_containing(page, "def jacobian_forward"), buggy)
    with steps("type the written answer"):
        type_answer(page, answer_cell(page), WRITTEN_ANSWER)
    with steps("Validate the buggy solution"):
        result = press_validate(page)
        scroll_dialog_to(page, 1)  # the first failed test's error, ending in the kit's message
        steps.shot("validation failed")
        assert result.outcome == "validation-failed", result.text
        failures = result.failures()
        assert len(failures) == 2, result.text
        (square_error,) = [error for source, error in failures if SQUARE_TEST_LINE in source]
        (linear_error,) = [error for source, error in failures if LINEAR_TEST_LINE in source]
        assert f"AssertionError: {FAILED_SQUARE}" in square_error
        assert f"AssertionError: {FAILED_LINEAR}" in linear_error
        close_dialog(page)
    with steps("fix the transpose"):
        replace_code(page, code_cell_containing(page, "def jacobian_forward"), typed)
    with steps("Validate the fixed solution"):
        result = press_validate(page)
        steps.shot("validation passed")
        assert result.outcome == "validation-success", result.text
        assert "Success! Your notebook passes all the tests." in result.text
        close_dialog(page)
    with steps("the notebook on disk holds what was typed"):
        saved = wait_until(lambda: read_when_written(student_file), 30, "the saved notebook")
        assert _cell(saved, "jacobian-forward").source == typed
        assert _cell(saved, "answer-passes").source == WRITTEN_ANSWER
    shutdown_kernels(lab)


# ---------------------------------------------------------------- lectures


@pytest.mark.parametrize("lecture", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_renders_after_run_all(
    lecture: Path, workdir: Path, lab: LabServer, page: Page, steps: Steps
) -> None:
    """Run All executes every code cell without an error; math, tables and figures show.

    Screenshots in out/browser/test_lecture_renders_after_run_all_<lecture>_/.
    """
    source = nbformat.read(lecture, as_version=4)
    code_cells = sum(c.cell_type == "code" for c in source.cells)
    copy = workdir / "lectures" / lecture.name
    steps.log = lab.log
    try:
        with steps("open the lecture"):
            open_notebook(page, lab, f"lectures/{lecture.name}")
        with steps("Run All"):
            run_all(page)
            steps.shot("after run all")
        with steps("every code cell ran"):
            facts = rendering_facts(page)
            assert len(facts["prompts"]) == code_cells
            not_run = [p for p in facts["prompts"] if not re.fullmatch(r"\[\d+\]:", p)]
            assert not not_run, f"{len(not_run)} of {code_cells} code cells did not run"
        with steps("math is typeset"):
            assert facts["math"] > 0
            assert facts["math_errors"] == 0
            assert not facts["raw_tex"], facts["raw_tex"][:3]
        with steps("tables and figures show"):
            assert facts["tables"] > 0
            assert facts["images"], "no figure in the outputs"
            assert all(width > 0 for width in facts["images"]), facts["images"]  # every image decoded
            bring_into_view(page, page.locator(".jp-OutputArea-output img").first)
            steps.shot("a figure")
        with steps("save: no error output in the notebook"):
            save_notebook(page)

            def saved_run() -> nbformat.NotebookNode | None:
                nb = read_when_written(copy)  # None while the save is under way
                if nb is None:
                    return None
                ran = all(c.execution_count for c in nb.cells if c.cell_type == "code")
                return nb if ran else None

            executed = wait_until(saved_run, 60, f"{lecture.name} saved with its outputs")
            errors = [
                f"{o.ename}: {o.evalue}"
                for c in executed.cells
                if c.cell_type == "code"
                for o in c.outputs
                if o.output_type == "error"
            ]
            assert not errors
    finally:
        shutdown_kernels(lab)


# ---------------------------------------------------------------- the instructor and the formgrader


def test_instructor_grades_a_written_answer_in_the_formgrader(
    tmp_path: Path, page: Page, steps: Steps
) -> None:
    """A manual score entered in the formgrader adds exactly that many points in the report.

    Screenshots in out/browser/test_instructor_grades_a_written_answer_in_the_formgrader/.
    """
    course = tmp_path / "demo" / "course"
    steps.log = tmp_path / "jupyterlab.log"
    with steps("the demo class"):
        run_demo(tmp_path / "demo", [ASSIGNMENT], jobs=2, say=lambda _msg: None)
        before = {row.student: row for row in build_report(course, ASSIGNMENT).students}
        assert before["ada"].score == AUTOGRADED_POINTS  # the answer key; the written answer not graded yet
        assert before["ada"].status == "needs manual grading"

    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    with start_lab(course, state_dir=tmp_path / ".jupyter", log=steps.log) as server:
        with steps("open the formgrader from the Nbgrader menu"):
            page.goto(server.url_for("lab") + "&reset")
            menu(page, "Nbgrader", "Formgrader")
            formgrader = page.frame_locator("iframe[src*='formgrader']")
            formgrader.get_by_role("link", name="Manual Grading").click()
            formgrader.get_by_role("link", name=ASSIGNMENT).click()
            formgrader.get_by_role("link", name=NOTEBOOK.removesuffix(".ipynb"), exact=True).click()
            # The button reveals the names of the rows already loaded: wait for them first.
            formgrader.get_by_role("link", name="Submission #1", exact=True).wait_for()
            formgrader.get_by_role("button", name="Show All Names").click()
        with steps("the autograded submissions are listed"):
            rows = formgrader.locator("tbody tr")
            formgrader.get_by_role("link", name="ada", exact=True).wait_for()  # names shown
            cells = [[c.strip() for c in row.locator("td").all_inner_texts()] for row in rows.all()]
            table = {row[1]: row[2] for row in cells}  # submission (student) -> overall score
            steps.shot("submissions")
            total = AUTOGRADED_POINTS + WRITTEN_POINTS
            assert table["ada"] == f"{AUTOGRADED_POINTS:g} / {total:g}"  # key: all autograded points
            assert table["blaise"] == f"0 / {total:g}"  # the untouched release
            assert {"carl", "dora", "emmy"} <= set(table)
        with steps("open ada's submission"):
            formgrader.get_by_role("link", name="ada", exact=True).click()
            # The formgrader's script marks the input once it has loaded the grade and will save it.
            score = formgrader.locator("input.score.needs_manual_grade#answer-passes")
            score.wait_for()
            assert score.input_value() == ""  # not graded by hand yet
        with steps("its math is typeset by the server's own MathJax, offline"):
            # jupyter-server-mathjax ships MathJax 2's HTML-CSS output: typeset math is span.MathJax
            formgrader.locator("span.MathJax").first.wait_for(timeout=30_000)
            sources = formgrader.locator("script[src*='MathJax.js']").evaluate_all("s => s.map(e => e.src)")
            assert sources == [
                f"{server.url}static/jupyter_server_mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
            ]
            assert formgrader.locator("span.MathJax").count() > 10
            shown = formgrader.locator("body").inner_text()
            assert not re.search(r"\$[^$\s][^$]*\$", shown), "raw TeX left in the submission"
            elsewhere = [url for url in requested if not url.startswith(server.url)]
            assert not [url for url in elsewhere if "cdnjs" in url or "mathjax" in url.lower()], elsewhere
            steps.shot("math typeset")
        with steps("grade the written answer by hand"):
            score.scroll_into_view_if_needed()
            with page.expect_response(
                lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT"
            ) as saved:
                score.fill(f"{MANUAL_POINTS:g}")
                score.press("Tab")  # the formgrader saves on change
            assert saved.value.ok, saved.value.status
            steps.shot("graded")

    with steps("adcourse report counts the manual points"):
        after = {row.student: row for row in build_report(course, ASSIGNMENT).students}
        assert after["ada"].score - before["ada"].score == MANUAL_POINTS
        assert after["ada"].score == AUTOGRADED_POINTS + MANUAL_POINTS
        assert after["ada"].status == "graded"
        assert {s: r.score for s, r in after.items() if s != "ada"} == {
            s: r.score for s, r in before.items() if s != "ada"
        }
