"""Offline lecture pages and slide decks: metadata checks, asset copies, CDN-free HTML, the CLI.

The pages are built from small notebooks made here (the real lectures are built in
tests/test_lectures.py, which executes them anyway, and opened in a browser in
tests/test_browser_lectures.py). Expected values are written by hand from the notebooks below.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from autograder import offline, slides
from autograder.cli import main as adcourse
from autograder.notebooks import Executed, lecture_paths, render_html
from autograder.paths import REPO_ROOT


def cell(kind: str, source: str, slide_type: str | None) -> nbformat.NotebookNode:
    made = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
    if slide_type is not None:
        made.metadata["slideshow"] = {"slide_type": slide_type}
    return made


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def small_deck() -> nbformat.NotebookNode:
    """Two slides, the second with a subslide; one fragment, one skipped cell, one speaker note."""
    return notebook(
        cell("md", "# Title\n\nInline math $x^2$.", "slide"),
        cell("code", "import math", "skip"),
        cell("md", "## Second\n\n$$\\sum_i x_i$$", "slide"),
        cell("md", "A remark", "fragment"),
        cell("md", "### Below", "subslide"),
        cell("code", "print(math.pi)", "-"),
        cell("md", "Say this aloud", "notes"),
    )


class Refs(HTMLParser):
    """Every URL the page loads (script src, link href, img src, iframe src, CSS @import and url()),
    except the ``data:`` URLs of the embedded figures, which :attr:`embedded` counts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.embedded = 0
        self.sections = 0
        self.fragments = 0
        self.notes = 0
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "iframe") and a.get("src"):
            if (a["src"] or "").startswith("data:"):
                self.embedded += 1
            else:
                self.urls.append(a["src"] or "")
        if tag == "link" and a.get("href"):
            self.urls.append(a["href"] or "")
        if tag == "section":
            self.sections += 1
        if "fragment" in (a.get("class") or "").split():
            self.fragments += 1
        if tag == "aside" and "notes" in (a.get("class") or "").split():
            self.notes += 1
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls += re.findall(r"@import\s+url\(([^)]+)\)", data)
            self.urls += [
                u for u in re.findall(r"url\(([^)]+)\)", data) if not u.strip("'\"").startswith("data:")
            ]

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False


def refs(page: Path) -> Refs:
    parser = Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def local_file(page: Path, url: str) -> Path:
    """The file a relative URL of ``page`` names (query string dropped)."""
    assert not re.match(r"^[a-z]+:|^//", url), f"{page.name} loads {url} from outside its folder"
    return (page.parent / url.split("?")[0]).resolve()


# ---------------------------------------------------------------- slide metadata


def test_a_well_formed_deck_has_no_problems_and_its_outline_counts_the_types() -> None:
    nb = small_deck()
    assert slides.slide_problems(nb) == []
    assert slides.outline(nb) == {"slide": 2, "skip": 1, "fragment": 1, "subslide": 1, "-": 1, "notes": 1}


def test_slide_problems_name_each_bad_cell() -> None:
    nb = notebook(cell("md", "# T", "fragment"), cell("code", "1", None), cell("md", "x", "sldie"))
    problems = slides.slide_problems(nb)
    assert "cell 1 (code) has no slideshow metadata" in problems
    assert any("cell 2 has slide_type 'sldie'" in p for p in problems)
    assert any("the first cell must start a slide, not be 'fragment'" in p for p in problems)
    assert slides.slide_problems(notebook()) == ["the notebook has no cells"]


