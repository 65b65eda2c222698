"""Every submission's kernel runs isolated and bounded, and every fault ends in the right status.

The toy assignment ``box`` (one notebook, ``box.ipynb``) and the fault corpus are described in
``tests/faults/sandbox.toml``: two solution cells (``double``, ``square``) and three tests
(``test-double`` 2 points, ``test-square`` 3, ``test-after`` 1). Each faulty student's ``square``
cell is replaced by the fault; the corpus gives, worked out by hand, the status and the points of
every test cell.

Two good students grade the same with and without the faulty ones in the run:

* ``key``: the answer key, 2 + 3 + 1 = 6 points;
* ``wrong``: ``double`` returns ``3 * x`` (test-double and test-after fail), key ``square``: 3.

Three course copies are graded once each (a run takes seconds): ``clean`` (the good two),
``faults`` (everyone, 2 workers) and ``opted_out`` (``sandbox = false`` in the assignment's
``limits.toml``: the kernel is not isolated, and grades the same).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

import nbformat
import pytest
from helpers.toycourse import (
    autograded_cell,
    edited,
    gradebook_points,
    make_course,
    notebook,
    release,
    solution_cell,
    submit,
)

from autograder.config import db_url
from autograder.engine import Limits, autograde
from autograder.engine.bundle import build_bundle
from autograder.engine.execute import classify_death
from autograder.engine.limits import LIMITS_FILE, read_limits
from autograder.engine.run import AutogradeRun
from autograder.engine.sandbox import SandboxUnavailable, check_sandbox, python_mounts
from autograder.paths import REPO_ROOT, CourseError
from autograder.scores import cell_scores

CORPUS = Path(__file__).parent / "faults" / "sandbox.toml"
TESTS = {"test-double": 2.0, "test-square": 3.0, "test-after": 1.0}
KEY = {"double": "def double(x):\n    return 2 * x", "square": "def square(x):\n    return x * x"}
GOOD: dict[str, tuple[dict[str, str], dict[str, float]]] = {
    "key": (KEY, {"test-double": 2, "test-square": 3, "test-after": 1}),
    "wrong": (
        {**KEY, "double": "def double(x):\n    return 3 * x"},
        {"test-double": 0, "test-square": 3, "test-after": 0},
    ),
}
#: The limits of the test runs (the corpus's header explains the faults against them).
LIMITS = Limits(
    cell_timeout=8,
    notebook_timeout=12,
    cpu_seconds=2,
    memory_mb=1024,
    max_processes=32,
    output_kb=64,
    file_mb=8,
)


@dataclass(frozen=True)
class Fault:
    """One faulty submission of the corpus."""

    student: str
    what: str
    source: str
    status: str
    detail: str
    points: dict[str, float]


def load_corpus() -> list[Fault]:
    data = tomllib.loads(CORPUS.read_text(encoding="utf-8"))
    return [Fault(**entry) for entry in data["fault"]]


FAULTS = {f.student: f for f in load_corpus()}


# ---------------------------------------------------------------- the toy course (cells: helpers.toycourse)


CHECK = "from adlib.grading import check_equal"


def source_notebook() -> nbformat.NotebookNode:
    return notebook(
        [
            solution_cell("double", "def double(x):", "return 2 * x"),
            autograded_cell(
                "test-double", f"{CHECK}\ncheck_equal('double(2)', double(2), 4)", TESTS["test-double"]
            ),
            solution_cell("square", "def square(x):", "return x * x"),
            autograded_cell(
                "test-square", f"{CHECK}\ncheck_equal('square(3)', square(3), 9)", TESTS["test-square"]
            ),
            autograded_cell(
                "test-after", f"{CHECK}\ncheck_equal('double(5)', double(5), 10)", TESTS["test-after"]
            ),
        ]
    )


@dataclass(frozen=True)
class Box:
    """The released toy course (``root`` holds course/ and assignments/)."""

    root: Path
    release: nbformat.NotebookNode

    def copy(self, dest: Path, sources: dict[str, dict[str, str]], limits_toml: str = "") -> Path:
        """A copy of the course with each student's edited notebook; returns its course folder."""
        shutil.copytree(self.root, dest)
        course = dest / "course"
        if limits_toml:
            (dest / "assignments" / "box" / LIMITS_FILE).write_text(limits_toml, encoding="utf-8")
        for student, edits in sources.items():
            submit(course, student, {"box.ipynb": edited(self.release, edits)}, assignment="box")
        return course


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Box:
    course = make_course(tmp_path_factory.mktemp("box"), {"box": source_notebook()})
    return Box(course.parent, release(course, "box"))


