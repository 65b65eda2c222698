"""The tamper check of one submission while the grading engine grades it.

The engine calls :meth:`NotebookAudit.start` on each sanitized notebook (the instructor's cells
restored), runs the notebook with :attr:`NotebookAudit.monitor` in its kernel, then collects the
findings with :meth:`NotebookAudit.finish`; :func:`check_files` reads the submitted ``.py`` files.
Nothing here changes a score, and a failure of the check itself becomes a "check failed" finding,
never a lost grade.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from .cells import CodeCell, code_cells, instructor_sources
from .findings import CHECK_FAILED, Finding, unique
from .monitor import KernelMonitor
from .policy import IntegrityPolicy
from .scan import scan_cells, scan_module


def _failed(where: str, exc: BaseException) -> Finding:
    what = f"the tamper check could not read this ({type(exc).__name__}: {str(exc)[:150]}); look by hand"
    return Finding(CHECK_FAILED, what, where)


@dataclass
class NotebookAudit:
    """The tamper check of one notebook: the scan's findings, and the monitor for its kernel."""

    notebook: str
    cells: list[CodeCell] = field(default_factory=list)
    found: list[Finding] = field(default_factory=list)
    monitor: KernelMonitor | None = None

    @classmethod
    def start(
        cls,
        nb: nbformat.NotebookNode,
        policy: IntegrityPolicy,
        notebook: str,
        db_url: str,
        assignment: str,
        workdir: Path,
        sandboxed: bool,
        instructor: Mapping[str, str] | None = None,
    ) -> NotebookAudit:
        """Scan ``nb`` (graded against the gradebook at ``db_url``) and make its kernel's monitor.

        ``instructor`` gives the sources of instructor cells as the kernel runs them where they
        differ from the gradebook's (the test cells, without their answers)."""
        audit = cls(notebook)
        try:
            sources = {**instructor_sources(db_url, assignment, notebook), **(instructor or {})}
            audit.cells = code_cells(nb, sources)
            audit.found = scan_cells(audit.cells, policy, notebook)
        except Exception as exc:  # a bug here must not cost the student their grade
            audit.found = [_failed(notebook, exc)]
        if policy.monitor:
            audit.monitor = KernelMonitor(workdir, sandboxed)
        return audit

    def finish(self) -> tuple[Finding, ...]:
        """Every finding in the notebook: the scan's and, once its kernel has stopped, the monitor's."""
        found = list(self.found)
        if self.monitor is not None:
            self.monitor.close()
            try:
                found += self.monitor.findings(self.cells, self.notebook)
            except Exception as exc:
                found.append(_failed(self.notebook, exc))
        return tuple(unique(found))


def check_files(files: Mapping[str, bytes], policy: IntegrityPolicy) -> tuple[Finding, ...]:
    """Findings in the Python files of a submission (``{relative path: bytes}``): a cell that
    imports one runs it."""
    found: list[Finding] = []
    for rel, data in sorted(files.items()):
        if PurePosixPath(rel).suffix != ".py":
            continue
        try:
            found += scan_module(data.decode("utf-8"), rel, policy)
        except Exception as exc:
            found.append(_failed(rel, exc))
    return tuple(unique(found))
