"""The tamper check flags each way of cheating the tests, and nothing in honest work.

The toy assignment, the tampering submissions and the clean ones are in
``tests/faults/tamper.toml`` (its header draws the notebook cell by cell); every expected finding
there was worked out by hand from the sources. Here the static scan reads the toy notebooks
directly (fast); the kernel's file monitor runs its hook in a plain Python process; the answer keys
and the typical mistakes of the six real assignments must come out clean. ``test_integrity_engine``
grades a few of the corpus's students end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.integrity import POLICY_FILE, Finding, IntegrityPolicy, read_policy, scan_notebook
from autograder.integrity.audit import check_files
from autograder.integrity.cells import code_cells
from autograder.integrity.findings import MONITOR, OUTSIDE_FILE, REFERENCE
from autograder.integrity.monitor import KernelMonitor, MonitorError, cell_file
from autograder.mutants import apply_mutant, load_mutants
from autograder.paths import REPO_ROOT, CourseError
from autograder.report import read_flags

CORPUS = Path(__file__).parent / "faults" / "tamper.toml"
MUTANTS = Path(__file__).parent / "mutants"
ASSIGNMENTS = sorted(p.name for p in (REPO_ROOT / "assignments").iterdir() if p.is_dir())

KEY = "def linear_backward(dY, X, W):\n    return dY @ W.T, X.T @ dY, dY.sum(axis=0)"
#: The toy notebook's instructor cells (grade id -> source) and points, as the corpus draws them.
IMPORTS = "import numpy as np"
TEST_DOUBLE = """from adlib.grading import check_close, check_own_function

check_own_function(double, "double")
check_close("double(2)", double(2), 4.0)"""
TEST_BACKWARD = """from adlib.grading import check_close, check_own_function, reference

check_own_function(linear_backward, "linear_backward")
_g = np.random.default_rng(0)
_X, _W, _dY = _g.normal(size=(4, 3)), _g.normal(size=(3, 2)), _g.normal(size=(4, 2))
with reference():
    import adlib.nn

    _want = adlib.nn.linear_backward(_dY, _X, _W)
for _i, (_name, _got) in enumerate(zip(("dX", "dW", "db"), linear_backward(_dY, _X, _W))):
    check_close(_name, _got, expected=_want[_i])"""
TEST_AFTER = 'check_close("|double(-5)|", abs(double(-5)), 10.0)'
POINTS = {"test-double": 2.0, "test-backward": 3.0, "test-after": 1.0}


@dataclass(frozen=True)
class Entry:
    """One submission of the corpus (a [[tamper]] or a [[clean]] table)."""

    student: str
    what: str
    cell: str
    source: str
    kind: str = ""
    line: int | None = None
    phrase: str = ""
    also: tuple[str, ...] = ()
    seen: str = "scan"


def load_corpus() -> tuple[list[Entry], list[Entry]]:
    """The tampering and the clean submissions of ``tests/faults/tamper.toml``."""
    data = tomllib.loads(CORPUS.read_text(encoding="utf-8"))

    def entry(table: dict) -> Entry:
        source = table.pop("source").strip("\n").replace("$KEY", KEY)
        return Entry(source=source, also=tuple(table.pop("also", ())), **table)

    return [entry(t) for t in data["tamper"]], [entry(t) for t in data["clean"]]


TAMPER, CLEAN = load_corpus()
BY_NAME = {e.student: e for e in TAMPER + CLEAN}


def _cell(source: str, grade_id: str, **flags: object) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, "grade_id": grade_id, "locked": False, **flags}
    return cell


def _solution(grade_id: str, source: str) -> nbformat.NotebookNode:
    return _cell(source, grade_id, grade=False, solution=True)


def _test(grade_id: str, source: str) -> nbformat.NotebookNode:
    return _cell(source, grade_id, grade=True, solution=False, locked=True, points=POINTS[grade_id])


def toy_notebook(answer: str = KEY) -> nbformat.NotebookNode:
    """The instructor's toy notebook (the corpus's header), ``answer`` in the linear-backward cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell(IMPORTS, "imports", grade=False, solution=False, locked=True),
        _solution("double", "def double(x):\n    return 2 * x"),
        _test("test-double", TEST_DOUBLE),
        _solution("linear-backward", answer),
        _test("test-backward", TEST_BACKWARD),
        _test("test-after", TEST_AFTER),
    ]
    return nb


def instructor_cells() -> dict[str, str]:
    """The instructor's cells, as the grader reads them from its gradebook."""
    return {
        "imports": IMPORTS,
        "test-double": TEST_DOUBLE,
        "test-backward": TEST_BACKWARD,
        "test-after": TEST_AFTER,
    }


