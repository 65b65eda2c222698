"""The assignment checker can fail: on a toy course it flags a broken key and a missed mistake."""

import shutil

import nbformat
import pytest

from autograder import check as check_module
from autograder.check import check_assignment
from autograder.mutants import Mutant, MutantError, apply_mutant, load_mutants
from autograder.paths import REPO_ROOT, CourseError, assignment_dir, course_root


def _cell(source: str, cell_type: str = "code", **nbgrader) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source) if cell_type == "code" else nbformat.v4.new_markdown_cell(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, **nbgrader}
    return cell


def _toy_notebook(double: str = "2 * x") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell(
            f"def double(x):\n    ### BEGIN SOLUTION\n    return {double}\n    ### END SOLUTION",
            grade=False,
            solution=True,
            grade_id="double",
        ),
        _cell(
            "assert double(2) == 4", grade=True, solution=False, locked=True, grade_id="test-two", points=60
        ),
        _cell(
            "assert double(3) == 6\n### BEGIN HIDDEN TESTS\nassert double(-1) == -2\n### END HIDDEN TESTS",
            grade=True,
            solution=False,
            locked=True,
            grade_id="test-more",
            points=40,
        ),
    ]
    return nb


@pytest.fixture
def toy_course(tmp_path, monkeypatch):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(REPO_ROOT / "course" / "nbgrader_config.py", course)
    shutil.copy2(REPO_ROOT / "course" / "header.ipynb", course)
    (tmp_path / "assignments" / "toy").mkdir(parents=True)
    nbformat.write(_toy_notebook(), tmp_path / "assignments" / "toy" / "toy.ipynb")
    corpus = tmp_path / "toy.toml"
    corpus.write_text(
        """
[[mutant]]
name = "triple"
description = "multiplies by three"
notebook = "toy.ipynb"
cell = "double"
find = "2 * x"
replace = "3 * x"
loses = ["test-two", "test-more"]

[[mutant]]
name = "harmless"
description = "a rewrite the tests rightly accept, claimed to be caught"
notebook = "toy.ipynb"
cell = "double"
find = "2 * x"
replace = "x + x"
loses = ["test-two"]
""",
        encoding="utf-8",
    )
    monkeypatch.setattr(check_module, "mutants_file", lambda name: corpus)
    return course


def test_checker_reports_scores_and_a_missed_mistake(toy_course) -> None:
    result = check_assignment("toy", course=toy_course)
    assert (result.max_score, result.key_score, result.blank_score) == (100, 100, 0)
    assert not result.release_problems
    caught = {m.mutant.name: m.caught for m in result.mutants}
    assert caught == {"triple": True, "harmless": False}
    assert result.mutation_score == 0.5
    assert not result.ok
    assert "MISSED" in result.summary()


def test_checker_flags_a_key_that_fails_its_own_tests(toy_course, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(check_module, "mutants_file", lambda name: tmp_path / "no-corpus.toml")
    source = toy_course.parent / "assignments" / "toy" / "toy.ipynb"
    nbformat.write(_toy_notebook(double="x * x"), source)  # right at x = 2, wrong elsewhere
    result = check_assignment("toy", course=toy_course)
    assert result.key_score == 60
    assert set(result.key_shortfalls) == {"toy/test-more"}


def test_mutant_errors_name_the_problem(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[mutant]]\nname = "Bad Name"\n', encoding="utf-8")
    with pytest.raises(MutantError, match="lacks"):
        load_mutants(bad)
    mutant = Mutant("m", "d", "toy.ipynb", "double", "no such text", "x", ("test-two",))
    with pytest.raises(MutantError, match="not in cell"):
        apply_mutant(_toy_notebook(), mutant)
    with pytest.raises(MutantError, match="no cell"):
        apply_mutant(_toy_notebook(), Mutant("m", "d", "toy.ipynb", "nope", "2 * x", "x", ("t",)))


def test_course_errors_are_one_clear_sentence(tmp_path) -> None:
    with pytest.raises(CourseError, match="not a course folder"):
        course_root(tmp_path)
    with pytest.raises(CourseError, match="unknown assignment 'nope'"):
        assignment_dir(course_root(), "nope")
