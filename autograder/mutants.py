"""The corpus of typical wrong submissions: each one is the answer key with one edit.

A corpus is a TOML file ``tests/mutants/<assignment>.toml`` with one ``[[mutant]]`` table per
mistake::

    [[mutant]]
    name = "cos-sign"                      # short id, used as the simulated student's name
    description = "a sign error in cos'"   # what a student got wrong
    notebook = "forward_mode.ipynb"        # which notebook of the assignment
    cell = "forward-diff"                  # grade_id of the solution cell to edit
    find = "-np.sin(self.value)"           # text that must occur in that cell ...
    replace = "np.sin(self.value)"         # ... and what it becomes
    loses = ["test-cos"]                   # grade_ids of the test cells that must lose points
    violates = ["sin-cos-tangents"]        # ids of the requirements it breaks (requirements.toml)
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class MutantError(ValueError):
    """A corpus entry that cannot be applied (bad name, cell not found, text not found)."""


@dataclass(frozen=True)
class Mutant:
    """One typical mistake, as an edit of the answer key."""

    name: str
    description: str
    notebook: str
    cell: str
    find: str
    replace: str
    loses: tuple[str, ...]
    violates: tuple[str, ...] = ()

    @property
    def student(self) -> str:
        """The simulated student who submits this mistake."""
        return f"mutant-{self.name}"


def load_mutants(path: Path) -> list[Mutant]:
    """Read a corpus file; every entry is validated, names are unique."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = data.get("mutant", [])
    mutants = []
    for i, entry in enumerate(entries):
        missing = {"name", "description", "notebook", "cell", "find", "replace", "loses"} - entry.keys()
        if missing:
            raise MutantError(f"{path}: mutant #{i + 1} lacks {', '.join(sorted(missing))}")
        if not _NAME.match(entry["name"]):
            raise MutantError(
                f"{path}: mutant name {entry['name']!r} must be lowercase letters, digits and dashes"
            )
        if not entry["loses"]:
            raise MutantError(f"{path}: mutant {entry['name']!r} names no test cell that must catch it")
        mutants.append(
            Mutant(
                entry["name"],
                entry["description"],
                entry["notebook"],
                entry["cell"],
                entry["find"],
                entry["replace"],
                tuple(entry["loses"]),
                tuple(entry.get("violates", ())),
            )
        )
    names = [m.name for m in mutants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MutantError(f"{path}: duplicate mutant names {duplicates}")
    return mutants


def apply_mutant(key: nbformat.NotebookNode, mutant: Mutant) -> nbformat.NotebookNode:
    """A copy of the answer-key notebook with the mutant's edit made in its solution cell."""
    nb = copy.deepcopy(key)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == mutant.cell:
            if mutant.find not in cell.source:
                raise MutantError(
                    f"mutant {mutant.name!r}: the text to replace is not in cell {mutant.cell!r}"
                )
            cell.source = cell.source.replace(mutant.find, mutant.replace, 1)
            return nb
    raise MutantError(f"mutant {mutant.name!r}: no cell with grade_id {mutant.cell!r}")
