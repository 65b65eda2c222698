"""Grading one submission: nbgrader's sanitize and execute steps, a verdict per test, no gradebook writes.

``grade_submission`` is a pure function of picklable values, so it runs the same in a local
process pool or as a task on a cluster. For each notebook it reads the assignment's definition
from the bundle's gradebook snapshot (a private copy in a scratch folder), restores every locked
and test cell from it (nbgrader's ``OverwriteCells``), takes the answers out of the test cells
(:mod:`.testcode`), runs the notebook in a sandboxed kernel that has no reference implementation
(:mod:`.execute`, :mod:`.packages`), puts the whole test cells back and decides every test cell
by comparing what its checks observed with the answer key's run (:mod:`.verdicts`). It returns the
executed notebooks with their scores; the caller records them.

Files of a submission that could take the place of a module the kernel imports (a name the
kernel can import, compiled Python, ``sitecustomize``, ``.pth`` files) are refused: they are not
copied into the sandbox, and the result lists them with the reason.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import nbformat

from . import pipeline
from .execute import classify_run, execute, fail_unfinished_tests
from .prepare import read_notebook, sanitize
from .results import NotebookResult, SubmissionResult
from .sandbox import KernelView, check_sandbox
from .testcode import strip_cells
from .verdicts import NotebookOracle, apply_verdicts, grade_id, is_test_cell

if TYPE_CHECKING:
    from .bundle import AssignmentBundle

#: Suffixes of files that Python or the loader would run or import instead of a module.
_REFUSED_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".pth", ".egg-link", ".dylib")
_REFUSED_NAMES = ("sitecustomize.py", "usercustomize.py", "__pycache__")


def _safe_relative(name: str) -> bool:
    path = PurePosixPath(name)
    return not path.is_absolute() and ".." not in path.parts and name not in ("", ".")


def _importable_names() -> set[str]:
    """Top-level module names a kernel could import: the standard library, installed packages, adlib."""
    import pkgutil

    names = set(sys.stdlib_module_names) | set(sys.builtin_module_names)
    names.update(m.name for m in pkgutil.iter_modules())
    from .packages import HIDDEN_PACKAGES

    return names | {name for group in HIDDEN_PACKAGES.values() for name in group}


def refusal(rel: str, importable: set[str]) -> str | None:
    """Why the submitted file ``rel`` is not put in the sandbox, or None when it may be."""
    path = PurePosixPath(rel)
    if any(part in _REFUSED_NAMES for part in path.parts):
        return "Python would run it at start-up or import it instead of a module"
    if path.suffix.lower() in _REFUSED_SUFFIXES:
        return "compiled or path-changing files cannot be graded"
    top = path.parts[0]
    stem = top[: -len(".py")] if top.endswith(".py") and len(path.parts) == 1 else top
    if (len(path.parts) > 1 or top.endswith(".py")) and stem in importable:
        return f"it has the name of the module {stem!r}: it could be imported in that module's place"
    return None


def _zero_scores(bundle_db: str, assignment: str, notebook: str) -> dict[str, tuple[float | None, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(bundle_db) as gb:
        nb = gb.find_notebook(notebook, assignment)
        return {
            cell.name: (0.0, float(cell.max_score)) for cell in nb.grade_cells if cell.cell_type == "code"
        }


def _scores(nb: nbformat.NotebookNode) -> dict[str, tuple[float | None, float]]:
    from nbgrader import utils

    out = {}
    for cell in nb.cells:
        if utils.is_grade(cell) and cell.cell_type == "code":
            out[cell.metadata["nbgrader"]["grade_id"]] = utils.determine_grade(cell)
    return out


def hidden_from(nb: Any, config: Any) -> int | None:
    """The index of the first test cell holding hidden tests (nbgrader's hidden-test delimiter)."""
    delimiter = "BEGIN HIDDEN TESTS"
    if config is not None:
        delimiter = config.get("ClearHiddenTests", {}).get("begin_test_delimeter", delimiter)
    for index, cell in enumerate(nb.cells):
        if is_test_cell(cell) and delimiter in cell.get("source", ""):
            return index
    return None


def strip_tests(nb: Any) -> dict[int, str]:
    """Replace every test cell's code by what a student's kernel may run of it
    (:func:`~.testcode.strip_cells`); returns the original sources by cell index."""
    tests = [(i, cell) for i, cell in enumerate(nb.cells) if is_test_cell(cell)]
    stripped = strip_cells([(grade_id(cell) or str(i), cell.source) for i, cell in tests])
    originals = {}
    for i, cell in tests:
        originals[i] = cell.source
        cell.source = stripped[grade_id(cell) or str(i)].source
    return originals


def _grade_notebook(
    bundle: AssignmentBundle,
    student: str,
    name: str,
    raw: bytes | None,
    db_url: str,
    source: Path,
    root: Path,
) -> NotebookResult:
    zero = _zero_scores(db_url, bundle.assignment, name)
    if raw is None:
        return NotebookResult(name, None, zero, "missing notebook", f"no {name}.ipynb was submitted")
    try:
        nb = read_notebook(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.ValidationError, ValueError) as exc:
        reason = f"{name}.ipynb is not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})"
        return NotebookResult(name, None, zero, "unreadable notebook", reason)

    config = bundle.nbgrader_config()
    workdir = root / f"work-{name}"
    resources: dict[str, Any] = {
        "nbgrader": {"notebook": name, "assignment": bundle.assignment, "student": student, "db_url": db_url},
        "metadata": {"path": str(workdir)},
    }
    try:
        nb = sanitize(nb, resources, config)
        first_hidden = hidden_from(nb, config)
        originals = strip_tests(nb)
    except Exception as exc:  # a notebook nbgrader cannot sanitize is ungradable, not a crash
        reason = f"{name}.ipynb could not be prepared for grading ({type(exc).__name__}: {str(exc)[:200]})"
        return NotebookResult(name, None, zero, "unreadable notebook", reason)

    from ..integrity.audit import NotebookAudit

    runtime = root / f"kernel-{name}"
    policy = bundle.integrity
    instructor = {grade_id(nb.cells[i]): nb.cells[i].source for i in originals}
    audit = NotebookAudit.start(
        nb, policy, name, db_url, bundle.assignment, workdir, bundle.limits.sandbox, instructor
    )
    view = KernelView.student(runtime, policy.kernel_modules(name), policy.kernel_packages(name))
    try:
        run = execute(
            nb,
            resources,
            bundle.limits,
            name,
            runtime,
            view,
            monitor=audit.monitor,
            config=config,
            source=source,
            hidden_from=first_hidden,
        )
    finally:
        findings = audit.finish()
    for i, text in originals.items():  # the graded notebook holds the whole tests, as stock nbgrader's
        nb.cells[i].source = text
    status, detail = run.status, run.detail
    if run.first is not None:
        fail_unfinished_tests(nb, run.first, status)
    elif status == "graded":
        status, detail = classify_run(nb)
    after = pipeline.build(
        pipeline.AFTER_EXECUTE, config, LimitOutput={"max_lines": bundle.limits.output_lines}
    )
    nb, resources = pipeline.run(after, nb, resources)
    apply_verdicts(nb, bundle.oracle.get(name, NotebookOracle()), run.collector.streams)
    return NotebookResult(name, nbformat.writes(nb), _scores(nb), status, detail, findings)


def grade_submission(
    bundle: AssignmentBundle, student: str, files: dict[str, bytes], timestamp: str | None = None
) -> SubmissionResult:
    """Grade one student's submitted files (``{relative path: bytes}``) against ``bundle``, with
    the tamper check of ``bundle.integrity`` (its findings are in the result; they change no score).

    Raises :class:`~.sandbox.SandboxUnavailable` when the limits ask for the sandbox and it cannot
    run on this machine: a submission is never graded unsandboxed by accident.
    """
    check_sandbox(bundle.limits)
    importable = _importable_names()
    refused = {}
    with tempfile.TemporaryDirectory(prefix=f"adgrade-{student}-") as tmp:
        root = Path(tmp)
        db_path = root / "gradebook.db"
        db_path.write_bytes(bundle.gradebook)
        db_url = f"sqlite:///{db_path}"
        source = root / "submission"
        source.mkdir()
        # The kernel's folder gets the student's files, the assignment's own files on top.
        for rel, data in {**files, **bundle.files}.items():
            if not _safe_relative(rel):
                continue
            why = refusal(rel, importable) if rel not in bundle.files else None
            if why is not None:
                refused[rel] = why
                continue
            target = source / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        results = tuple(
            _grade_notebook(bundle, student, name, files.get(f"{name}.ipynb"), db_url, source, root)
            for name in bundle.notebooks
        )
        shutil.rmtree(root, ignore_errors=True)
    others = {rel: data for rel, data in files.items() if not rel.endswith(".ipynb") and _safe_relative(rel)}
    from ..integrity.audit import check_files

    result = SubmissionResult(
        student,
        bundle.assignment,
        results,
        others,
        timestamp,
        check_files(others, bundle.integrity),
        refused=tuple(sorted(refused.items())),
    )
    return with_pages(bundle, result) if bundle.feedback_config is not None else result


def with_pages(bundle: AssignmentBundle, result: SubmissionResult) -> SubmissionResult:
    """``result`` with the student's feedback pages (:mod:`.pages`), or with why they could not be
    made (``pages_error``: the client makes them later, as without ``--feedback``)."""
    from dataclasses import replace

    from .pages import make_pages

    try:
        pages, inputs = make_pages(bundle, result)
    except Exception as exc:  # a page is never worth a grade: leave it to adcourse feedback
        return replace(result, pages_error=f"{type(exc).__name__}: {exc}"[:500])
    return replace(result, pages=pages, pages_inputs=inputs)
