"""The assignment checker can fail: on a toy course it flags a broken key and a missed mistake."""

import nbformat
import pytest
from helpers.toycourse import HARMLESS, TRIPLE, double_cells, make_course, notebook

from autograder import check as check_module
from autograder.check import check_assignment
from autograder.mutants import Mutant, MutantError, apply_mutant, load_mutants
from autograder.paths import CourseError, assignment_dir, course_root


def _toy_notebook(double: str = "2 * x") -> nbformat.NotebookNode:
    """``double`` with key ``return DOUBLE`` and its two tests, worth 60 and 40 points."""
    return notebook(double_cells(60, 40, body=double))


@pytest.fixture
def toy_course(tmp_path, monkeypatch):
    course = make_course(tmp_path, {"toy": _toy_notebook()})
    corpus = tmp_path / "toy.toml"
    corpus.write_text(TRIPLE + HARMLESS, encoding="utf-8")
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
