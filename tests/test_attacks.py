"""Attacks on the grader earn nothing: the public attack corpus in tests/attacks/.

Each corpus file lists submissions a determined student would try (forging the outcome from inside
the kernel, shadowing what the tests import, lying values, floods of observations, delegating to
the reference implementation, getting hidden tests into the feedback); the test grades them all in
one class, next to the answer key and the blank release, and checks that

* every attack earns exactly its honest baseline (what its own code answers; 0 for most),
* the key still earns full marks and the blank 0 (other students' grades are unchanged),
* every submission got a status (the grader never crashed on a hostile kernel),
* no line of any hidden test appears in any student's feedback.
"""

from __future__ import annotations

import html
import re
import shutil
import tomllib
from pathlib import Path

import nbformat
import pytest
from helpers.toycourse import KEY, MAX, edited, make_course, release, source_notebook, submit

from autograder.check import scratch_course
from autograder.class_feedback import write_class_feedback
from autograder.engine import Limits, autograde
from autograder.hidden import HideHiddenTests, hidden_regions
from autograder.nbgrader_cli import run_nbgrader
from autograder.paths import course_root
from autograder.scores import cell_scores

ATTACKS = Path(__file__).parent / "attacks"
#: Attacks that hang their kernel are stopped sooner than a course would stop them.
LIMITS = Limits(cell_timeout=20, notebook_timeout=60)


def load(name: str) -> list[dict]:
    return tomllib.loads((ATTACKS / f"{name}.toml").read_text(encoding="utf-8"))["attack"]


def _feedback_text(path: Path) -> str:
    """What a student reads in a feedback page: its text, tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def hidden_lines(source: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[str]:
    """Every hidden test line worth keeping secret: in the instructor's notebook, not in the release."""
    from nbgrader.preprocessors import ClearHiddenTests

    _, lines = hidden_regions(source, ClearHiddenTests())
    shown = {line.strip() for cell in release.cells for line in cell.source.split("\n")}
    return sorted({line for line in lines if len(line) >= HideHiddenTests.min_line.default_value} - shown)


def _submit_attack(course: Path, release_nb: nbformat.NotebookNode, attack: dict, notebook: str) -> None:
    cells = {k: v for k, v in attack.items() if k not in ("student", "what", "files", "points", "leaks")}
    files: dict[str, bytes | nbformat.NotebookNode] = {notebook: edited(release_nb, cells)}
    for rel, text in attack.get("files", {}).items():
        files[rel] = text.encode("utf-8")
    submit(course, attack["student"], files, next(p.name for p in (course / "release").iterdir()))


@pytest.fixture(scope="module")
def toy_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("attacks-toy")
    course = make_course(root, {"toy": source_notebook()})
    released = release(course)
    attacks = load("toy")
    submit(course, "key", {"toy.ipynb": edited(released, KEY)})
    submit(course, "blank", {"toy.ipynb": edited(released, {})})
    for attack in attacks:
        _submit_attack(course, released, attack, "toy.ipynb")
    run = autograde(course, "toy", jobs=2, limits=LIMITS)
    assert len(run.statuses) == len(attacks) + 2  # every submission was recorded, none crashed the grader
    return course, attacks


def _totals(course: Path, assignment: str) -> dict[str, float]:
    return {
        s: sum(c.score for c in cells.values())
        for s, cells in cell_scores(course / "gradebook.db", assignment).items()
    }


def test_attacks_earn_nothing_beyond_their_own_answers(toy_class: tuple[Path, list[dict]]) -> None:
    course, attacks = toy_class
    totals = _totals(course, "toy")
    assert totals["key"] == MAX and totals["blank"] == 0
    earned = {a["student"]: totals[a["student"]] for a in attacks}
    assert earned == {a["student"]: float(a.get("points", 0)) for a in attacks}


def test_shadowing_files_are_refused_with_their_reason(toy_class: tuple[Path, list[dict]]) -> None:
    import json

    course, _ = toy_class
    for student, name in (("shadow-adlib", "adlib/grading.py"), ("shadow-bytecode", "sitecustomize.py")):
        status = json.loads((course / ".adcourse" / "status" / "toy" / f"{student}.json").read_text())
        assert "refused submitted files" in status["detail"] and name in status["detail"], status["detail"]


def test_feedback_holds_no_hidden_test(toy_class: tuple[Path, list[dict]]) -> None:
    course, attacks = toy_class
    done = write_class_feedback(course, "toy")
    assert not done.failed
    source = nbformat.read(course.parent / "assignments" / "toy" / "toy.ipynb", as_version=4)
    secret = hidden_lines(source, nbformat.read(course / "release" / "toy" / "toy.ipynb", as_version=4))
    assert secret  # the toy has hidden tests worth hiding
    for student in ["key", "blank", *(a["student"] for a in attacks)]:
        page = course / "feedback" / student / "toy" / "toy.html"
        assert page.is_file(), student
        text = _feedback_text(page)
        assert [line for line in secret if line in text] == [], student
    assert "hidden tests ran here" in _feedback_text(course / "feedback" / "key" / "toy" / "toy.html")


def test_feedback_on_hostile_notebooks_is_stock_nbgrader_s(
    toy_class: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    """Whatever an attack left in its notebook, its page is what stock nbgrader writes, byte for byte."""
    course, attacks = toy_class
    copy = tmp_path / "stock"
    shutil.copytree(course.parent, copy, ignore=shutil.ignore_patterns("feedback"))
    done = write_class_feedback(
        course, "toy", jobs=2, chunk=4, force=True
    )  # another test may have written them
    assert not done.failed and len(done.written) >= len(attacks)
    run_nbgrader(copy / "course", "generate_feedback", "toy", "--force")
    for student in done.written:
        page = Path(student) / "toy" / "toy.html"
        assert (course / "feedback" / page).read_bytes() == (
            copy / "course" / "feedback" / page
        ).read_bytes(), student


def test_the_stock_setting_shows_hidden_tests_again(
    toy_class: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    course, _ = toy_class
    copy = tmp_path / "stock"
    shutil.copytree(course.parent, copy)
    config = copy / "course" / "nbgrader_config.py"
    config.write_text(config.read_text() + "\nc.HideHiddenTests.enabled = False\n")
    write_class_feedback(copy / "course", "toy", students=["key"])
    assert "check_equal('double(-1)', double(-1), -2)" in _feedback_text(
        copy / "course" / "feedback" / "key" / "toy" / "toy.html"
    )


def test_delegating_a2_to_a_reference_library_earns_nothing(tmp_path: Path) -> None:
    name = "a2_forward_mode"
    course = scratch_course(course_root(), name, tmp_path)
    run_nbgrader(course, "generate_assignment", name, "--force")
    run_nbgrader(course, "generate_solution", name, "--force")
    released = nbformat.read(course / "release" / name / "forward_mode.ipynb", as_version=4)
    key = nbformat.read(course / "solution" / name / "forward_mode.ipynb", as_version=4)
    submit(course, "key", {"forward_mode.ipynb": key}, name)
    attacks = load(name)
    for attack in attacks:
        _submit_attack(course, released, attack, "forward_mode.ipynb")
    autograde(course, name, jobs=2, limits=Limits(cell_timeout=30, notebook_timeout=120))
    totals = _totals(course, name)
    assert totals["key"] == 100
    assert {a["student"]: totals[a["student"]] for a in attacks} == {
        a["student"]: float(a.get("points", 0)) for a in attacks
    }
