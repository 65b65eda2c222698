"""Reading grades out of an nbgrader gradebook: per student, per autograded test cell."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CellScore:
    """The points one student got on one autograded test cell."""

    notebook: str
    cell: str
    score: float
    max_score: float


def cell_scores(db_path: Path, assignment: str) -> dict[str, dict[str, CellScore]]:
    """``{student: {"notebook/cell": CellScore}}`` for every autograded test cell of ``assignment``.

    Manually graded cells (written answers) are left out: they have no score until a person grades them.
    """
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, CellScore]] = {}
    with Gradebook(f"sqlite:///{db_path}") as gb:
        for submission in gb.assignment_submissions(assignment):
            cells: dict[str, CellScore] = {}
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.auto_score is None or grade.cell.cell_type != "code":
                        continue
                    score = grade.score
                    cells[f"{nb.name}/{grade.name}"] = CellScore(nb.name, grade.name, score, grade.max_score)
            out[submission.student.id] = cells
    return out
