"""``adcourse lab``: the instructor's and the student's JupyterLab, and how it stops.

* The student's server (``--student``) works in the student's folder with the course's id and
  exchange in an nbgrader config of its own; the formgrader is off (its server extension and its
  Lab plugins, Create Assignment and the course list too); the assignment list shows the
  course's released assignments. The instructor's has the formgrader. Neither asks "Would you
  like to receive official Jupyter news?" (the setting's default is off).
* SIGTERM and Ctrl+C (SIGINT) on ``adcourse lab`` stop JupyterLab and its kernels, and so does
  ``kill -9`` of ``adcourse lab`` itself (the server gets SIGTERM when its parent dies).

Every test here waits by polling with generous deadlines (the machine may be busy) and kills,
in a ``finally``, every process it started or saw started (adcourse, the server, its kernels),
also when it fails.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_helpers import wait_until
from helpers.toycourse import autograded_cell, make_course, notebook, solution_cell

from autograder.config import load_config
from autograder.lab import LAB_SETTINGS, LabServer, lab_command, start_lab
from autograder.release import Releaser

#: Seconds to wait for a server to start, or to be gone: generous, the machine may be busy.
DEADLINE = 240.0
NOTIFICATION = "@jupyterlab/apputils-extension:notification"
STUDENT_OFF = (
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
)


# ---------------------------------------------------------------- processes


def _start_time(pid: int) -> str | None:
    """The start time of a live (not zombie) process ``pid``, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields[19]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int(Path(entry, "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


class Reaper:
    """Processes a test started or saw started, killed at the end whatever happened."""

    def __init__(self) -> None:
        self.seen: dict[int, str] = {}  # pid -> start time (so a reused pid is never killed)
        self.popens: list[subprocess.Popen] = []

    def watch(self, pid: int) -> None:
        started = _start_time(pid)
        if started is not None:
            self.seen[pid] = started

    def alive(self, pid: int) -> bool:
        return pid in self.seen and _start_time(pid) == self.seen[pid]

    def reap(self) -> None:
        for proc in self.popens:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
        for pid in list(self.seen):
            if self.alive(pid):
                for child in _children(pid):
                    self.watch(child)
        for pid in self.seen:
            if self.alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


@pytest.fixture
def reaper() -> Iterator[Reaper]:
    r = Reaper()
    try:
        yield r
    finally:
        r.reap()


def _get(url: str, token: str, path: str, method: str = "GET") -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"{url}{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _refuses(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}api/status", timeout=10)
    except urllib.error.HTTPError:
        return False  # it answered
    except (urllib.error.URLError, OSError):
        return True
    return False


# ---------------------------------------------------------------- the course


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy course with ``toy`` released into its exchange."""
    root = tmp_path_factory.mktemp("lab")
    course = make_course(
        root,
        {
            "toy": notebook(
                [solution_cell("half", "def half(x):", "return x / 2"), autograded_cell("t", "pass", 1)]
            )
        },
    )
    releaser = Releaser(course)
    releaser.generate("toy")
    releaser.publish("toy")
    return course


def test_the_student_command(course: Path, tmp_path: Path) -> None:
    cmd = lab_command(course, student=True, config_dir=tmp_path / "config")
    student = (course.parent / "student").resolve()
    assert cmd.cwd == cmd.root == student and student.is_dir()
    assert f"--LabApp.app_settings_dir={LAB_SETTINGS['student']}" in cmd.argv
    assert "--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=False" in cmd.argv
    assert cmd.env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0] == str((tmp_path / "config").resolve())
    config = load_config(tmp_path / "config")
    assert config.CourseDirectory.course_id == "ad-course"
    assert Path(config.Exchange.root) == (course / "exchange").resolve()
    assert not list(student.iterdir())  # nothing of the instructor's in the student's folder

    instructor = lab_command(course)
    assert instructor.cwd == course.resolve()
    assert f"--LabApp.app_settings_dir={LAB_SETTINGS['instructor']}" in instructor.argv
    assert not any("jpserver_extensions" in a for a in instructor.argv)


def _page_config(server: LabServer) -> dict:
    status, body = _get(server.url, server.token, "lab")
    assert status == 200
    found = re.search(rb'<script id="jupyter-config-data" type="application/json">(.*?)</script>', body, re.S)
    assert found, body[:500]
    return json.loads(found.group(1))


def _news_default(server: LabServer) -> object:
    """Whether a user who never answered the news question gets asked: the setting's default
    (the fresh user settings of the test's state folder leave it alone)."""
    status, body = _get(server.url, server.token, f"lab/api/settings/{NOTIFICATION}")
    assert status == 200, body
    setting = json.loads(body)
    assert "fetchNews" not in setting["settings"]  # the user has set nothing
    return setting["schema"]["properties"]["fetchNews"]["default"]


def test_the_student_server_has_the_assignment_list_and_no_formgrader(
    course: Path, tmp_path: Path, reaper: Reaper
) -> None:
    env_state = tmp_path / "state"
    with start_lab(
        course, student=True, state_dir=env_state, log=tmp_path / "student.log", timeout=DEADLINE
    ) as server:
        reaper.watch(server.process.pid)
        status, _ = _get(server.url, server.token, "formgrader")
        assert status == 404  # the formgrader's server extension is off
        status, body = _get(server.url, server.token, "assignments?course_id=ad-course")
        assert status == 200, body
        listed = json.loads(body)
        assert listed["success"], listed
        assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [("toy", "released")]
        disabled = _page_config(server)["disabledExtensions"]
        assert set(STUDENT_OFF) <= set(disabled)
        assert "@jupyter/nbgrader:assignment-list" not in disabled
        assert "@jupyter/nbgrader:validate-assignment" not in disabled
        assert _news_default(server) == "false"


def test_the_instructor_server_has_the_formgrader_and_no_news_prompt(
    course: Path, tmp_path: Path, reaper: Reaper
) -> None:
    with start_lab(
        course, state_dir=tmp_path / "state", log=tmp_path / "lab.log", timeout=DEADLINE
    ) as server:
        reaper.watch(server.process.pid)
        status, _ = _get(server.url, server.token, "formgrader")
        assert status == 200
        assert not set(STUDENT_OFF) & set(_page_config(server).get("disabledExtensions", []))
        assert _news_default(server) == "false"


# ---------------------------------------------------------------- stopping


def _adcourse_lab(course: Path, tmp_path: Path, reaper: Reaper) -> tuple[subprocess.Popen, str, str, int]:
    """Start ``adcourse lab`` in a subprocess; (process, base URL, token, server pid) once it answers."""
    runtime = tmp_path / "runtime"
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    with open(tmp_path / "adcourse-lab.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.cli", "lab", "--course", str(course), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
            start_new_session=True,  # signals from the test only, never from its terminal
        )
    reaper.popens.append(proc)
    reaper.watch(proc.pid)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(x) for x in iter(proc.stdout.readline, "")], daemon=True
    ).start()
    line = wait_until(lambda: _line_with(proc, lines, "JupyterLab on"), DEADLINE, "the URL line")
    match = re.search(r"(http://127\.0\.0\.1:\d+/)lab\?token=(\w+)", line)
    assert match, line
    info = wait_until(lambda: list(runtime.glob("jpserver-*.json")), DEADLINE, "the server's runtime file")
    server_pid = json.loads(info[0].read_text())["pid"]
    reaper.watch(server_pid)
    return proc, match.group(1), match.group(2), server_pid


