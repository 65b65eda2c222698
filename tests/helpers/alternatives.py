"""Grading correct alternatives and one-task slips of an assignment (tests/test_aN_alternatives.py).

Each case is the answer key with one solution cell edited (:func:`case`), graded in one
``check_assignment(name, mutants=cases)`` run as the typical mistakes are: a correct alternative
must lose nothing, a slip only the points of its own task's tests.
"""

from __future__ import annotations

from autograder.check import AssignmentCheck
from autograder.mutants import Mutant


def case(notebook: str, name: str, cell: str, find: str, replace: str) -> Mutant:
    """The answer key of ``notebook`` with ``find`` replaced by ``replace`` in the cell ``cell``."""
    return Mutant(name, name, notebook, cell, find, replace, ("none",))


def lost(result: AssignmentCheck, name: str) -> dict[str, float]:
    """``{test cell: points lost}`` of the graded case ``name``."""
    (found,) = [m for m in result.mutants if m.mutant.name == name]
    return {cell.rsplit("/", 1)[-1]: points for cell, points in found.lost.items()}


def assert_key_full(result: AssignmentCheck) -> None:
    """The answer key earned all 100 points in the run."""
    assert result.key_score == result.max_score == 100, result.summary()


def assert_loses_nothing(result: AssignmentCheck, name: str) -> None:
    """The correct alternative ``name`` kept every point."""
    assert lost(result, name) == {}, result.summary()


def assert_loses_only(result: AssignmentCheck, name: str, cells: str | set[str]) -> None:
    """The slip ``name`` lost points in ``cells`` (one test cell or a set of them) and nowhere else."""
    assert set(lost(result, name)) == ({cells} if isinstance(cells, str) else set(cells)), result.summary()
