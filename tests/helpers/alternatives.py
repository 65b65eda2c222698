"""Grading correct alternatives and one-task slips of an assignment (tests/test_aN_alternatives.py).

Each case is the answer key with one solution cell edited, graded in one ``check_assignment`` run
as the typical mistakes are: a correct alternative must lose nothing, a slip only the points of
its own task's test.
"""

from __future__ import annotations

from autograder.check import AssignmentCheck


def lost(result: AssignmentCheck, name: str) -> dict[str, float]:
    """``{test cell: points lost}`` of the graded case ``name``."""
    (found,) = [m for m in result.mutants if m.mutant.name == name]
    return {cell.rsplit("/", 1)[-1]: points for cell, points in found.lost.items()}