def submitted(entry: Entry, nb: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """``nb`` (default: the toy notebook) as ``entry``'s student hands it in."""
    nb = nbformat.from_dict(nb or toy_notebook())
    if entry.cell == "added":
        at = next(i for i, c in enumerate(nb.cells) if c.metadata["nbgrader"]["grade_id"] == "test-backward")
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(entry.source))
        return nb
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == entry.cell:
            cell.source = entry.source
            return nb
    raise AssertionError(f"no cell {entry.cell!r} for {entry.student}")


def _cell_index(entry: Entry) -> int:
    """Where the entry's code sits in the toy notebook (see the corpus's header)."""
    return 5 if entry.cell == "added" else 3


# ---------------------------------------------------------------- the static scan


@pytest.mark.parametrize("entry", [e for e in TAMPER if e.seen == "scan"], ids=lambda e: e.student)
def test_the_scan_flags_each_tampering(entry: Entry) -> None:
    found = scan_notebook(submitted(entry), IntegrityPolicy(), "toy", instructor_cells())
    hits = [f for f in found if f.kind == entry.kind and f.line == entry.line and entry.phrase in f.what]
    assert hits, f"{entry.student}: no {entry.kind!r} finding at line {entry.line}: {found}"
    hit = hits[0]
    assert (hit.notebook, hit.cell, hit.source) == ("toy", _cell_index(entry), "scan")
    assert hit.grade_id == ("" if entry.cell == "added" else entry.cell)
    assert hit.evidence == entry.source.splitlines()[entry.line - 1].strip()
    assert {f.kind for f in found} == {entry.kind, *entry.also}


@pytest.mark.parametrize("entry", [e for e in TAMPER if e.seen == "kernel"], ids=lambda e: e.student)
def test_what_only_the_kernel_sees_escapes_the_scan(entry: Entry) -> None:
    assert scan_notebook(submitted(entry), IntegrityPolicy(), "toy", instructor_cells()) == []


@pytest.mark.parametrize("entry", CLEAN, ids=lambda e: e.student)
def test_ordinary_code_is_not_flagged(entry: Entry) -> None:
    assert scan_notebook(submitted(entry), IntegrityPolicy(), "toy", instructor_cells()) == []


def test_the_policy_allows_adlib_in_the_cells_it_names() -> None:
    wrapper = submitted(BY_NAME["import-adlib"])
    assert (
        scan_notebook(wrapper, IntegrityPolicy(adlib_cells=("linear-backward",)), "toy", instructor_cells())
        == []
    )
    data = Entry("data", "", "linear-backward", f"from adlib.data import load_digits\n{KEY}")
    flagged = scan_notebook(submitted(data), IntegrityPolicy(), "toy", instructor_cells())
    assert [(f.kind, f.line) for f in flagged] == [(REFERENCE, 1)]
    allowed = IntegrityPolicy(adlib_modules=("adlib.data",))
    assert scan_notebook(submitted(data), allowed, "toy", instructor_cells()) == []


def test_a_cell_dressed_as_the_instructors_is_scanned() -> None:
    """A student cell that copies a locked cell's metadata but not its source is the student's."""
    nb = toy_notebook()
    nb.cells[0].source = IMPORTS + "\nnp.allclose = lambda *args, **kwargs: True"
    found = scan_notebook(nb, IntegrityPolicy(), "toy", instructor_cells())
    assert [(f.cell, f.line, f.what) for f in found] == [(0, 2, "assigns numpy.allclose")]
    cells = code_cells(toy_notebook(), instructor_cells())
    assert [c.student for c in cells] == [False, True, False, True, False, False]


def test_python_files_of_the_submission_are_scanned() -> None:
    files = {
        "helpers.py": b"import numpy\n\nnumpy.allclose = lambda *a, **k: True\n",
        "notes.txt": b"np.x = 1",
    }
    found = check_files(files, IntegrityPolicy())
    assert [(f.notebook, f.cell, f.line, f.what) for f in found] == [
        ("helpers.py", None, 3, "assigns numpy.allclose")
    ]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_answer_keys_and_typical_mistakes_are_not_flagged(assignment: str) -> None:
    """Students must not be accused: the six answer keys and every mutant come out clean."""
    folder = REPO_ROOT / "assignments" / assignment
    policy = read_policy(folder / POLICY_FILE)
    mutants = load_mutants(MUTANTS / f"{assignment}.toml")
    for path in sorted(folder.glob("*.ipynb")):
        key = nbformat.read(path, as_version=4)
        assert scan_notebook(key, policy, path.stem) == [], f"{assignment}: the answer key"
        solutions = nbformat.read(REPO_ROOT / "solutions" / assignment / path.name, as_version=4)
        assert scan_notebook(solutions, policy, path.stem) == [], f"{assignment}: solutions/{path.name}"
        for mutant in (m for m in mutants if m.notebook == path.name):
            found = scan_notebook(apply_mutant(key, mutant), policy, path.stem)
            assert found == [], f"{assignment}: mutant {mutant.name}: {found}"


