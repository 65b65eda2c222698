"""A submitted notebook, read and sanitized as nbgrader does before it runs."""

from __future__ import annotations

from typing import Any

import nbformat

from . import pipeline


def read_notebook(raw: bytes) -> nbformat.NotebookNode:
    """A submitted notebook's bytes as a valid nbformat 4 notebook (ValueError and kin if not)."""
    text = raw.decode("utf-8")
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    return nb


def sanitize(nb: Any, resources: dict[str, Any], config: Any) -> Any:
    """nbgrader's sanitize steps: outputs cleared, the instructor's cells restored."""
    nb, _ = pipeline.run(pipeline.build(pipeline.SANITIZE, config), nb, resources)
    return nb
