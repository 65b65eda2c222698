"""``adcourse demo``: the whole grading loop on a simulated class, offline, in a few minutes.

It copies the kit's course into a work folder, releases every assignment in one step (student
versions, the exchange, the answer keys: nbgrader's own apps, run inside this process), and
submits for each assignment:

* ``ada``    the answer key (expects full marks),
* ``blaise`` the untouched release (expects 0),
* ``carl``, ``dora`` one typical mistake each from the assignment's corpus (expect partial marks),
* ``emmy``   the answer key with an infinite loop in its last solution cell (a timeout: the
  cells before it keep their points),
* ``fermat`` a corrupt notebook file (ungradable, 0, with the reason in the report);

then autogrades the class (one progress bar for all of it, each assignment's scores as soon as
it is graded), writes feedback and the reports, and returns the grade table.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .engine import Limits, SubmissionStatus, autograde_class
from .mutants import apply_mutant, load_mutants
from .nbgrader_cli import NbgraderError
from .paths import KIT_COURSE, REPO_ROOT, assignment_names, mutants_file
from .release import Releaser

#: The simulated class: student -> what they submit.
STUDENTS = ("ada", "blaise", "carl", "dora", "emmy", "fermat")
EXPECTED = {
    "ada": "full marks",
    "blaise": "0 (untouched release)",
    "carl": "partial (a typical mistake)",
    "dora": "partial (a typical mistake)",
    "emmy": "partial (timeout, last cell)",
    "fermat": "0 (corrupt notebook)",
}
#: The widest the grade table may be (a terminal of 100 columns).
TABLE_WIDTH = 100


def short_names(names: list[str]) -> dict[str, str]:
    """Column labels for the grade table: each name up to its first ``_`` (``a1_numerical`` -> ``a1``)
    when those are unique, else the names themselves."""
    short = {n: n.split("_", 1)[0] for n in names}
    return short if len(set(short.values())) == len(names) else {n: n for n in names}


@dataclass
class DemoResult:
    """Where the demo worked, what every simulated student scored, and how long each phase took."""

    workdir: Path
    assignments: list[str]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> assignment -> score
    max_scores: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # phase -> wall-clock seconds

    @property
    def course(self) -> Path:
        """The demo's course root (the folder to give ``adcourse lab --course``)."""
        return self.workdir / "course"

    def record(self, status: SubmissionStatus) -> None:
        """Keep one graded submission's score and status."""
        self.scores.setdefault(status.student, {})[status.assignment] = status.score
        self.statuses.setdefault(status.student, {})[status.assignment] = status.status
        self.max_scores[status.assignment] = max(
            self.max_scores.get(status.assignment, 0.0), status.max_score
        )

    def cell(self, student: str, assignment: str, out_of: bool = False) -> str:
        """The score (``score/max`` with ``out_of``), ``*`` when the submission did not run to the
        end; ``-`` if it was not graded."""
        score = self.scores.get(student, {}).get(assignment)
        if score is None:
            return "-"
        status = self.statuses.get(student, {}).get(assignment, "")
        text = f"{score:g}/{self.max_scores[assignment]:g}" if out_of else f"{score:g}"
        return text + ("*" if status and status != "graded" else "")

    def table(self) -> str:
        """The grade table: one row per student, one column per assignment (short labels, with a
        legend below; the maximum score in the row "out of"), at most :data:`TABLE_WIDTH` wide
        for the kit's six assignments."""
        labels = short_names(self.assignments)
        maxima = {a: f"{self.max_scores[a]:g}" if a in self.max_scores else "-" for a in self.assignments}
        widths = {
            a: max([len(labels[a]), len(maxima[a])] + [len(self.cell(s, a)) for s in STUDENTS])
            for a in self.assignments
        }

        def row(first: str, cells: dict[str, str], last: str = "") -> str:
            text = f"{first:<7}  " + "  ".join(cells[a].rjust(widths[a]) for a in self.assignments)
            return f"{text}  {last}".rstrip()

        head = row("student", labels, "expected")
        rows = [row(s, {a: self.cell(s, a) for a in self.assignments}, EXPECTED[s]) for s in STUDENTS]
        lines = [head, row("out of", maxima), "-" * max(len(r) for r in [head, *rows]), *rows]
        lines.append("* not graded to the end: the report says why. Scores are autograded points;")
        lines.append("  written answers are graded by hand (the formgrader) and count once graded.")
        legend = [f"{labels[a]} = {a}" for a in self.assignments if labels[a] != a]
        line = ""
        for item in legend:  # the legend, wrapped to the table's width
            if line and len(line) + 2 + len(item) > TABLE_WIDTH:
                lines.append(line + ",")
                line = item
            else:
                line = f"{line}, {item}" if line else item
        if line:
            lines.append(line)
        return "\n".join(lines)

    def line(self, assignment: str) -> str:
        """One assignment's scores on one line, as printed when it is graded."""
        return f"{assignment}: " + ", ".join(f"{s} {self.cell(s, assignment, out_of=True)}" for s in STUDENTS)


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


