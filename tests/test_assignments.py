"""Proof that every assignment's tests are right (see autograder.check):

the release builds without solutions, hidden tests or the key's answer lines; the answer key's
trusted run agrees with every expected value and no test computes one where the student's kernel
runs it; graded by the engine, the answer key earns full marks, the blank release 0, and every
typical mistake in tests/mutants/NAME.toml loses points where it should; stock nbgrader gives the
key, the blank release and a spread of the mistakes the same points per test (stock nbgrader grades
one notebook at a time: `adcourse check --stock` compares every submission); every requirement of
the assignment's table has a test and a caught mistake; each assignment has at least 8 autograded
tests worth 100 points and at least 6 typical mistakes.
"""

import nbformat
import pytest

from autograder.check import check_assignment
from autograder.mutants import load_mutants
from autograder.paths import assignment_names, course_root, mutants_file
from autograder.solutions import stale_solutions

ASSIGNMENTS = assignment_names(course_root())
#: How many of an assignment's typical mistakes stock nbgrader grades too, next to the key and blank.
STOCK_MISTAKES = 6


def test_there_are_six_assignments() -> None:
    assert len(ASSIGNMENTS) == 6, ASSIGNMENTS


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_corpus_has_six_typical_mistakes(name: str) -> None:
    assert len(load_mutants(mutants_file(name))) >= 6


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_assignment_tests_are_right(name: str) -> None:
    result = check_assignment(name, compare_stock=STOCK_MISTAKES)
    print(result.summary())
    assert result.test_cells >= 8, result.summary()
    assert result.max_score == 100, result.summary()
    assert not result.release_problems, result.summary()
    assert not result.key_problems, result.summary()
    assert result.key_score == result.max_score, result.summary()
    assert result.blank_score == 0, result.summary()
    assert result.mutation_score == 1.0, result.summary()
    assert not result.requirement_problems, result.summary()
    assert result.compared_with_stock and not result.stock_differences, result.summary()
    assert result.ok


def test_answer_keys_are_fresh() -> None:
    stale = stale_solutions()
    assert not stale, f"solutions/ is stale for {stale}: run python -m autograder.solutions"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_written_answers_read_as_answers(name: str) -> None:
    """A written answer's source cell is the answer alone: nbgrader replaces a markdown solution
    cell whole in the release, so region delimiters would only show up, as a "BEGIN SOLUTION"
    heading, in the answer key and in the demo's submissions the formgrader displays."""
    sources = sorted((course_root().parent / "assignments" / name).glob("*.ipynb"))
    written = [
        (path.name, cell.metadata["nbgrader"]["grade_id"], cell.source)
        for path in sources
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution")
    ]
    assert written, f"{name} has no written answer"
    for notebook, grade_id, source in written:
        assert source.strip(), f"{notebook}:{grade_id} has an empty answer"
        assert "SOLUTION" not in source, f"{notebook}:{grade_id} keeps nbgrader delimiters"