def test_a6_answers_are_plain_numpy() -> None:
    """a6's answer key uses no adlib, even under the default policy, and its kernel has only adlib.data
    (the given lecture_network loads the digits with it): no activations, losses or optimisers."""
    folder = REPO_ROOT / "assignments" / "a6_activations_sgd"
    found = scan_notebook(
        nbformat.read(folder / "activations_sgd.ipynb", as_version=4), IntegrityPolicy(), "activations_sgd"
    )
    assert found == []
    policy = read_policy(folder / POLICY_FILE)
    assert policy.kernel_modules("activations_sgd") == ("adlib.data",)
    assert policy.kernel_packages("activations_sgd") == () and policy.adlib_cells == ()


# ---------------------------------------------------------------- the policy file


def test_policy_files_are_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / POLICY_FILE
    assert read_policy(path) == IntegrityPolicy()
    path.write_text(
        'adlib_cells = ["a"]\nadlib_modules = ["adlib.data"]\nmonitor = false\n', encoding="utf-8"
    )
    assert read_policy(path) == IntegrityPolicy(("a",), ("adlib.data",), False)
    for text, message in [
        ("adlib_cell = []\n", "unknown setting 'adlib_cell'"),
        ('adlib_modules = ["numpy"]\n', "adlib modules"),
        ("monitor = 1\n", "monitor must be true or false"),
        ("adlib_cells = [1]\n", "adlib_cells must be a list"),
        ("adlib_cells = [\n", "not valid TOML"),
    ]:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(CourseError, match=r"integrity\.toml") as err:
            read_policy(path)
        assert message in str(err.value)


def test_flags_from_status_files_are_read_or_reported_unreadable() -> None:
    good = Finding(OUTSIDE_FILE, "opened /etc/passwd, outside the submission folder", "toy", 3, "lb", 2, "x")
    statuses = {
        "ann": {"status": "graded", "flags": [good.to_dict()]},
        "bob": {"status": "graded"},  # written before the tamper check: no flags
        "cid": {"status": "graded", "flags": [{"kind": "no such kind", "what": "?", "notebook": "toy"}]},
        "dan": {"status": "graded", "flags": {"not": "a list"}},
    }
    flags = read_flags(statuses)
    assert [(f.student, f.finding.kind) for f in flags] == [
        ("ann", OUTSIDE_FILE),
        ("cid", "check failed"),
        ("dan", "check failed"),
    ]
    assert flags[0].finding == good
    assert "unknown finding kind" in flags[1].finding.what
    assert "expected a list" in flags[2].finding.what


# ---------------------------------------------------------------- the kernel's file monitor


#: Code run after the hook, as a kernel would run cells: each "cell" is compiled under the file
#: name IPython gives it (in <tmp>/ipykernel_<pid>/), so the monitor places reports in cells.
HOOKED = """
import os, sys, tempfile
_dir = tempfile.gettempdir() + os.sep + "ipykernel_" + str(os.getpid()) + os.sep
for _name, _source in CELLS:
    exec(compile(_source, _dir + _name, "exec"), {})
"""


def _try(statement: str) -> str:
    return f"try:\n    {statement}\nexcept OSError:\n    pass"


