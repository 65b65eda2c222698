"""Which course ``adcourse`` works on: --course, then the current folder or a parent holding
nbgrader_config.py (or a kit copy's course/), then $ADCOURSE_ROOT, then the kit's own course/;
and a note on stderr naming it whenever it was not given with --course."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest
from helpers.toycourse import autograded_cell, make_course, notebook, solution_cell

from autograder.cli import main
from autograder.paths import KIT_COURSE, CourseError, locate_course


def _course(root: Path) -> Path:
    """A course root with one assignment ``toy`` (a kit-like layout: course/ and assignments/)."""
    return make_course(
        root,
        {
            "toy": notebook(
                [solution_cell("half", "def half(x):", "return x / 2"), autograded_cell("t", "pass", 1)]
            )
        },
    )


@pytest.fixture
def courses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.delenv("ADCOURSE_ROOT", raising=False)
    found = {
        "here": _course(tmp_path / "here"),
        "env": _course(tmp_path / "env"),
        "given": _course(tmp_path / "given"),
    }
    (tmp_path / "nowhere").mkdir()
    return found


def test_the_order(courses: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = courses["here"]
    # 1. --course wins over everything
    monkeypatch.setenv("ADCOURSE_ROOT", str(courses["env"]))
    assert locate_course(courses["given"], cwd=here).root == courses["given"].resolve()
    assert locate_course(courses["given"], cwd=here).explicit
    # 2. the current folder, a parent of it, or a kit copy's root, over $ADCOURSE_ROOT
    assert locate_course(cwd=here).root == here.resolve()
    deep = here / "release" / "toy"
    deep.mkdir(parents=True)
    found = locate_course(cwd=deep)
    assert found.root == here.resolve() and str(here.resolve()) in found.how
    kit_copy = locate_course(cwd=here.parent)  # holds course/ and assignments/
    assert kit_copy.root == here.resolve() and "kit copy" in kit_copy.how
    # 3. $ADCOURSE_ROOT when no folder up from here is a course
    assert locate_course(cwd=tmp_path / "nowhere").root == courses["env"].resolve()
    # 4. the kit's own course
    monkeypatch.delenv("ADCOURSE_ROOT")
    assert locate_course(cwd=tmp_path / "nowhere").root == KIT_COURSE.resolve()


def test_a_folder_that_is_not_a_course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADCOURSE_ROOT", str(tmp_path))
    with pytest.raises(CourseError, match=r"is not a course folder: it has no nbgrader_config\.py"):
        locate_course(cwd=tmp_path)


def _run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def test_adcourse_in_a_copy_of_the_kit_works_on_that_copy(
    courses: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run inside another copy of the kit, adcourse releases into that copy, and says so."""
    here = courses["here"]
    kit_release = KIT_COURSE / "release" / "toy"
    monkeypatch.chdir(here.parent)
    code, out, err = _run("release", "toy")
    assert code == 0, err
    assert (here / "release" / "toy" / "toy.ipynb").is_file()
    assert not kit_release.exists()
    assert f"adcourse: course {here.resolve()} (the course of the kit copy in the current folder)" in err
    assert f"released toy: {here.resolve() / 'release' / 'toy'}" in out
    # released to the course's own exchange too
    assert (here / "exchange" / "ad-course" / "outbound" / "toy" / "toy.ipynb").is_file()


def test_course_after_the_subcommand_and_no_note_when_given(
    courses: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path / "nowhere")
    given = courses["given"]
    code, _, err = _run("check", "nope", "--course", given)
    assert code == 1
    assert err.strip() == "adcourse: error: unknown assignment 'nope' (known: toy)"  # no note: it was given
    code, _, err = _run("--course", given, "check", "nope")
    assert code == 1 and "unknown assignment 'nope'" in err


def test_a_note_names_the_course_from_the_environment(
    courses: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path / "nowhere")
    monkeypatch.setenv("ADCOURSE_ROOT", str(courses["env"]))
    code, _, err = _run("check", "nope")
    assert code == 1
    assert f"adcourse: course {courses['env'].resolve()} (from $ADCOURSE_ROOT)" in err
    shutil.rmtree(courses["env"])
    code, _, err = _run("check", "nope")
    assert code == 1 and "is not a course folder" in err
