"""Every lecture runs top to bottom in a fresh kernel, offline, on a CPU, and is shaped like a lecture.

The run also renders the executed lecture as the offline HTML page (``bash kit.sh lectures``) and
the reveal.js deck (``adcourse slides``), and checks that neither loads anything from outside its
folder; tests/test_browser_lectures.py opens them in Chromium.
"""

import re
from pathlib import Path

import nbformat
import pytest
from test_slides import local_file, refs

from autograder.notebooks import execute, lecture_paths, render_html
from autograder.slides import outline, render_deck, slide_problems, slide_type

LECTURES = lecture_paths()
# Each lecture must run well inside a minute on a 2-core machine; a cell that hangs fails the run.
CELL_TIMEOUT = 120
# Reading comfort: one idea per cell.
MAX_CODE_LINES, MAX_MARKDOWN_LINES = 30, 40


def test_there_are_six_lectures() -> None:
    assert len(LECTURES) == 6, [p.name for p in LECTURES]


def _check_offline(page: Path) -> None:
    found = refs(page)
    assert found.urls, f"{page.name} loads nothing at all"
    for url in found.urls:
        assert local_file(page, url).is_file(), f"{page.name} loads {url}, which is not next to it"
    assert any("_static/mathjax/MathJax.js" in u for u in found.urls), f"{page.name} has no local MathJax"


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_runs_top_to_bottom_and_renders_offline(path: Path, tmp_path: Path) -> None:
    executed = execute(path, cell_timeout=CELL_TIMEOUT, cwd=tmp_path)
    errors = [
        o
        for c in executed.notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    print(f"{path.name}: {executed.seconds:.1f} s")

    page = render_html(executed, tmp_path / "html")
    _check_offline(page)
    assert refs(page).embedded >= 1  # the figures are in the page itself

    deck = render_deck(executed, tmp_path / "slides")
    _check_offline(deck)
    assert any(u.endswith("reveal.js/dist/reveal.js") for u in refs(deck).urls)
    kinds = outline(executed.notebook)
    # nbconvert's deck: a <section> per slide, and one per subslide inside it (each slide opens one).
    assert refs(deck).sections == 2 * kinds["slide"] + kinds["subslide"]
    assert refs(deck).fragments == kinds["fragment"]


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_every_cell_has_slide_metadata_that_makes_a_deck(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert slide_problems(nb) == []
    kinds = outline(nb)
    assert kinds["slide"] >= 8 and kinds["subslide"] >= 10, kinds  # sections, and steps within them
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and re.match(r"^#{1,2} ", cell.source):
            assert slide_type(cell) == "slide", f"cell {index} is a section heading: {cell.source[:40]!r}"
        if cell.cell_type == "markdown" and re.match(r"^#{3,4} ", cell.source):
            assert slide_type(cell) in ("slide", "subslide"), f"cell {index}: {cell.source[:40]!r}"
    shown = [c for c in nb.cells if slide_type(c) not in ("skip", "notes")]
    assert sum(c.cell_type == "code" for c in shown) >= 10  # a deck of this course shows its code


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_cells_are_short_enough_to_read(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        lines = len(cell.source.splitlines())
        limit = MAX_CODE_LINES if cell.cell_type == "code" else MAX_MARKDOWN_LINES
        assert lines <= limit, (
            f"{path.name} cell {index} ({cell.cell_type}) has {lines} lines (at most {limit})"
        )


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lectures_use_adlibs_table_helper(path: Path) -> None:
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "def md_table" not in source and "def show_table" not in source
    assert re.search(r"from adlib import .*\bmd_table\b", source), f"{path.name} should import adlib.md_table"


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_ends_with_exercises_and_names_its_assignment(path) -> None:
    nb = nbformat.read(path, as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    tail = "\n".join(markdown[-3:])
    assert re.search(r"^#+ .*Exercises", tail, re.M), f"{path.name} should end with an Exercises section"
    assert re.search(r"assignments/\w+", tail), f"{path.name} should name its assignment (assignments/NAME)"
    reading = [m for m in markdown if re.match(r"^#+ Further reading", m)]
    assert len(reading) == 1 and len(re.findall(r"^\* ", reading[0], re.M)) >= 3, (
        f"{path.name}: further reading"
    )
