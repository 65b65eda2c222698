"""The tamper check's flags reach the status files and the report, and change no grade; tampering
earns nothing either, since the grader decides outside the student's kernel.

The toy assignment and the students come from ``tests/faults/tamper.toml`` (through
``test_integrity``'s helpers); each student answers ``double`` with the key ``2 * x``. The
released notebook starts with nbgrader's two header cells, so linear-backward is cell 5 there.
One grading, 2 workers, of five students; their points, worked out by hand (test-double 2,
test-backward 3, test-after 1):

=============  ==========================================================  =====  =========================
student        what the code does                                          total  flag (linear-backward)
=============  ==========================================================  =====  =========================
key            the answer key                                              6      none
numpy-patch    db is a mean (wrong), and numpy.allclose always says True   3      monkeypatch, line 1
thin-wrapper   calls adlib.nn.linear_backward, which its kernel lacks      3      reference, line 2
read-computed  the key, after reading /etc/hostname by a computed path     6      file (kernel), line 5
closer         the key, after closing the kernel monitor's pipe            6      monitor blinded
=============  ==========================================================  =====  =========================

numpy-patch's wrong db fails test-backward: the grader compares the key's and the student's values
outside the kernel, where the patched numpy.allclose does not reach. thin-wrapper's call fails: the
student's sandbox has no adlib.nn (the test imports it only in a reference block, which the grader
removes before the kernel runs the test). Both keep their other points, and their flags (the scan
still reads what they tried): a flag is for the instructor to judge, not a grade.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from helpers.toycourse import edited, gradebook_points, make_course, release, submit
from test_integrity import BY_NAME, POINTS, submitted, toy_notebook

from autograder.config import db_url
from autograder.engine import autograde
from autograder.engine.bundle import build_bundle
from autograder.engine.run import AutogradeRun
from autograder.engine.status import status_dir
from autograder.integrity import POLICY_FILE, IntegrityPolicy
from autograder.integrity.findings import MONITOR, MONKEYPATCH, OUTSIDE_FILE, REFERENCE
from autograder.report import build_report

STUDENTS = ("key", "numpy-patch", "thin-wrapper", "read-computed", "closer")
#: student -> points per test cell, from the table above
EXPECTED = {s: dict(POINTS) for s in STUDENTS} | {
    "numpy-patch": {**POINTS, "test-backward": 0.0},
    "thin-wrapper": {**POINTS, "test-backward": 0.0},
}
CELL = 5  # linear-backward, after the two header cells
# student -> (kind, line, words of the finding, where it was seen), from the table above
FLAGS = {
    "numpy-patch": (MONKEYPATCH, 1, "assigns numpy.allclose", "scan"),
    "thin-wrapper": (REFERENCE, 2, "uses adlib.nn.linear_backward, the reference implementation", "scan"),
    "read-computed": (OUTSIDE_FILE, 5, "opened /etc/hostname, outside the submission folder", "kernel"),
    "closer": (MONITOR, None, "the kernel's file monitor went silent: no report from cell 6 on", "kernel"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AutogradeRun]:
    course = make_course(tmp_path_factory.mktemp("tamper"), {"toy": toy_notebook()})
    policy = 'adlib_modules = ["adlib.data"]\n'  # changes nothing for these students
    (course.parent / "assignments" / "toy" / POLICY_FILE).write_text(policy, encoding="utf-8")
    released = edited(release(course), {"double": "def double(x):\n    return 2 * x"})
    for student in STUDENTS:
        submit(course, student, {"toy.ipynb": submitted(BY_NAME[student], released)})
    return course, autograde(course, "toy", jobs=2)


def test_flags_change_no_grade(graded: tuple[Path, AutogradeRun]) -> None:
    course, run = graded
    assert gradebook_points(course) == EXPECTED
    assert {s.student: (s.status, s.score) for s in run.statuses} == {
        s: ("graded", sum(EXPECTED[s].values())) for s in STUDENTS
    }


def test_each_tampering_is_flagged_where_it_happens(graded: tuple[Path, AutogradeRun]) -> None:
    _, run = graded
    found = {
        s.student: [(f.kind, f.cell, f.grade_id, f.line, f.what, f.source) for f in s.flags]
        for s in run.statuses
    }
    expected = {s: [] for s in STUDENTS}
    for student, (kind, line, what, seen) in FLAGS.items():
        expected[student] = [(kind, CELL, "linear-backward", line, what, seen)]
    assert found == expected


def test_flags_are_kept_in_the_status_files(graded: tuple[Path, AutogradeRun]) -> None:
    course, _ = graded
    records = {p.stem: json.loads(p.read_text()) for p in status_dir(course, "toy").glob("*.json")}
    assert records["key"]["flags"] == []
    flag = records["read-computed"]["flags"][0]
    assert flag["kind"] == OUTSIDE_FILE and flag["evidence"] == "open(_where).read()"
    assert (flag["notebook"], flag["cell"], flag["grade_id"], flag["line"]) == (
        "toy",
        CELL,
        "linear-backward",
        5,
    )


def test_the_report_lists_the_flags(graded: tuple[Path, AutogradeRun]) -> None:
    course, _ = graded
    report = build_report(course, "toy")
    assert [(f.student, f.finding.kind) for f in report.flags] == [
        ("closer", MONITOR),
        ("numpy-patch", MONKEYPATCH),
        ("read-computed", OUTSIDE_FILE),
        ("thin-wrapper", REFERENCE),
    ]
    page = report.markdown.read_text(encoding="utf-8")
    section = page.split("## Integrity flags", 1)[1]
    assert "changes no grade" in section
    assert (
        "| thin-wrapper | reference implementation | toy, cell 5 (linear-backward), line 2 | uses "
        "adlib.nn.linear_backward, the reference implementation | `return adlib.nn.linear_backward(*args)` "
        "| scan |"
    ) in section
    assert "| numpy-patch | monkeypatch | toy, cell 5 (linear-backward), line 1 |" in section
    assert "| key |" not in section
    assert (
        "integrity flags (no grade changed; see the report): closer (1), numpy-patch (1)" in report.summary()
    )


def test_the_policy_travels_in_the_bundle_and_never_to_students(graded: tuple[Path, AutogradeRun]) -> None:
    course, _ = graded
    bundle = build_bundle(course, "toy", db_url(course))
    assert bundle.integrity == IntegrityPolicy(adlib_modules=("adlib.data",))
    assert POLICY_FILE not in bundle.files
    assert not (course / "release" / "toy" / POLICY_FILE).exists()
    assert nbformat.read(course / "autograded" / "closer" / "toy" / "toy.ipynb", as_version=4).cells