def simulate_class(course: Path, assignment: str, key: dict[str, nbformat.NotebookNode]) -> None:
    """Put the simulated class's submissions of ``assignment`` into ``course/submitted``.

    ``key``: the answer key's notebooks; the release is read from ``course/release/``.
    """
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
    """A fresh copy of the kit's course (config, header, sources) in ``workdir``; its course root."""
    if workdir.exists():
        shutil.rmtree(workdir)
    course = workdir / "course"
    course.mkdir(parents=True)
    for item in ("nbgrader_config.py", "header.ipynb"):
        shutil.copy2(KIT_COURSE / item, course / item)
    shutil.copytree(KIT_COURSE.parent / "assignments", workdir / "assignments")
    return course


def release_class(course: Path, names: list[str]) -> None:
    """Release every assignment (student version, exchange, answer key) and submit the class's work."""
    releaser = Releaser(course)
    for name in names:
        releaser.generate(name)
        releaser.publish(name)
        simulate_class(course, name, releaser.solution(name))


def run_demo(
    workdir: Path = REPO_ROOT / "out" / "demo",
    assignments: list[str] | None = None,
    jobs: int | None = None,
    cell_timeout: int = 15,
    say: Callable[[str], None] = print,
    on_graded: Callable[[SubmissionStatus], None] | None = None,
) -> DemoResult:
    """Release, simulate, autograde, give feedback and report; return the scores.

    ``say`` gets one line per phase and one per assignment as soon as it is graded (its scores);
    ``on_graded`` is called with every submission's status as it is recorded (a progress bar).
    """
    course = prepare_workdir(workdir)
    names = assignments or assignment_names(course)
    result = DemoResult(workdir, names)
    total = len(names) * len(STUDENTS)

    start = time.perf_counter()
    say(f"releasing {len(names)} assignment(s) and submitting {len(STUDENTS)} simulated students' work")
    release_class(course, names)
    result.seconds["release"] = time.perf_counter() - start
    say(f"released in {result.seconds['release']:.0f} s; autograding {total} submissions")

    start = time.perf_counter()
    limits = Limits(cell_timeout=cell_timeout)

    # All assignments are graded in one pool of workers (the engine mixes them); as soon as an
    # assignment's last submission is recorded, its feedback and report are written in a thread
    # while the others grade: this process and a core are free most of that time.
    left = dict.fromkeys(names, len(STUDENTS))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-feedback") as writer:
        written = []

        def graded(status: SubmissionStatus) -> None:
            result.record(status)
            if on_graded is not None:
                on_graded(status)
            left[status.assignment] -= 1
            if left[status.assignment] == 0:
                say(result.line(status.assignment))
                written.append(writer.submit(_feedback_and_report, course, status.assignment))

        autograde_class(course, names, jobs=jobs, limits=limits, on_graded=graded, feedback=True)
        result.seconds["autograde"] = time.perf_counter() - start
        start = time.perf_counter()
        if not all(f.done() for f in written):
            say(f"writing the last feedback and report(s) ({total} submissions in all)")
        for future in written:
            future.result()
    result.seconds["feedback and reports after grading"] = time.perf_counter() - start
    return result


def _feedback_and_report(course: Path, name: str) -> None:
    """Every student's feedback and the report of one assignment; NbgraderError if a feedback fails."""
    from .class_feedback import write_class_feedback
    from .report import build_report

    feedback = write_class_feedback(course, name)
    if feedback.failed:
        raise NbgraderError("\n".join(feedback.failed.values()))
    build_report(course, name)
