"""``adcourse similarity`` on a class with planted copies and honest, independent solutions.

The class (``tests/similarity_class.py``): four honest students (ana, ben, cleo, dev), three who
copied one of them (eve renamed everything in ben's code, finn reordered cleo's, gus reformatted
ana's and split it over two cells), hana who copied the answer key, ivan who pasted functions of
adlib (built here from adlib's own source), and two students who handed in the untouched
release. The report must find exactly the planted pairs, hana against the key and ivan against
adlib, and no honest pair; with the threshold at least 0.1 away from every pair's similarity on
both sides, so that the verdicts do not hang on a hair.
"""

from __future__ import annotations

import contextlib
import html
import importlib
import inspect
import io
import re
from pathlib import Path

import nbformat
import pytest
import similarity_class as cls
from helpers.toycourse import autograded_cell, make_course, nbgrader_cell, notebook

from autograder.cli import main
from autograder.paths import CourseError
from autograder.release import Releaser
from autograder.similarity import MIN_OVERLAP, THRESHOLD, render_html, similarity_report

MARGIN = 0.1
BLANK = ("blank1", "blank2")


def _source_notebook() -> nbformat.NotebookNode:
    return notebook(
        [
            nbformat.v4.new_markdown_cell("Write `Dual`, `sin`, `derivative` and `descend`."),
            nbgrader_cell("import math", locked=True, grade=False, solution=False, grade_id="given"),
            nbgrader_cell(
                "### BEGIN SOLUTION\n" + cls.KEY + "### END SOLUTION",
                grade=False,
                solution=True,
                grade_id="forward",
            ),
            autograded_cell(
                "test-derivative", "assert abs(derivative(lambda x: x * x, 3.0) - 6.0) < 1e-12", 5
            ),
        ]
    )


def _ivan() -> str:
    """ivan's cell: his glue, and adlib's functions pasted with his renames."""
    module = importlib.import_module(cls.FROM_ADLIB[0])
    pasted = "\n\n".join(inspect.getsource(getattr(module, name)) for name in cls.FROM_ADLIB[1])
    for old, new in cls.IVAN_RENAMES.items():
        pasted = re.sub(rf"\b{old}\b", new, pasted)
    return cls.IVAN_GLUE + "\n\n" + pasted


def _submit(course: Path, student: str, code: str | None, own_cell: str | None = None) -> None:
    nb = nbformat.read(course / "release" / "toy" / "toy.ipynb", as_version=4)
    for cell in nb.cells:
        if code is not None and cell.metadata.get("nbgrader", {}).get("grade_id") == "forward":
            cell.source = code
    if own_cell is not None:
        nb.cells.append(nbformat.v4.new_code_cell(own_cell))
    folder = course / "submitted" / student / "toy"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "toy.ipynb")


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = make_course(tmp_path_factory.mktemp("similarity"), {"toy": _source_notebook()})
    Releaser(course).generate("toy")
    for student, code in cls.HONEST.items():
        _submit(course, student, code)
    _submit(course, "eve", cls.EVE)
    _submit(course, "finn", cls.FINN)
    _submit(course, "gus", cls.GUS_SOLUTION, own_cell=cls.GUS_OWN_CELL)
    _submit(course, cls.KEY_COPY, cls.HANA)
    _submit(course, "ivan", _ivan())
    for student in BLANK:
        _submit(course, student, None)
    broken = course / "submitted" / "zed" / "toy"
    broken.mkdir(parents=True)
    (broken / "toy.ipynb").write_text('{"cells": [ not json')
    return course


@pytest.fixture(scope="module")
def report(course: Path):
    return similarity_report(course, "toy")


def _planted() -> set[frozenset[str]]:
    return {frozenset(pair) for pair in cls.COPIES.items()}


def test_exactly_the_planted_pairs_are_alike(report) -> None:
    found = {frozenset((p.first, p.second)) for p in report.flagged()}
    assert found == _planted()


def test_the_threshold_is_well_clear_of_every_pair(report) -> None:
    planted = [p for p in report.pairs if frozenset((p.first, p.second)) in _planted()]
    others = [p for p in report.pairs if frozenset((p.first, p.second)) not in _planted()]
    assert len(planted) == len(cls.COPIES)
    assert min(p.similarity for p in planted) >= THRESHOLD + MARGIN, planted
    assert max(p.similarity for p in others) <= THRESHOLD - MARGIN, max(others, key=lambda p: p.similarity)
    assert all(p.overlap >= MIN_OVERLAP for p in planted)


def test_the_copy_of_the_key_and_the_paste_from_adlib_are_found(report) -> None:
    like = {(p.first, p.second) for p in report.flagged_references()}
    assert like == {(cls.KEY_COPY, "answer key"), ("ivan", "adlib/numerical/differences.py")}
    honest = set(cls.HONEST) | set(cls.COPIES)
    assert not any(p.first in honest for p in report.flagged_references())


def test_blank_submissions_are_not_compared(report) -> None:
    """The release's code is boilerplate: an untouched release has no code of its own to compare."""
    for student in BLANK:
        assert "too little code of its own" in report.skipped[student]
        assert not [p for p in report.pairs if student in (p.first, p.second)]


def test_an_unreadable_submission_is_named_not_compared(report) -> None:
    assert "zed" not in report.students
    assert "not a readable notebook" in report.skipped["zed"]
    assert "zed: not compared" in report.summary()


def test_the_page_shows_each_pair_side_by_side_and_is_self_contained(report) -> None:
    page = render_html(report)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing loaded from elsewhere
    assert "<script" not in page
    for first, second in [*cls.COPIES.items(), (cls.KEY_COPY, "answer key")]:
        a, b = sorted((first, second)) if second != "answer key" else (first, second)
        assert f"{a} ~ {b}:" in page
    # eve's renamed product rule is marked as shared, in her own words
    section = page[page.index("ben ~ eve:") :]
    section = section[: section.index("</div></div>")]
    assert section.count("<mark>") >= 2  # shared code marked on both sides
    shown = html.unescape(re.sub(r"</?mark>", "", section))
    assert "res.du = (self.du * other.re" in shown and "prod.b = self.b * y.a + self.a * y.b" in shown


def test_adcourse_similarity_prints_the_pairs_and_writes_the_page(course: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    page = tmp_path / "similarity.html"
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["similarity", "toy", "--course", str(course), "--out", str(page)])
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert "3 pair(s) alike:" in text
    assert re.search(r"ben ~ eve: 0\.\d\d", text) and re.search(r"cleo ~ finn: 0\.\d\d", text)
    assert f"side by side: {page}" in text
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_bad_input(course: Path, tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="threshold"):
        similarity_report(course, "toy", threshold=1.5)
    other = make_course(tmp_path, {"toy": _source_notebook()})
    with pytest.raises(CourseError, match="no release of toy"):
        similarity_report(other, "toy")
