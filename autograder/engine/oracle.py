"""The answer key's trusted run: what every test cell's checks observe on the key.

Once per assignment (and again whenever the assignment, the kit or the machine's numeric
libraries change), the assignment's source notebooks, answers included, run through the same
sanitize steps and tests as a submission, in a kernel that sees the whole reference library and
in which checks run in ``reference`` mode (:mod:`adlib.grading.checks`): each check records the
key's value with its kind, tolerance and hint, and whether the key agrees with the expected value
written in the test. The result, a :class:`~.verdicts.NotebookOracle` per notebook, travels with
the assignment's bundle to every worker; students' runs are compared with it
(:mod:`.verdicts`). It is cached by a digest of everything it depends on (:func:`digest`), in
``$ADCOURSE_CACHE`` (default ``~/.cache/adcourse``), so an unchanged assignment is run once.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..paths import CourseError
from .execute import execute, fail_unfinished_tests
from .limits import Limits
from .prepare import read_notebook, sanitize
from .sandbox import KernelView
from .status import write_atomic
from .verdicts import KeyCell, NotebookOracle, error_summary, grade_id, is_test_cell

#: Bumped whenever what an observation holds changes (old cached runs are then not used).
FORMAT = 1


def cache_dir() -> Path:
    """Where answer-key runs are cached."""
    return Path(os.environ.get("ADCOURSE_CACHE") or Path.home() / ".cache" / "adcourse") / "oracles"


def _source_digest(package: str) -> str:
    import importlib.util

    spec = importlib.util.find_spec(package)
    h = hashlib.sha256()
    for folder in spec.submodule_search_locations or () if spec else ():
        for path in sorted(Path(folder).rglob("*.py")):
            h.update(str(path.relative_to(folder)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _versions() -> dict[str, str]:
    found = {"python": sys.version, "machine": platform.machine()}
    for name in ("numpy", "torch", "sympy", "scipy"):
        try:
            from importlib.metadata import version

            found[name] = version(name)
        except Exception:
            found[name] = "-"
    return found


def digest(
    assignment: str,
    key: Mapping[str, bytes],
    tests: Mapping[str, Mapping[str, str]],
    files: Mapping[str, bytes],
    limits: Limits,
    config: Mapping[str, Any],
) -> str:
    """A digest of everything the key's run depends on: the key's notebooks, the test cells as the
    gradebook holds them, the assignment's files, the limits, the course config, adlib's and this
    package's sources, and the numeric libraries' versions."""
    h = hashlib.sha256()
    payload = {
        "format": FORMAT,
        "assignment": assignment,
        "tests": {nb: dict(sorted(cells.items())) for nb, cells in sorted(tests.items())},
        "limits": repr(limits),
        "config": json.dumps(config, sort_keys=True, default=repr),
        "versions": _versions(),
        "adlib": _source_digest("adlib"),
        "autograder": _source_digest("autograder"),
    }
    h.update(json.dumps(payload, sort_keys=True).encode())
    for name, data in sorted({**{f"key/{k}": v for k, v in key.items()}, **files}.items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def test_sources(db_url: str, assignment: str, notebooks: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``{notebook: {grade_id: source}}`` of the test cells recorded in a gradebook."""
    from nbgrader.api import Gradebook

    out: dict[str, dict[str, str]] = {}
    with Gradebook(db_url) as gb:
        for name in notebooks:
            nb = gb.find_notebook(name, assignment)
            out[name] = {c.name: c.source for c in nb.source_cells}
    return out


def _to_json(oracle: Mapping[str, NotebookOracle]) -> dict[str, Any]:
    return {
        name: {
            gid: {"observations": list(cell.observations), "error": cell.error}
            for gid, cell in nb.cells.items()
        }
        for name, nb in oracle.items()
    }


def _from_json(data: Any) -> dict[str, NotebookOracle]:
    if not isinstance(data, dict):
        raise ValueError("not an oracle")
    out = {}
    for name, cells in data.items():
        out[name] = NotebookOracle(
            {gid: KeyCell(tuple(c["observations"]), str(c["error"])) for gid, c in cells.items()}
        )
        for cell in out[name].cells.values():
            cell.parsed()  # every observation must read back
    return out