def test_the_kernel_hook_reports_what_cells_open_outside(tmp_path: Path) -> None:
    """Run the hook in a plain Python, on cells that open files everywhere; see what it reports.

    The scratch folder is ``<tmp_path>/adgrade-x/work``; by the hook's rules (roots of kind work,
    read and tmp, and the grading folder denied), the reports must be exactly: /etc/hostname
    (under no root), a write in the Python installation, the gradebook next to the scratch folder
    (denied though it exists), a /tmp file that does not exist, and /etc/hostname again from the
    body of a ``%%capture`` cell (which IPython compiles apart: line 4 of the cell is the body's
    line 3); not the scratch folder's own file, a read in the Python installation, an existing
    /tmp file, or a hidden /tmp folder.
    """
    work = tmp_path / "adgrade-x" / "work"
    work.mkdir(parents=True)
    (work.parent / "gradebook.db").write_bytes(b"snapshot")
    existing = Path(tempfile.mkstemp(prefix="integrity-test-")[1])
    missing = Path(tempfile.gettempdir()) / f"integrity-test-missing-{os.getpid()}" / "secret.txt"
    python_file = Path(os.__file__)
    cells = [
        "open('mine.txt', 'w').write('x')\nopen('mine.txt').read()",
        _try("open('/etc/hostname').read()"),
        _try(f"open({str(python_file.parent / 'no-such-folder' / 'written.txt')!r}, 'w')"),
        f"open({str(python_file)!r}).read()",
        _try("open('../gradebook.db', 'rb').read()"),
        f"open({str(existing)!r}).read()",
        _try(f"open({str(missing)!r}).read()"),
        _try(f"open({tempfile.gettempdir() + '/.hidden-cache-of-a-library/x'!r})"),
    ]
    body = "x = 1\n" + _try("open('/etc/hostname').read()") + "\n"
    runs = [(cell_file(c), c) for c in cells]
    cells.append("%%capture\n" + body.rstrip("\n"))  # the kernel runs the cell, which runs the body
    runs += [(cell_file(cells[-1]), "pass"), (cell_file(body), body)]
    monitor = KernelMonitor(work, sandboxed=True)
    program = f"CELLS = {runs!r}\n{HOOKED}"
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", monitor.launcher(then=program)], cwd=work, pass_fds=(monitor.pass_fd,)
        )
        monitor.launched()
        monitor.stopping()  # the "kernel" ends by itself: the end of its pipe is no finding
        assert proc.wait(timeout=60) == 0
    finally:
        monitor.close()
        existing.unlink()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    monitor.ran(list(range(len(cells))), kernel_died=False)
    found = monitor.findings(code_cells(nb), "nb")
    assert [(f.cell, f.line, f.what.split(",")[0]) for f in found] == [
        (1, 2, "opened /etc/hostname"),
        (2, 2, f"tried to write {python_file.parent / 'no-such-folder' / 'written.txt'}"),
        (4, 2, f"opened {work.parent / 'gradebook.db'}"),
        (6, 2, f"opened {missing}"),
        (8, 4, "opened /etc/hostname"),
    ]
    assert all(f.kind == OUTSIDE_FILE and f.source == "kernel" for f in found)
    reports = [e["e"] for e in monitor.events if e["e"] in ("hello", "exec")]
    assert reports == ["hello"] + ["exec"] * len(runs)


def test_a_silent_monitor_is_a_finding() -> None:
    """Cells that ran without a report after some point: the last student cell before is named."""
    nb = toy_notebook()
    cells = code_cells(nb, instructor_cells())
    monitor = KernelMonitor(Path(tempfile.gettempdir()), sandboxed=True)
    monitor.close()
    names = [cell_file(c.source) for c in cells]
    monitor.events = [{"e": "hello"}] + [{"e": "exec", "c": n} for n in names[:4]]  # 4 and 5 unreported
    monitor.ran(range(6), kernel_died=False)
    found = monitor.findings(cells, "toy")
    assert [(f.kind, f.cell, f.grade_id) for f in found] == [(MONITOR, 3, "linear-backward")]
    assert "no report from cell 4 on" in found[0].what
    monitor.events.append({"e": "exec", "c": names[5]})  # cell 4's report lost, cell 5's came
    assert monitor.findings(cells, "toy") == []
    monitor.events.append({"e": "garbage"})
    assert [f.what for f in monitor.findings(cells, "toy")] == [
        "something in the kernel wrote junk into the file monitor's channel"
    ]


def test_the_monitor_needs_an_ipython_kernel_command() -> None:
    monitor = KernelMonitor(Path(tempfile.gettempdir()), sandboxed=False)
    try:
        cmd = monitor.command(["/venv/bin/python", "-m", "ipykernel_launcher", "-f", "k.json"])
        assert cmd[:2] == ["/venv/bin/python", "-c"] and cmd[3:] == ["-f", "k.json"]
        assert f"install({monitor.pass_fd}, " in cmd[2] and "launch_new_instance()" in cmd[2]
        with pytest.raises(MonitorError, match="monitor = false"):
            monitor.command(["/usr/bin/R", "--kernel", "k.json"])
    finally:
        monitor.close()


def test_findings_travel_as_json() -> None:
    finding = Finding(
        REFERENCE, "uses adlib.nn.linear_backward", "toy", 3, "linear-backward", 2, "  a  \n b "
    )
    assert finding.evidence == "a b"
    assert Finding.from_dict(json.loads(json.dumps(finding.to_dict()))) == finding
    assert finding.where == "toy, cell 3 (linear-backward), line 2"
    with pytest.raises(ValueError, match="'line' must be a whole number"):
        Finding.from_dict({**finding.to_dict(), "line": "2"})