def test_render_deck_refuses_a_notebook_without_metadata(tmp_path: Path) -> None:
    nb = notebook(cell("md", "# T", None))
    with pytest.raises(
        ValueError, match=r"t\.ipynb cannot make a deck: cell 0 \(markdown\) has no slideshow"
    ):
        slides.render_deck(Executed(tmp_path / "t.ipynb", nb, 0.0), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written


def test_select_lectures_by_number_or_name() -> None:
    lectures = lecture_paths()
    assert slides.select_lectures([]) == lectures
    assert slides.select_lectures(["3"]) == [p for p in lectures if p.stem.startswith("03_")]
    assert slides.select_lectures(["01", "02_forward_mode"]) == lectures[:2]
    with pytest.raises(ValueError, match="no single lecture called '9'; the lectures are: 01_"):
        slides.select_lectures(["9"])


# ---------------------------------------------------------------- offline assets


def test_mathjax_is_copied_once_next_to_the_page(tmp_path: Path) -> None:
    url = offline.install_mathjax(tmp_path)
    assert url == "_static/mathjax/MathJax.js"
    copied = tmp_path / url
    assert copied.read_bytes() == (offline.mathjax_source() / "MathJax.js").read_bytes()
    assert (tmp_path / "_static/mathjax/config/TeX-AMS-MML_HTMLorMML-full.js").is_file()
    assert sorted(p.name for p in (tmp_path / "_static/mathjax/localization").iterdir()) == ["en"]
    before = copied.stat().st_mtime_ns
    offline.install_mathjax(tmp_path)  # a second page in the same folder: no second copy
    assert copied.stat().st_mtime_ns == before


def test_reveal_comes_from_the_installed_package(tmp_path: Path) -> None:
    source = offline.reveal_source()
    assert offline.reveal_version(source) == offline.REVEAL_JS_VERSION
    url = offline.install_reveal(tmp_path)
    target = tmp_path / url
    assert (target / "dist" / "reveal.js").read_bytes() == (source / "dist" / "reveal.js").read_bytes()
    assert (target / "plugin" / "notes" / "notes.js").is_file()
    assert (target / "dist" / "theme" / "white.css").is_file()
    assert not list(target.rglob("*.map"))  # only what a deck loads


def test_a_missing_reveal_is_reported_with_the_way_to_install_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ADCOURSE_REVEAL_JS", str(tmp_path / "nowhere"))
    with pytest.raises(offline.AssetMissing, match=r"reveal\.js is not installed in \$ADCOURSE_REVEAL_JS"):
        offline.reveal_source()
    with pytest.raises(offline.AssetMissing, match="npm install --prefix"):
        offline.install_reveal(tmp_path / "out")


def test_kit_sh_installs_the_reveal_version_the_decks_are_made_for() -> None:
    kit = (REPO_ROOT / "kit.sh").read_text(encoding="utf-8")
    assert f'REVEAL_JS_VERSION="{offline.REVEAL_JS_VERSION}"' in kit
    assert str(offline.REVEAL_JS_PREFIX).endswith("share/adlib-reveal")
    assert '"$VENV/share/adlib-reveal"' in kit


# ---------------------------------------------------------------- pages without a CDN


def test_the_deck_has_the_slides_of_its_metadata_and_loads_only_local_files(tmp_path: Path) -> None:
    deck = slides.render_deck(Executed(tmp_path / "small.ipynb", small_deck(), 0.0), tmp_path / "out")
    assert deck == tmp_path / "out" / "small.slides.html"
    found = refs(deck)
    # nbconvert's reveal template: a <section> per slide and one per subslide inside it (each slide
    # opens with one): 2 slides + (2 + 1) subslides.
    assert found.sections == 5
    assert (found.fragments, found.notes) == (1, 1)
    scripts = [u for u in found.urls if u.endswith(".js") or ".js?" in u]
    assert [Path(u.split("?")[0]).name for u in scripts] == ["MathJax.js", "reveal.js", "notes.js"]
    for url in found.urls:
        assert local_file(deck, url).is_file(), url
    text = deck.read_text(encoding="utf-8")
    assert "import math" not in text  # the skipped cell
    assert not re.search(r"(src|href)=\"(https?:)?//", text)


def test_the_lecture_page_loads_only_local_files(tmp_path: Path) -> None:
    nb = notebook(cell("md", "# A page\n\n$e^{i\\pi} + 1 = 0$", None), cell("code", "1 + 1", None))
    page = render_html(Executed(tmp_path / "page.ipynb", nb, 0.0), tmp_path / "html")
    found = refs(page)
    assert [Path(u.split("?")[0]).name for u in found.urls] == ["MathJax.js"]
    assert local_file(page, found.urls[0]) == (tmp_path / "html/_static/mathjax/MathJax.js").resolve()
    assert "$e^{i\\pi} + 1 = 0$" in page.read_text(encoding="utf-8")  # left for MathJax to typeset


# ---------------------------------------------------------------- command line and JupyterLab


def test_adcourse_slides_refuses_an_unknown_lecture(capsys) -> None:
    assert adcourse(["slides", "99", "--out", "unused"]) == 1
    assert "no single lecture called '99'" in capsys.readouterr().err


def test_adcourse_slides_parses_lectures_and_out() -> None:
    from autograder.cli import build_parser

    args = build_parser().parse_args(["slides", "2", "05_pytorch_autograd", "--out", "decks"])
    assert (args.lectures, args.out, args.func.__name__) == (["2", "05_pytorch_autograd"], "decks", "_slides")


def test_rise_is_enabled_in_jupyterlab() -> None:
    jupyter = Path(sys.executable).parent / "jupyter"
    listed = subprocess.run(
        [str(jupyter if jupyter.exists() else shutil.which("jupyter")), "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr).splitlines()
    rise = [line for line in lines if "jupyterlab-rise" in line]
    assert rise, "jupyterlab-rise is not installed (a course dependency)"
    assert "enabled" in rise[0] and "OK" in rise[0], rise[0]
