"""The lectures as reveal.js slide decks that work offline (``adcourse slides``, ``bash kit.sh slides``).

Every lecture cell carries Jupyter's slideshow metadata, ``cell.metadata.slideshow.slide_type``:

* ``slide`` starts a new slide (left/right arrows), ``subslide`` a new slide below it (down arrow);
* ``fragment`` appears on the current slide at the next key press;
* ``-`` continues the current slide or fragment; ``skip`` is left out; ``notes`` goes to the
  speaker notes (the ``S`` key).

:func:`slide_problems` checks that metadata (the tests hold every lecture to it). :func:`render_deck`
writes one executed lecture as ``NAME.slides.html`` with nbconvert's slides exporter and the kit's
``adlib-slides`` template, which loads reveal.js and MathJax from copies next to the deck
(:mod:`autograder.offline`): no CDN, so a deck opens from the file system on a closed network.
The same metadata drives the live slideshow in JupyterLab (the RISE extension, ``jupyterlab-rise``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nbformat

from .notebooks import Executed, execute, lecture_paths
from .offline import OFFLINE_MACROS, TEMPLATES, install_mathjax, install_reveal

#: The slide types Jupyter's slideshow metadata allows (nbformat's schema).
SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
#: Deck size in CSS pixels (16:10); reveal.js scales it to the window.
DECK_WIDTH, DECK_HEIGHT = 1280, 800


def slide_type(cell: nbformat.NotebookNode) -> str | None:
    """The cell's ``metadata.slideshow.slide_type``, or None when the cell has none."""
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type")


def slide_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps a notebook from making a good deck; empty when it is fine.

    Every cell needs a slide type from :data:`SLIDE_TYPES` (a missing one silently means ``-``),
    and the first cell must be the title slide, ``slide``: nbconvert would quietly promote whatever
    cell comes first instead.
    """
    problems = []
    if not nb.cells:
        return ["the notebook has no cells"]
    for index, cell in enumerate(nb.cells):
        kind = slide_type(cell)
        if kind is None:
            problems.append(f"cell {index} ({cell.cell_type}) has no slideshow metadata")
        elif kind not in SLIDE_TYPES:
            problems.append(f"cell {index} has slide_type {kind!r}; allowed: {', '.join(SLIDE_TYPES)}")
    if slide_type(nb.cells[0]) != "slide":
        problems.append(f"the first cell must start a slide, not be {slide_type(nb.cells[0])!r}")
    return problems


def outline(nb: nbformat.NotebookNode) -> Counter[str]:
    """How many cells of each slide type the notebook has (``slide``, ``fragment``, ...)."""
    return Counter(slide_type(cell) or "none" for cell in nb.cells)


def deck_exporter() -> Any:
    """nbconvert's slides exporter with the kit's offline template and the deck's settings."""
    from nbconvert import SlidesExporter

    return SlidesExporter(
        template_name="adlib-slides",
        extra_template_basedirs=[str(TEMPLATES)],
        extra_template_paths=[str(OFFLINE_MACROS)],
        reveal_scroll=True,
        reveal_number="c/t",
        reveal_width=str(DECK_WIDTH),
        reveal_height=str(DECK_HEIGHT),
        reveal_transition="none",
        reveal_theme="white",  # its font ships with reveal.js (other themes import Google Fonts)
    )


def render_deck(executed: Executed, out_dir: Path) -> Path:
    """Write a lecture as the reveal.js deck ``out_dir/NAME.slides.html``; return its path.

    reveal.js and MathJax are copied to ``out_dir/_static/`` (once) and loaded by relative URLs.
    Raises :class:`ValueError` naming the cells whose slideshow metadata is missing or wrong, and
    :class:`autograder.offline.AssetMissing` when reveal.js is not installed.
    """
    problems = slide_problems(executed.notebook)
    if problems:
        raise ValueError(f"{executed.path.name} cannot make a deck: " + "; ".join(problems))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reveal_url = install_reveal(out_dir)
    mathjax_url = install_mathjax(out_dir)
    exporter = deck_exporter()
    exporter.reveal_url_prefix = reveal_url
    resources = {"adlib": {"mathjax_url": mathjax_url}}
    body, _ = exporter.from_notebook_node(executed.notebook, resources=resources)
    target = out_dir / f"{executed.path.stem}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def select_lectures(names: Sequence[str]) -> list[Path]:
    """The lectures named (by file stem or by number prefix, ``03`` or ``3``), or all of them."""
    lectures = lecture_paths()
    if not names:
        return lectures
    chosen = []
    for name in names:
        number = name.lstrip("0")
        matches = [p for p in lectures if name in (p.stem, p.name) or _number(p) == number]
        if len(matches) != 1:
            known = ", ".join(p.stem for p in lectures)
            raise ValueError(f"no single lecture called {name!r}; the lectures are: {known}")
        chosen.extend(matches)
    return chosen


def _number(path: Path) -> str:
    return path.stem.split("_")[0].lstrip("0")


def build_decks(out: Path, names: Sequence[str] = (), say: Any = print) -> list[Path]:
    """Execute the lectures (all, or ``names``) and write each as a deck in ``out``; the decks' paths."""
    decks = []
    for path in select_lectures(names):
        executed = execute(path)
        deck = render_deck(executed, out)
        kinds = outline(executed.notebook)
        say(
            f"{path.name}: {executed.seconds:5.1f} s, {kinds['slide']} slides, "
            f"{kinds['subslide']} subslides, {kinds['fragment']} fragments -> {deck}"
        )
        decks.append(deck)
    say("Open a deck in a browser (from disk is fine): arrows move, S shows speaker notes, F is full screen.")
    return decks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``adcourse slides`` and ``python -m autograder.slides``."""
    parser.add_argument("lectures", nargs="*", help="lectures by name or number (default: all)")
    parser.add_argument("--out", default="out/slides", help="output folder (default: out/slides)")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m autograder.slides [LECTURE ...] [--out OUT]``: execute lectures, write their decks."""
    parser = argparse.ArgumentParser(description="Execute lectures and write them as offline reveal.js decks")
    add_arguments(parser)
    args = parser.parse_args(argv)
    build_decks(Path(args.out), args.lectures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
