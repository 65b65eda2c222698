"""The lectures as an instructor shows them, in headless Chromium: offline pages, decks, live RISE.

* Every lecture's HTML page (``bash kit.sh lectures``) opened from disk (``file://``) typesets its
  math with the MathJax copied next to it, shows no raw TeX, and loads nothing from the network.
* Every lecture's reveal.js deck (``adcourse slides``) opened from disk starts on its title slide,
  has one slide per ``slide``/``subslide`` cell, typesets its math, and the right arrow key moves
  to the next slide; again nothing is loaded from the network.
* An executed lecture's page and deck show its figures.
* JupyterLab presents a lecture live with RISE (``jupyterlab-rise``): the slideshow opens on the
  title slide, the math is typeset, the arrow key advances, and every request stays on the server.

Pages and decks are built from the committed notebooks into a temporary folder (the repository is
never touched); most without executing them (math, structure and keys do not need outputs), one
executed. Screenshots go to ``out/browser/<test name>/`` (``FAILED-NN-step.png`` for a failed step).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from browser_helpers import Steps, launch_browser, output_dir, wait_until
from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

from autograder.lab import LabServer, start_lab
from autograder.notebooks import Executed, execute, lecture_paths, render_html
from autograder.paths import REPO_ROOT
from autograder.slides import outline, render_deck

pytestmark = pytest.mark.browser

LECTURES = lecture_paths()
EXECUTED = "02_forward_mode"  # a quick lecture with figures, executed once for the figure checks
MATH_TIMEOUT_MS = 120_000  # typesetting a whole lecture on a loaded machine

# MathJax 2 (the pages and decks) is done when its queue is empty and it has typeset something.
_MATHJAX2_DONE = (
    "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue && MathJax.Hub.queue.pending === 0"
    " && document.querySelectorAll('span.MathJax').length > 0"
)
# Text a reader sees outside code, with typeset math removed: a $...$ left in it is raw TeX.
_RAW_TEX_JS = """(root) => {
  const copy = document.querySelector(root).cloneNode(true);
  const typeset = '.MathJax, .MathJax_Display, .MathJax_Preview, mjx-container';
  copy.querySelectorAll('code, pre, script, style, ' + typeset).forEach(e => e.remove());
  const text = copy.textContent;
  return (text.match(/\\$[^$\\s][^$]{0,80}\\$/g) || []).slice(0, 5);
}"""


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    context = launch_browser(playwright, tmp_path_factory.mktemp("chromium-profile"))
    yield context
    context.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every lecture's page (``html/``) and deck (``slides/``) from its source; one executed lecture too."""
    root = tmp_path_factory.mktemp("lectures-built")
    for path in LECTURES:
        source = Executed(path, nbformat.read(path, as_version=4), 0.0)
        render_html(source, root / "html")
        render_deck(source, root / "slides")
    (executed_path,) = [p for p in LECTURES if p.stem == EXECUTED]
    executed = execute(executed_path, cwd=root)
    render_html(executed, root / "executed")
    render_deck(executed, root / "executed")
    return root


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    page = browser.new_page()
    page.requested = []  # type: ignore[attr-defined]
    page.on("request", lambda request: page.requested.append(request.url))  # type: ignore[attr-defined]
    yield page
    page.close()


@pytest.fixture
def steps(page: Page, request: pytest.FixtureRequest) -> Steps:
    return Steps(page, output_dir(request.node.name))


def off_machine(page: Page, allowed: tuple[str, ...] = ("file://", "data:", "about:")) -> list[str]:
    """The requests the page made that did not stay on this machine (for a server: its URL)."""
    return [url for url in page.requested if not url.startswith(allowed)]  # type: ignore[attr-defined]


def open_file(page: Page, path: Path) -> None:
    page.goto(path.resolve().as_uri())


# ---------------------------------------------------------------- the offline HTML pages


