"""Executing, stripping and rendering notebooks (lectures and assignments alike)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from .offline import OFFLINE_MACROS, TEMPLATES, install_mathjax
from .paths import REPO_ROOT

LECTURES = REPO_ROOT / "lectures"


@dataclass
class Executed:
    """A notebook after a top-to-bottom run, and how long the run took."""

    path: Path
    notebook: nbformat.NotebookNode
    seconds: float


def lecture_paths() -> list[Path]:
    """The lecture notebooks, in course order (their names start with the lecture number)."""
    return sorted(LECTURES.glob("[0-9]*.ipynb"))


def has_outputs(nb: nbformat.NotebookNode) -> bool:
    """True when any code cell carries outputs or an execution count (committed notebooks must not)."""
    return any(c.get("outputs") or c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def strip_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove outputs and execution counts in place; return the notebook."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def execute(path: Path, *, cell_timeout: int = 120, cwd: Path | None = None) -> Executed:
    """Run every cell of the notebook at ``path`` in a fresh kernel; raise on the first error.

    The kernel starts in ``cwd`` (default: the notebook's folder) with this process's
    environment, less any ``MPLBACKEND``: the kernel then uses matplotlib's inline backend,
    which needs no display and embeds every figure in the executed notebook.
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd or path.parent)}},
    )
    start = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    client.execute(env=env)
    return Executed(path, nb, time.perf_counter() - start)


def lecture_exporter() -> Any:
    """nbconvert's HTML exporter with the kit's offline template (``adlib-lecture``).

    The template is JupyterLab's page without the scripts stock nbconvert loads from CDNs, and
    with MathJax from ``resources["adlib"]["mathjax_url"]``, a URL relative to the page
    (:func:`autograder.offline.install_mathjax`).
    """
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="adlib-lecture",
        extra_template_basedirs=[str(TEMPLATES)],
        extra_template_paths=[str(OFFLINE_MACROS)],
    )


def render_html(executed: Executed, out_dir: Path) -> Path:
    """Write an executed notebook as an HTML page that reads offline; return its path.

    MathJax is copied to ``out_dir/_static/mathjax`` (once) and loaded from there by a relative
    URL, so the page typesets its math from a web server and from the file system alike.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    mathjax_url = install_mathjax(out_dir)
    resources = {"adlib": {"mathjax_url": mathjax_url}}
    body, _ = lecture_exporter().from_notebook_node(executed.notebook, resources=resources)
    target = out_dir / (executed.path.stem + ".html")
    target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.notebooks [OUT]``: execute every lecture and render it to HTML."""
    import argparse

    parser = argparse.ArgumentParser(
        description="Execute every lecture and render it to HTML for publishing."
    )
    parser.add_argument(
        "out", nargs="?", default="out/lectures", help="output folder (default: out/lectures)"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    for path in lecture_paths():
        executed = execute(path)
        target = render_html(executed, out)
        print(f"{path.name}: {executed.seconds:5.1f} s -> {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
