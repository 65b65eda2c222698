"""Proof that every assignment's tests are right (see autograder.check):

the release builds without solutions or hidden tests; the answer key earns full marks; the blank
release earns 0; every typical mistake in tests/mutants/NAME.toml loses points where it should;
each assignment has at least 8 autograded tests worth 100 points and at least 6 typical mistakes.
"""

import pytest

from autograder.check import check_assignment
from autograder.mutants import load_mutants
from autograder.paths import assignment_names, course_root, mutants_file
from autograder.solutions import stale_solutions

ASSIGNMENTS = assignment_names(course_root())


def test_there_are_six_assignments() -> None:
    assert len(ASSIGNMENTS) == 6, ASSIGNMENTS


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_corpus_has_six_typical_mistakes(name: str) -> None:
    assert len(load_mutants(mutants_file(name))) >= 6


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_assignment_tests_are_right(name: str) -> None:
    result = check_assignment(name)
    print(result.summary())
    assert result.test_cells >= 8, result.summary()
    assert result.max_score == 100, result.summary()
    assert not result.release_problems, result.summary()
    assert result.key_score == result.max_score, result.summary()
    assert result.blank_score == 0, result.summary()
    assert result.mutation_score == 1.0, result.summary()


def test_answer_keys_are_fresh() -> None:
    stale = stale_solutions()
    assert not stale, f"solutions/ is stale for {stale}: run python -m autograder.solutions"