@pytest.mark.parametrize("lecture", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_page_typesets_its_math_offline(lecture: Path, built: Path, page: Page, steps: Steps) -> None:
    """Screenshots in out/browser/test_lecture_page_typesets_its_math_offline_<lecture>_/."""
    with steps("open the page from disk"):
        open_file(page, built / "html" / f"{lecture.stem}.html")
        page.wait_for_function(_MATHJAX2_DONE, timeout=MATH_TIMEOUT_MS, polling=250)
    with steps("the math is typeset, none left raw"):
        assert page.locator("span.MathJax").count() > 20
        assert page.locator(".MathJax .merror, span.merror").count() == 0
        assert page.evaluate(_RAW_TEX_JS, "body") == []
        steps.shot("page top")
        page.locator(".MathJax_Display").first.scroll_into_view_if_needed()
        steps.shot("displayed formula")
    with steps("nothing came from the network"):
        assert off_machine(page) == []
        assert any(
            u.endswith("_static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe")
            for u in page.requested
        )  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the offline decks


def reveal_state(page: Page) -> dict:
    return page.evaluate(
        "() => ({indices: Reveal.getIndices(), total: Reveal.getTotalSlides(),"
        " title: (Reveal.getCurrentSlide().querySelector('h1, h2, h3') || {}).textContent || ''})"
    )


@pytest.mark.parametrize("lecture", LECTURES, ids=[p.stem for p in LECTURES])
def test_deck_opens_typesets_and_advances_with_the_arrow_key(
    lecture: Path, built: Path, page: Page, steps: Steps
) -> None:
    """Screenshots in out/browser/test_deck_opens_typesets_and_advances_with_the_arrow_key_<lecture>_/."""
    kinds = outline(nbformat.read(lecture, as_version=4))
    page.set_viewport_size({"width": 1280, "height": 800})
    with steps("open the deck from disk"):
        open_file(page, built / "slides" / f"{lecture.stem}.slides.html")
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=MATH_TIMEOUT_MS)
        page.wait_for_function(_MATHJAX2_DONE, timeout=MATH_TIMEOUT_MS, polling=250)
    with steps("the title slide, and every slide of the metadata"):
        state = reveal_state(page)
        assert state["indices"]["h"] == 0 and state["indices"]["v"] == 0
        assert state["title"].startswith(f"Lecture {int(lecture.stem[:2])}")
        assert state["total"] == kinds["slide"] + kinds["subslide"]
        steps.shot("title slide")
    with steps("the math is typeset"):
        assert page.locator(".reveal span.MathJax").count() > 20
        assert page.locator(".reveal span.merror").count() == 0
        assert page.evaluate(_RAW_TEX_JS, ".reveal .slides") == []
    with steps("the right arrow moves to the next slide"):
        titles = [state["title"]]
        for expected in (1, 2, 3):
            page.keyboard.press("ArrowRight")
            wait_until(lambda e=expected: reveal_state(page)["indices"]["h"] == e, 30, f"slide {expected}")
            page.wait_for_function("() => MathJax.Hub.queue.pending === 0", timeout=MATH_TIMEOUT_MS)
            titles.append(reveal_state(page)["title"])
            steps.shot(f"slide {expected}")
        assert len(set(titles)) == 4, titles  # four different slides, each a section of the lecture
        assert all(re.match(r"^\d+\. |^Summary|^Further", t) for t in titles[1:]), titles
    with steps("the down arrow goes into a section"):
        h = page.evaluate(
            "() => [...document.querySelectorAll('.reveal .slides > section')]"
            ".findIndex(s => s.querySelectorAll(':scope > section').length > 1)"
        )
        assert h >= 0, "no section has a subslide"
        page.evaluate("(h) => Reveal.slide(h, 0)", h)
        page.keyboard.press("ArrowDown")
        wait_until(lambda: reveal_state(page)["indices"]["v"] == 1, 30, "the section's first subslide")
        steps.shot("a subslide")
    with steps("nothing came from the network"):
        assert off_machine(page) == []


def test_an_executed_lecture_shows_its_figures(built: Path, page: Page, steps: Steps) -> None:
    """Screenshots in out/browser/test_an_executed_lecture_shows_its_figures/."""
    page.set_viewport_size({"width": 1280, "height": 800})
    with steps("the page's figures decode"):
        open_file(page, built / "executed" / f"{EXECUTED}.html")
        page.wait_for_function(_MATHJAX2_DONE, timeout=MATH_TIMEOUT_MS, polling=250)
        widths = page.locator(".jp-OutputArea-output img").evaluate_all(
            "imgs => imgs.map(i => i.naturalWidth)"
        )
        assert widths and all(w > 0 for w in widths), widths
        page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
        steps.shot("a figure on the page")
    with steps("the deck shows a figure on its slide"):
        open_file(page, built / "executed" / f"{EXECUTED}.slides.html")
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=MATH_TIMEOUT_MS)
        where = page.evaluate(
            """() => { for (const s of Reveal.getSlides()) { if (s.querySelector('img')) {
                 return Reveal.getIndices(s); } } return null; }"""
        )
        assert where is not None
        page.evaluate("(i) => Reveal.slide(i.h, i.v)", where)
        img = page.locator(".reveal .slides section.present img").first
        img.wait_for(state="visible")
        assert img.evaluate("i => i.naturalWidth") > 0 and img.bounding_box()["height"] > 100
        steps.shot("a figure on a slide")
    with steps("nothing came from the network"):
        assert off_machine(page) == []


# ---------------------------------------------------------------- live, in JupyterLab (RISE)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab on a copy of the course config and the lectures, with a fresh profile."""
    root = tmp_path_factory.mktemp("rise")
    (root / "course").mkdir()
    for name in ("nbgrader_config.py", "header.ipynb"):
        shutil.copy2(REPO_ROOT / "course" / name, root / "course" / name)
    shutil.copytree(REPO_ROOT / "lectures", root / "lectures")
    with start_lab(root / "course", state_dir=root / ".jupyter", log=root / "jupyterlab.log") as server:
        yield server


def test_jupyterlab_presents_a_lecture_live_with_rise(lab: LabServer, page: Page, steps: Steps) -> None:
    """Screenshots in out/browser/test_jupyterlab_presents_a_lecture_live_with_rise/."""
    lecture = f"lectures/{EXECUTED}.ipynb"
    page.set_viewport_size({"width": 1280, "height": 800})
    steps.log = lab.log
    present = ".reveal .slides > section.present"
    with steps("open the lecture as a RISE slideshow"):
        page.goto(lab.url_for(f"rise/{lecture}"))
        page.locator(f"{present} h1").wait_for(timeout=MATH_TIMEOUT_MS * 2)
        assert (page.locator(f"{present} h1").text_content() or "").startswith("Lecture 2")
    with steps("its math is typeset"):
        wait_until(lambda: page.locator("mjx-container").count() > 20, 120, "typeset math")
        assert page.locator("mjx-merror").count() == 0
        steps.shot("title slide")
    with steps("the right arrow moves to the next slide"):
        page.keyboard.press("ArrowRight")
        wait_until(lambda: page.url.endswith("#/slide-1-0"), 30, "the second slide")
        heading = page.locator(f"{present} .jp-RenderedMarkdown h2").first.text_content() or ""
        assert heading.startswith("1. Operator overloading"), heading
        steps.shot("second slide")
    with steps("every request stayed on the server"):
        assert off_machine(page, allowed=(lab.url, "data:", "blob:", "about:")) == []
