"""The demo's release step: in-process nbgrader (adcourse) vs one nbgrader command per step.

Workload: every assignment of the kit, in two fresh copies of the course. The peer is what the
demo did before: per assignment ``nbgrader generate_assignment NAME --force`` in the course, then
``autograder.solutions.generate_solution`` (a scratch course, ``nbgrader generate_assignment`` and
``nbgrader generate_solution``, which executes the answer key in a kernel): three Python
processes and one kernel per assignment. The kit's way is :func:`autograder.demo.release_class`
without the simulated class: :class:`autograder.release.Releaser` runs ``generate_assignment``,
``release_assignment`` (the exchange; the peer has none) and ``generate_solution`` without
executing the key, all inside one process.

Before any time is reported both must produce the same student versions and the same answer
keys (cell sources; the peer's key also has outputs), else ``BenchmarkMismatch``.

Not part of ``run_all.py``: it takes a minute or more.

    .venv/bin/python benchmarks/bench_demo_release.py [--out benchmarks/DEMO_RELEASE.md]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from _report import Table, machine_info, write_results

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from autograder.nbgrader_cli import run_nbgrader  # noqa: E402
from autograder.paths import KIT_COURSE, assignment_names  # noqa: E402
from autograder.release import Releaser  # noqa: E402
from autograder.solutions import generate_solution  # noqa: E402

METHOD = (
    "Written by `python benchmarks/bench_demo_release.py`: one wall-clock run of each way on a fresh "
    "copy of the course, the peer first (see the script's docstring)."
)


class BenchmarkMismatch(AssertionError):
    """The two ways released different notebooks: no time is reported."""


def _copy(dest: Path) -> Path:
    course = dest / "course"
    course.mkdir(parents=True)
    for item in ("nbgrader_config.py", "header.ipynb"):
        shutil.copy2(KIT_COURSE / item, course / item)
    shutil.copytree(KIT_COURSE.parent / "assignments", dest / "assignments")
    return course


def _sources(notebooks: dict[str, nbformat.NotebookNode]) -> dict[str, list[str]]:
    return {name: [c.source for c in nb.cells] for name, nb in notebooks.items()}


def _release(course: Path, name: str) -> dict[str, list[str]]:
    folder = course / "release" / name
    return _sources({p.name: nbformat.read(p, as_version=4) for p in sorted(folder.glob("*.ipynb"))})


def measure(tmp: Path) -> tuple[float, float, int]:
    """(peer seconds, kit seconds, assignments), after checking both made the same notebooks."""
    names = assignment_names(KIT_COURSE)
    peer_course, kit_course = _copy(tmp / "peer"), _copy(tmp / "kit")
    start = time.perf_counter()
    peer_keys = {}
    for name in names:
        run_nbgrader(peer_course, "generate_assignment", name, "--force")
        peer_keys[name] = _sources(generate_solution(name, peer_course))
    peer = time.perf_counter() - start
    start = time.perf_counter()
    releaser, kit_keys = Releaser(kit_course), {}
    for name in names:
        releaser.generate(name)
        releaser.publish(name)
        kit_keys[name] = _sources(releaser.solution(name))
    kit = time.perf_counter() - start
    for name in names:
        if _release(peer_course, name) != _release(kit_course, name):
            raise BenchmarkMismatch(f"the student versions of {name} differ")
        if peer_keys[name] != kit_keys[name]:
            raise BenchmarkMismatch(f"the answer keys of {name} differ")
    return peer, kit, len(names)


def main(argv: list[str] | None = None) -> None:
    """Command line: ``[--out FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "DEMO_RELEASE.md")
    args = parser.parse_args(argv)
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="bench-demo-release-") as tmp:
        peer, kit, n = measure(Path(tmp))
    table = Table(
        f"Releasing the kit's {n} assignments for the demo: in-process nbgrader vs a command per step",
        ["assignments", "one nbgrader command per step s", "in-process (adcourse) s", "speed-up"],
        [[str(n), f"{peer:.1f}", f"{kit:.1f}", f"{peer / kit:.1f}x"]],
        notes=[
            "Same student versions and the same answer-key cells from both ways before any time was "
            "reported; the in-process way also releases every assignment to the course's exchange.",
            "The peer runs three Python processes per assignment and executes the answer key in a "
            "kernel (nbgrader generate_solution); the grader executes every submission anyway.",
        ],
    )
    print(write_results(args.out, [table], info, False, METHOD))


if __name__ == "__main__":
    main()
