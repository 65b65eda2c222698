"""An assignment's requirements table: what the task text asks of a student, and the tests that check it.

``assignments/<name>/requirements.toml`` (never released) holds one ``[[requirement]]`` table per
thing the task text asks of a student::

    [[requirement]]
    id = "add-number-either-side"            # short id: lowercase letters, digits, dashes
    text = "x + 2 and 2 + x work; a number is a constant (tangent 0)"
    tests = ["test-add"]                     # grade ids of the test cells that check it

``adcourse check`` fails when a requirement names no test cell, names a test cell the assignment
does not have, or when no typical mistake in ``tests/mutants/<name>.toml`` violates it (a mutant
says so with ``violates = ["add-number-either-side"]``) and is caught.

The check also fails when the release shows a line of the key's answers outside the answer cells
(in a docstring, a comment, a test). Lines the task gives on purpose are listed at the top::

    shown = ["pre_act = w * 3 + b"]          # given in the task text: not a giveaway
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .mutants import Mutant

#: The requirements table's file name, next to the assignment's notebooks.
REQUIREMENTS_FILE = "requirements.toml"

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class RequirementError(ValueError):
    """A requirements table that is not well formed."""


@dataclass(frozen=True)
class Requirement:
    """One thing the task text asks, and the test cells that check it."""

    id: str
    text: str
    tests: tuple[str, ...]


def load_requirements(path: Path) -> list[Requirement]:
    """Read a requirements table; every entry is checked, ids are unique."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RequirementError(f"{path} is not valid TOML: {exc}") from exc
    found = []
    for i, entry in enumerate(data.get("requirement", [])):
        missing = {"id", "text", "tests"} - set(entry)
        if missing:
            raise RequirementError(f"{path}: requirement #{i + 1} lacks {', '.join(sorted(missing))}")
        if not isinstance(entry["id"], str) or not _ID.match(entry["id"]):
            raise RequirementError(
                f"{path}: requirement id {entry['id']!r} must be lowercase letters, digits, dashes"
            )
        tests = entry["tests"]
        if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
            raise RequirementError(f"{path}: requirement {entry['id']!r}: tests must be a list of grade ids")
        found.append(Requirement(entry["id"], str(entry["text"]), tuple(tests)))
    ids = [r.id for r in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RequirementError(f"{path}: duplicate requirement ids {duplicates}")
    return found


def load_shown(path: Path) -> list[str]:
    """The key's lines the task shows on purpose (``shown = [...]``), if the table lists any."""
    data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    shown = data.get("shown", [])
    if not isinstance(shown, list) or not all(isinstance(line, str) for line in shown):
        raise RequirementError(f"{path}: shown must be a list of lines")
    return shown


def coverage_problems(
    requirements: Sequence[Requirement],
    test_cells: Iterable[str],
    mutants: Sequence[Mutant],
    caught: Iterable[str] = (),
) -> list[str]:
    """What the table fails to prove: requirements without a test or without a caught mistake
    that violates them, tests it names that do not exist, mutants violating unknown requirements.
    ``caught`` names the mutants the tests caught."""
    cells = set(test_cells)
    caught_names = set(caught)
    ids = {r.id for r in requirements}
    problems = []
    if not requirements:
        problems.append("the requirements table lists no requirement")
    for r in requirements:
        if not r.tests:
            problems.append(f"requirement {r.id!r} names no test cell")
        for t in r.tests:
            if t not in cells:
                problems.append(f"requirement {r.id!r} names {t!r}, which is not an autograded test cell")
        violators = [m for m in mutants if r.id in m.violates]
        if not violators:
            problems.append(f"no typical mistake in the corpus violates requirement {r.id!r}")
        elif not any(m.name in caught_names for m in violators):
            problems.append(f"no mistake that violates requirement {r.id!r} is caught")
    for m in mutants:
        for v in m.violates:
            if v not in ids:
                problems.append(
                    f"mutant {m.name!r} violates {v!r}, which the requirements table does not list"
                )
    return problems
