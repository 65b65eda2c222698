"""``adcourse demo``: the whole grading loop on a simulated class, offline, in a few minutes.

It copies the course into a work folder, builds every release, and submits for each assignment:

* ``ada``    the answer key (expects full marks),
* ``blaise`` the untouched release (expects 0),
* ``carl``, ``dora`` one typical mistake each from the assignment's corpus (expect partial marks),
* ``emmy``   the answer key with an infinite loop in its last solution cell (a timeout: the
  cells before it keep their points),
* ``fermat`` a corrupt notebook file (ungradable, 0, with the reason in the report);

then autogrades them in parallel, writes feedback and the reports, and prints the grade table.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .engine import Limits, autograde
from .mutants import apply_mutant, load_mutants
from .nbgrader_cli import NbgraderError, run_nbgrader
from .paths import REPO_ROOT, assignment_names, course_root, mutants_file
from .solutions import generate_solution

#: The simulated class: student -> what they submit.
STUDENTS = ("ada", "blaise", "carl", "dora", "emmy", "fermat")
EXPECTED = {
    "ada": "full marks",
    "blaise": "0",
    "carl": "partial (a typical mistake)",
    "dora": "partial (a typical mistake)",
    "emmy": "partial (timeout in the last solution cell)",
    "fermat": "0 (corrupt notebook)",
}


@dataclass
class DemoResult:
    """Where the demo worked and what every simulated student scored."""

    workdir: Path
    assignments: list[str]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> assignment -> score
    max_scores: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)

    def table(self) -> str:
        """The grade table: one row per student, one column per assignment."""
        width = max(len(a) for a in self.assignments)
        head = "student  " + "  ".join(a.rjust(width) for a in self.assignments) + "  expected"
        lines = [head, "-" * len(head)]
        for student in STUDENTS:
            cells = []
            for a in self.assignments:
                score = self.scores.get(student, {}).get(a)
                status = self.statuses.get(student, {}).get(a, "")
                text = "-" if score is None else f"{score:g}/{self.max_scores[a]:g}"
                if status and status != "graded":
                    text += "*"
                cells.append(text.rjust(width))
            lines.append(f"{student:<7}  " + "  ".join(cells) + f"  {EXPECTED[student]}")
        lines.append("* not graded to the end: see the report for the reason")
        return "\n".join(lines)


def _write(
    course: Path, student: str, assignment: str, files: dict[str, nbformat.NotebookNode | bytes]
) -> None:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            nbformat.write(content, folder / name)


def _with_infinite_loop(key: dict[str, nbformat.NotebookNode]) -> dict[str, nbformat.NotebookNode]:
    name, nb = next(iter(key.items()))
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))
    solutions = [
        c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    ]
    # The loop comes first, so nothing else in the cell runs and the tests of that cell fail.
    solutions[-1].source = "while True:  # the simulated student's bug\n    pass\n\n" + solutions[-1].source
    return {name: nb, **{k: v for k, v in key.items() if k != name}}


def simulate_class(course: Path, assignment: str) -> None:
    """Put the simulated class's submissions of ``assignment`` into ``course/submitted``."""
    key = generate_solution(assignment, course)
    release = {
        p.name: nbformat.read(p, as_version=4)
        for p in sorted((course / "release" / assignment).glob("*.ipynb"))
    }
    mutants = load_mutants(mutants_file(assignment)) if mutants_file(assignment).is_file() else []
    _write(course, "ada", assignment, key)
    _write(course, "blaise", assignment, release)
    for student, mutant in zip(("carl", "dora"), mutants[:2], strict=False):
        _write(
            course, student, assignment, {**key, mutant.notebook: apply_mutant(key[mutant.notebook], mutant)}
        )
    _write(course, "emmy", assignment, _with_infinite_loop(key))
    _write(course, "fermat", assignment, {name: b'{"cells": [ this is not json' for name in key})


def prepare_workdir(workdir: Path) -> Path:
    """A fresh copy of the course (config, header, sources) in ``workdir``; returns its course root."""
    if workdir.exists():
        shutil.rmtree(workdir)
    course = workdir / "course"
    course.mkdir(parents=True)
    src = course_root()
    for item in ("nbgrader_config.py", "header.ipynb"):
        shutil.copy2(src / item, course / item)
    shutil.copytree(src.parent / "assignments", workdir / "assignments")
    return course


def run_demo(
    workdir: Path = REPO_ROOT / "out" / "demo",
    assignments: list[str] | None = None,
    jobs: int | None = None,
    cell_timeout: int = 15,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Release, simulate, autograde, give feedback and report; return the scores."""
    from .feedback import write_class_feedback
    from .report import build_report

    course = prepare_workdir(workdir)
    names = assignments or assignment_names(course)
    result = DemoResult(workdir, names)
    for name in names:
        say(f"[{name}] building the release")
        run_nbgrader(course, "generate_assignment", name, "--force")
        simulate_class(course, name)
        say(f"[{name}] autograding {len(STUDENTS)} simulated students")
        run = autograde(course, name, jobs=jobs, limits=Limits(cell_timeout=cell_timeout))
        for status in run.statuses:
            result.scores.setdefault(status.student, {})[name] = status.score
            result.statuses.setdefault(status.student, {})[name] = status.status
            result.max_scores[name] = max(result.max_scores.get(name, 0.0), status.max_score)
        say(f"[{name}] writing feedback and the report")
        feedback = write_class_feedback(course, name)
        if feedback.failed:
            raise NbgraderError("\n".join(feedback.failed.values()))
        report = build_report(course, name)
        say(f"[{name}] report: {report.markdown}")
    return result