def _line_with(proc: subprocess.Popen, lines: queue.Queue[str], marker: str) -> str | None:
    """The first line printed so far that holds ``marker`` (None yet); fails if adcourse exited."""
    while not lines.empty():
        line = lines.get()
        if marker in line:
            return line
    if proc.poll() is not None:
        raise AssertionError(f"adcourse lab exited with {proc.returncode} before printing {marker!r}")
    return None


def _start_kernel(url: str, token: str, server_pid: int, reaper: Reaper) -> int:
    status, body = _get(url, token, "api/kernels", method="POST")
    assert status in (200, 201), body
    kernels = wait_until(lambda: _children(server_pid), DEADLINE, "the kernel process")
    for pid in kernels:
        reaper.watch(pid)
    return kernels[0]


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGKILL"])
def test_adcourse_lab_stops_the_server_and_its_kernels(
    how: str, course: Path, tmp_path: Path, reaper: Reaper
) -> None:
    """SIGTERM (``kill``), SIGINT (Ctrl+C) and SIGKILL of adcourse lab leave no server and no kernel."""
    proc, url, token, server_pid = _adcourse_lab(course, tmp_path, reaper)
    kernel_pid = _start_kernel(url, token, server_pid, reaper)
    assert reaper.alive(server_pid) and reaper.alive(kernel_pid)
    proc.send_signal(getattr(signal, how))
    code = wait_until(
        lambda: proc.poll() is not None and [proc.returncode], DEADLINE, "adcourse lab to exit"
    )[0]
    assert code == (-signal.SIGKILL if how == "SIGKILL" else 0)
    wait_until(lambda: not reaper.alive(server_pid), DEADLINE, "the server to stop")
    wait_until(lambda: not reaper.alive(kernel_pid), DEADLINE, "the kernel to stop")
    wait_until(lambda: _refuses(url), DEADLINE, "the port to close")


# ---------------------------------------------------------------- the student, in a browser


@pytest.mark.browser
def test_the_student_sees_the_assignment_list_and_no_formgrader(
    course: Path, tmp_path: Path, reaper: Reaper, request: pytest.FixtureRequest
) -> None:
    """Screenshots in out/browser/test_the_student_sees_the_assignment_list_and_no_formgrader/."""
    from browser_helpers import Steps, launch_browser, output_dir
    from playwright.sync_api import sync_playwright

    with (
        start_lab(course, student=True, state_dir=tmp_path / "state", log=tmp_path / "lab.log") as server,
        sync_playwright() as pw,
    ):
        reaper.watch(server.process.pid)
        browser = launch_browser(pw, tmp_path / "chromium")
        try:
            page = browser.new_page()
            steps = Steps(page, output_dir(request.node.name), tmp_path / "lab.log")
            with steps("the Nbgrader menu has Assignments and no Formgrader"):
                page.goto(server.url_for("lab") + "&reset")
                page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).click()
                items = page.locator(".lm-Menu-itemLabel")
                items.first.wait_for()
                labels = [t.strip() for t in items.all_inner_texts() if t.strip()]
                steps.shot("nbgrader menu")
                assert labels == ["Assignment List"], labels
                assert not [x for x in labels if "Formgrader" in x or "Course List" in x], labels
            with steps("the assignment list shows the released assignment"):
                page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Assignment")).first.click()
                page.get_by_text("toy", exact=True).first.wait_for()
                steps.shot("assignment list")
            with steps("no news question"):
                assert not page.get_by_text("official Jupyter news").count()
        finally:
            browser.close()