def key_limits(limits: Limits) -> Limits:
    """The limits of the key's trusted run: the course's, with at least the default time limits (a
    course may give students tight ones; the reference must not fail for a slow machine)."""
    base = Limits()
    return replace(
        limits,
        cell_timeout=max(limits.cell_timeout, base.cell_timeout),
        notebook_timeout=max(limits.notebook_timeout, base.notebook_timeout),
        cpu_seconds=max(limits.cpu_seconds, base.cpu_seconds),
    )


def run_key(
    assignment: str,
    key: Mapping[str, bytes],
    gradebook: bytes,
    files: Mapping[str, bytes],
    limits: Limits,
    config: Any,
) -> dict[str, NotebookOracle]:
    """Run the answer key's notebooks (``{notebook: bytes}``) in trusted kernels; their oracle."""
    oracle = {}
    with tempfile.TemporaryDirectory(prefix=f"adkey-{assignment}-") as tmp:
        root = Path(tmp)
        db = root / "gradebook.db"
        db.write_bytes(gradebook)
        source = root / "files"
        source.mkdir()
        for rel, data in files.items():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            (source / rel).write_bytes(data)
        for name, raw in key.items():
            nb = read_notebook(raw)
            resources: dict[str, Any] = {
                "nbgrader": {
                    "notebook": name,
                    "assignment": assignment,
                    "student": "answer-key",
                    "db_url": f"sqlite:///{db}",
                },
                "metadata": {"path": str(root / f"work-{name}")},
            }
            nb = sanitize(nb, resources, config)
            run = execute(
                nb,
                resources,
                limits,
                name,
                root / f"kernel-{name}",
                KernelView("reference"),
                config=config,
                source=source,
            )
            if run.first is not None:
                fail_unfinished_tests(nb, run.first, run.status)
            cells = {}
            for index, cell in enumerate(nb.cells):
                if is_test_cell(cell):
                    stream = run.collector.streams.get(index)
                    error = error_summary(cell.get("outputs", []))
                    if stream is not None and stream.malformed:
                        error = error or stream.malformed
                    cells[grade_id(cell)] = KeyCell(tuple(stream.raw) if stream else (), error)
            oracle[name] = NotebookOracle(cells)
    return oracle


def problems(oracle: Mapping[str, NotebookOracle]) -> list[str]:
    """What makes the key's run unfit to grade with: a test the key fails, or one that checks nothing."""
    found = []
    for name, nb in oracle.items():
        for gid, cell in nb.cells.items():
            if cell.error:
                found.append(f"{name}/{gid}: the answer key fails it ({cell.error[:300]})")
            elif not cell.observations:
                found.append(f"{name}/{gid}: it records no checks (a test must call a check)")
    return found


def disagreements(oracle: Mapping[str, NotebookOracle]) -> list[str]:
    """Checks where the key's value differs from the expected value written in the test."""
    found = []
    for name, nb in oracle.items():
        for gid, cell in nb.cells.items():
            for obs in cell.parsed():
                if not obs.agree:
                    found.append(f"{name}/{gid}: {obs.label}: {obs.detail}")
    return found


def oracle_for(
    assignment: str,
    key: Mapping[str, bytes],
    gradebook: bytes,
    db_url: str,
    notebooks: tuple[str, ...],
    files: Mapping[str, bytes],
    limits: Limits,
    config: Any,
) -> dict[str, NotebookOracle]:
    """The key's oracle, from the cache when nothing it depends on changed, else run now.

    Raises :class:`~autograder.paths.CourseError` when the key cannot serve as the reference
    (:func:`problems`).
    """
    limits = key_limits(limits)
    plain_config = {k: dict(v) for k, v in config.items() if isinstance(v, dict)} if config else {}
    name = digest(assignment, key, test_sources(db_url, assignment, notebooks), files, limits, plain_config)
    path = cache_dir() / f"{assignment}-{name[:32]}.json"
    oracle = None
    if path.is_file() and os.environ.get("ADCOURSE_ORACLE_CACHE", "1") != "0":
        try:
            oracle = _from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError):
            oracle = None
    if oracle is None:
        oracle = run_key(assignment, key, gradebook, files, limits, config)
        found = problems(oracle)
        if found:
            raise CourseError(
                f"the answer key of {assignment} cannot grade: "
                + "; ".join(found[:5])
                + (f" (and {len(found) - 5} more)" if len(found) > 5 else "")
                + f"; see `adcourse check {assignment}`"
            )
        write_atomic(path, json.dumps(_to_json(oracle)).encode("utf-8"))
    return oracle