def _points(course: Path) -> dict[str, dict[str, float]]:
    return gradebook_points(course, "box")


def _graded(course: Path, student: str) -> nbformat.NotebookNode:
    return nbformat.read(course / "autograded" / student / "box" / "box.ipynb", as_version=4)


def _cell_of(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _sandbox_processes(marker: str) -> list[str]:
    """Command lines of running processes that mention ``marker``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and proc.name != str(os.getpid()):
            found.append(cmdline)
    return found


# ---------------------------------------------------------------- the gradings, shared


@pytest.fixture(scope="module")
def clean(box: Box, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AutogradeRun]:
    """The good two alone."""
    course = box.copy(tmp_path_factory.mktemp("clean") / "c", {s: e for s, (e, _) in GOOD.items()})
    return course, autograde(course, "box", jobs=2, limits=LIMITS)


@dataclass
class FaultRun:
    course: Path
    run: AutogradeRun
    server_accepted: bool
    escaped: list[Path]  # files the writer left outside its scratch folder (deleted since)
    leftovers: list[str]  # processes of the faulty students' sandboxes still running


@pytest.fixture(scope="module")
def faults(box: Box, tmp_path_factory: pytest.TempPathFactory) -> FaultRun:
    """Everyone: the good two and the whole corpus, 2 workers."""
    dest = tmp_path_factory.mktemp("faults") / "c"
    course = dest / "course"
    secrets = [
        dest / "assignments" / "box" / "box.ipynb",  # the source notebook, with the solutions
        REPO_ROOT / "solutions",  # the kit's answer keys
        course / "gradebook.db",  # the course gradebook
        course / "submitted" / "key" / "box" / "box.ipynb",  # another student's submission
        "../gradebook.db",  # the worker's gradebook snapshot, next to the scratch folder
    ]
    tag = uuid.uuid4().hex
    targets = [
        course / f"escape-{tag}.txt",  # the course folder
        dest / "assignments" / "box" / f"escape-{tag}.txt",  # the source assignment
        REPO_ROOT / "adlib" / f"escape-{tag}.txt",  # a package the kernel may read
        Path("/usr") / f"escape-{tag}.txt",  # the system
        Path("/tmp") / f"adsandbox-escape-{tag}.txt",  # the host's /tmp (the kernel has its own)
    ]
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        port = server.getsockname()[1]
        values = {
            "PORT": str(port),
            "SECRETS": repr([str(p) for p in secrets]),
            "TARGETS": repr(list(map(str, targets))),
        }
        sources = {s: e for s, (e, _) in GOOD.items()}
        for fault in FAULTS.values():
            sources[fault.student] = {**KEY, "square": Template(fault.source).substitute(values).strip()}
        box.copy(dest, sources)
        # The workers' scratch folders go in a folder of this run's own, so that the search for
        # surviving processes below cannot see kernels of tests running beside this one.
        scratch_root = Path(tempfile.mkdtemp(prefix="adfaults-", dir="/tmp"))
        scratch_root.chmod(0o755)
        old_tmpdir = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = str(scratch_root)
        try:
            run = autograde(course, "box", jobs=2, limits=LIMITS)
        finally:
            if old_tmpdir is None:
                del os.environ["TMPDIR"]
            else:
                os.environ["TMPDIR"] = old_tmpdir
        try:
            server.accept()[0].close()
            accepted = True
        except BlockingIOError:
            accepted = False
    leftovers = [
        cmd for student in FAULTS for cmd in _sandbox_processes(f"{scratch_root}/adgrade-{student}-")
    ]
    shutil.rmtree(scratch_root, ignore_errors=True)
    escaped = [p for p in targets if p.exists()]
    for path in escaped:  # never leave an escape behind, whatever the assertions say
        path.unlink()
    return FaultRun(course, run, accepted, escaped, leftovers)


@pytest.fixture(scope="module")
def opted_out(box: Box, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AutogradeRun]:
    """The key and the peeker, graded without the sandbox: ``sandbox = false`` in limits.toml."""
    dest = tmp_path_factory.mktemp("optout") / "c"
    secret = dest / "assignments" / "box" / "box.ipynb"
    peek = Template(FAULTS["peeker"].source).substitute(SECRETS=repr([str(secret)]))
    sources = {"key": KEY, "peeker": {**KEY, "square": peek.strip() + "\n\n" + KEY["square"]}}
    course = box.copy(dest, sources, limits_toml="# graded on purpose without the sandbox\nsandbox = false\n")
    return course, autograde(course, "box", jobs=1, limits=LIMITS)


# ---------------------------------------------------------------- the corpus


def test_every_fault_gets_its_status_and_points(faults: FaultRun) -> None:
    points = _points(faults.course)
    statuses = {s.student: s for s in faults.run.statuses}
    for student, fault in FAULTS.items():
        assert points[student] == fault.points, (student, fault.what)
        assert statuses[student].status == fault.status, (student, statuses[student].detail)
        assert fault.detail in statuses[student].detail, (student, statuses[student].detail)
        assert statuses[student].score == sum(fault.points.values())


def test_good_submissions_grade_the_same_with_the_faulty_ones(
    clean: tuple[Path, AutogradeRun], faults: FaultRun
) -> None:
    alone, together = (
        cell_scores(clean[0] / "gradebook.db", "box"),
        cell_scores(faults.course / "gradebook.db", "box"),
    )
    assert {s: together[s] for s in GOOD} == alone
    assert _points(clean[0]) == {s: p for s, (_, p) in GOOD.items()}
    assert [s for s in faults.run.statuses if s.student in GOOD] == clean[1].statuses
    assert {s.status for s in clean[1].statuses} == {"graded"}


def test_stopped_tests_are_marked_not_run(faults: FaultRun) -> None:
    for student, fault in FAULTS.items():
        after = _cell_of(_graded(faults.course, student), "test-after")
        errors = [f"{o.ename}: {o.evalue}" for o in after.outputs if o.output_type == "error"]
        if fault.points["test-after"] == 0:  # the verdict says why: the test did not run to its end
            assert len(errors) == 1 and "NotRun" in errors[0], (student, errors)
        else:
            assert errors == [], (student, errors)


def test_the_fork_bomb_stops_at_the_task_limit_and_nothing_survives(faults: FaultRun) -> None:
    square = _cell_of(_graded(faults.course, "forker"), "square")
    assert [o.ename for o in square.outputs if o.output_type == "error"] == ["BlockingIOError"]
    born = int(_stdout(square).split("forked")[1].split()[0])
    assert 0 < born < LIMITS.max_processes
    assert faults.leftovers == []


def test_enormous_output_is_cut(faults: FaultRun) -> None:
    square = _cell_of(_graded(faults.course, "chatter"), "square")
    text = _stdout(square)
    assert f"[output cut: this cell printed more than {LIMITS.output_kb} KiB]" in text
    assert len(text) <= LIMITS.output_kb * 1024 + 200


def test_the_network_is_out_of_reach(faults: FaultRun) -> None:
    square = _cell_of(_graded(faults.course, "caller"), "square")
    errors = [o.ename for o in square.outputs if o.output_type == "error"]
    assert errors and errors[0] in ("ConnectionRefusedError", "OSError", "TimeoutError")
    assert not faults.server_accepted


def test_the_graders_files_are_invisible(faults: FaultRun) -> None:
    square = _cell_of(_graded(faults.course, "peeker"), "square")
    assert "visible: []" in _stdout(square)
    assert [o.ename for o in square.outputs if o.output_type == "error"] == ["FileNotFoundError"]


def test_nothing_is_written_outside_the_scratch_folder(faults: FaultRun) -> None:
    assert faults.escaped == []
    square = _cell_of(_graded(faults.course, "writer"), "square")
    assert [o.ename for o in square.outputs if o.output_type == "error"] == ["FileNotFoundError"]


def test_opting_out_grades_the_same_without_isolation(
    opted_out: tuple[Path, AutogradeRun], clean: tuple[Path, AutogradeRun]
) -> None:
    course, run = opted_out
    assert (
        cell_scores(course / "gradebook.db", "box")["key"]
        == cell_scores(clean[0] / "gradebook.db", "box")["key"]
    )
    square = _cell_of(_graded(course, "peeker"), "square")
    assert "visible: []" not in _stdout(square)  # unsandboxed, the source notebook is in sight
    assert _points(course)["peeker"] == GOOD["key"][1]
    assert {s.status for s in run.statuses} == {"graded"}


# ---------------------------------------------------------------- the sandbox's set-up


def test_a_missing_bwrap_stops_grading_with_what_to_do(
    box: Box, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = box.copy(tmp_path / "c", {"key": KEY})
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(SandboxUnavailable, match=r"apt-get install -y bubblewrap.*sandbox = false"):
        build_bundle(course, "box", db_url(course), LIMITS)
    with pytest.raises(SandboxUnavailable, match="'bwrap', which is not installed"):
        check_sandbox(Limits())


def test_the_kernel_reads_only_python_and_the_shared_package() -> None:
    import adlib

    mounts = python_mounts()
    assert Path(adlib.__file__).resolve().parent in mounts
    for hidden in ("solutions", "assignments", "course", "autograder", "tests"):
        assert not any(m == REPO_ROOT / hidden or REPO_ROOT / hidden in m.parents for m in mounts), hidden
    assert REPO_ROOT not in mounts


# ---------------------------------------------------------------- limits


def test_limits_toml_overrides_the_given_limits(tmp_path: Path) -> None:
    path = tmp_path / LIMITS_FILE
    path.write_text("memory_mb = 3000\ncell_timeout = 300\n", encoding="utf-8")
    got = read_limits(path, Limits(cell_timeout=30, cpu_seconds=50))
    assert (got.memory_mb, got.cell_timeout, got.cpu_seconds) == (3000, 300, 50)
    assert read_limits(tmp_path / "absent.toml", LIMITS) == LIMITS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("memory = 3000\n", "unknown limit 'memory'"),
        ('memory_mb = "3000"\n', "memory_mb must be int, got str"),
        ("sandbox = 0\n", "sandbox must be bool, got int"),
        ("cell_timeout = 0\n", "cell_timeout must be positive, got 0"),
        ("memory_mb = [\n", "is not valid TOML"),
    ],
)
def test_limits_toml_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / LIMITS_FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CourseError, match=message):
        read_limits(path)


def test_limits_refuse_too_little_to_start_a_kernel() -> None:
    with pytest.raises(ValueError, match="memory_mb must be at least 512"):
        Limits(memory_mb=100)
    with pytest.raises(ValueError, match="max_processes must be at least 16"):
        Limits(max_processes=4)
    assert Limits(output_lines=-1).output_lines == -1


def test_limits_file_stays_out_of_the_students_folder(box: Box, tmp_path: Path) -> None:
    course = box.copy(tmp_path / "c", {}, limits_toml="notebook_timeout = 99\n")
    bundle = build_bundle(course, "box", db_url(course), LIMITS)
    assert bundle.limits.notebook_timeout == 99
    assert bundle.limits.cpu_seconds == LIMITS.cpu_seconds
    assert LIMITS_FILE not in bundle.files


# ---------------------------------------------------------------- why a kernel died


@pytest.mark.parametrize(
    ("returncode", "log", "status", "words"),
    [
        (128 + 24, "", "timeout", "2 s of CPU time"),  # bwrap reports SIGXCPU as 128 + 24
        (-24, "", "timeout", "2 s of CPU time"),  # Popen, unsandboxed
        (134, "terminate called after throwing an instance of 'std::bad_alloc'", "out of memory", "1024 MiB"),
        (1, "Fatal Python error: MemoryError", "out of memory", "1024 MiB"),
        (128 + 11, "", "kernel died", "killed by SIGSEGV"),
        (128 + 9, "", "kernel died", "killed by SIGKILL"),
        (128 + 25, "", "kernel died", "larger than 8 MiB"),
        (3, "", "kernel died", "exited with status 3"),
        (None, "", "kernel died", "stopped answering"),
    ],
)
def test_a_dead_kernel_is_classified_by_exit_and_log(
    returncode: int | None, log: str, status: str, words: str
) -> None:
    got_status, detail = classify_death(returncode, log, LIMITS, "box")
    assert got_status == status
    assert words in detail and "box.ipynb" in detail


def test_status_files_record_the_faults(faults: FaultRun) -> None:
    folder = faults.course / ".adcourse" / "status" / "box"
    for student, fault in FAULTS.items():
        record = json.loads((folder / f"{student}.json").read_text(encoding="utf-8"))
        assert record["status"] == fault.status
        assert record["score"] == sum(fault.points.values())
