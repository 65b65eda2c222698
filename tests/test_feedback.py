"""Feedback pages are stock nbgrader's, byte for byte, however the class is shared out.

The toy class (``helpers.toycourse``: the key, a blank, wrong and partial answers, a kernel that
loops and one that dies, unreadable and missing notebooks) is graded once; stock ``nbgrader
generate_feedback toy --force`` writes every page in one copy of the course, and
:func:`write_class_feedback` writes them here, in this process and in worker processes.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from helpers.toycourse import EXPECTED, released_toy

from autograder.class_feedback import write_class_feedback
from autograder.engine import Limits, autograde
from autograder.feedback import FeedbackWriter
from autograder.nbgrader_cli import run_nbgrader

STUDENTS = tuple(EXPECTED)
LIMITS = Limits(cell_timeout=10, notebook_timeout=60)


def pages(course: Path) -> dict[str, bytes]:
    """Every file under ``course/feedback``, by its path there."""
    root = course / "feedback"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy class, autograded; its root (``course/`` and ``assignments/``)."""
    root = tmp_path_factory.mktemp("feedback-toy")
    course = released_toy(root / "made").copy(root / "graded", STUDENTS)
    autograde(course, "toy", jobs=2, limits=LIMITS)
    return course.parent


@pytest.fixture(scope="module")
def stock(graded: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The pages stock nbgrader writes for the whole class."""
    copy = tmp_path_factory.mktemp("feedback-stock") / "root"
    shutil.copytree(graded, copy)
    run_nbgrader(copy / "course", "generate_feedback", "toy", "--force")
    return pages(copy / "course")


def _fresh(graded: Path, dest: Path) -> Path:
    shutil.copytree(graded, dest)
    return dest / "course"


def test_stock_nbgrader_writes_a_page_per_autograded_student(stock: dict[str, bytes]) -> None:
    written = {name.split("/")[0] for name in stock if name.endswith(".html")}
    assert written and written <= set(STUDENTS)
    assert {"key", "blank", "wrong"} <= written


@pytest.mark.parametrize("jobs, chunk", [(1, 8), (2, 1)], ids=["in-process", "two-workers"])
def test_class_feedback_is_stock_nbgrader_s_byte_for_byte(
    graded: Path, stock: dict[str, bytes], tmp_path: Path, jobs: int, chunk: int
) -> None:
    course = _fresh(graded, tmp_path / "root")
    seen: list[str] = []
    done = write_class_feedback(
        course, "toy", jobs=jobs, chunk=chunk, on_student=lambda student, _: seen.append(student)
    )
    assert not done.failed
    assert sorted(done.written) == sorted({name.split("/")[0] for name in stock})
    assert seen == sorted(done.written + done.without)
    mine = pages(course)
    assert sorted(mine) == sorted(stock)
    differ = [name for name in stock if mine[name] != stock[name]]
    assert differ == []


def test_one_writer_writes_student_after_student_like_stock(
    graded: Path, stock: dict[str, bytes], tmp_path: Path
) -> None:
    """The converter and exporter one writer reuses carry nothing from one student to the next, and
    write the same student twice in a row (nbgrader removes the folder in between)."""
    course = _fresh(graded, tmp_path / "root")
    writer = FeedbackWriter(course)
    for student in ("wrong", "wrong", "key", "wrong", "blank"):
        assert writer.write("toy", student)
    mine = pages(course)
    for student in ("key", "wrong", "blank"):
        assert mine[f"{student}/toy/toy.html"] == stock[f"{student}/toy/toy.html"], student


def test_a_student_that_fails_in_a_worker_fails_alone(graded: Path, tmp_path: Path) -> None:
    course = _fresh(graded, tmp_path / "root")
    shutil.copytree(course / "autograded" / "key", course / "autograded" / "ghost")
    done = write_class_feedback(course, "toy", jobs=2, chunk=1)
    assert list(done.failed) == ["ghost"]
    assert "nbgrader generate_feedback toy --student ghost failed" in done.failed["ghost"]
    assert {"key", "blank", "wrong"} <= set(done.written)
    assert (course / "feedback" / "key" / "toy" / "toy.html").is_file()
    assert not (course / "feedback" / "ghost").exists()


def test_a_stale_page_goes_when_the_autograded_notebook_does(graded: Path, tmp_path: Path) -> None:
    course = _fresh(graded, tmp_path / "root")
    assert write_class_feedback(course, "toy", students=["wrong"]).written == ["wrong"]
    shutil.rmtree(course / "autograded" / "wrong")
    done = write_class_feedback(course, "toy", students=["wrong"])
    assert done.without == ["wrong"] and not (course / "feedback" / "wrong" / "toy").exists()


def test_a_chunk_below_one_is_refused(graded: Path) -> None:
    with pytest.raises(ValueError, match="chunk must be at least 1"):
        write_class_feedback(graded / "course", "toy", chunk=0)


# ---------------------------------------------------------------- pages already up to date


def _set_manual_score(course: Path, student: str, cell: str, score: float) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grade = gb.find_grade(cell, "toy", "toy", student)
        grade.manual_score = score
        gb.db.commit()


@pytest.fixture
def fed(graded: Path, tmp_path: Path) -> Path:
    """A copy of the class with every page written."""
    course = _fresh(graded, tmp_path / "root")
    assert not write_class_feedback(course, "toy").failed
    return course


def test_a_second_run_writes_nothing_that_is_up_to_date(fed: Path) -> None:
    before = pages(fed)
    done = write_class_feedback(fed, "toy", jobs=2, chunk=1)
    assert done.written == [] and not done.failed
    assert sorted(done.current) == sorted({name.split("/")[0] for name in before})
    assert pages(fed) == before


def test_a_changed_grade_makes_only_that_page_stale(fed: Path, stock: dict[str, bytes]) -> None:
    _set_manual_score(fed, "wrong", "test-two", 2.5)
    done = write_class_feedback(fed, "toy")
    assert done.written == ["wrong"]
    page = (fed / "feedback" / "wrong" / "toy" / "toy.html").read_bytes()
    assert page != stock["wrong/toy/toy.html"] and b"2.5" in page


def test_pages_changed_by_hand_or_regraded_are_written_again(fed: Path, stock: dict[str, bytes]) -> None:
    (fed / "feedback" / "key" / "toy" / "toy.html").write_text("edited by hand")
    shutil.rmtree(fed / "feedback" / "blank")
    autograded = fed / "autograded" / "wrong" / "toy" / "toy.ipynb"
    autograded.write_text(autograded.read_text() + "\n")  # the same notebook, other bytes
    done = write_class_feedback(fed, "toy")
    assert sorted(done.written) == ["blank", "key", "wrong"]
    mine = pages(fed)
    assert all(mine[f"{s}/toy/toy.html"] == stock[f"{s}/toy/toy.html"] for s in ("blank", "key", "wrong"))


def test_new_settings_or_force_write_every_page(fed: Path) -> None:
    every = sorted(write_class_feedback(fed, "toy").current)
    assert write_class_feedback(fed, "toy", force=True).written == every
    config = fed / "nbgrader_config.py"
    config.write_text(config.read_text() + "\n# a changed setting\n")
    assert sorted(write_class_feedback(fed, "toy").written) == every


def test_the_gradebook_fingerprint_follows_each_student_s_own_entries(fed: Path) -> None:
    from nbgrader.api import Gradebook

    from autograder.feedback_state import gradebook_inputs

    url = f"sqlite:///{fed / 'gradebook.db'}"
    before = gradebook_inputs(url, "toy")
    assert {"key", "wrong"} <= set(before) and before["key"] != before["wrong"]
    with Gradebook(url) as gb:
        gb.find_comment("double", "toy", "toy", "wrong").manual_comment = "see me"
        gb.find_grade("test-more", "toy", "toy", "key").extra_credit = 1.0
        gb.db.commit()
    after = gradebook_inputs(url, "toy")
    changed = sorted(s for s in before if before[s] != after[s])
    assert changed == ["key", "wrong"]
    assert gradebook_inputs(url, "toy", ["wrong"]) == {"wrong": after["wrong"]}


# ---------------------------------------------------------------- pages made by the grading workers


@pytest.fixture(scope="module")
def graded_with_pages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The toy class autograded with ``feedback=True``: its course and the run."""
    root = tmp_path_factory.mktemp("feedback-workers")
    course = released_toy(root / "made").copy(root / "graded", STUDENTS)
    run = autograde(course, "toy", jobs=2, limits=LIMITS, feedback=True)
    return course, run


def test_workers_pages_are_stock_nbgrader_s(graded_with_pages: tuple[Path, object], tmp_path: Path) -> None:
    course, run = graded_with_pages
    copy = tmp_path / "stock"
    shutil.copytree(course.parent, copy, ignore=shutil.ignore_patterns("feedback", ".adcourse"))
    run_nbgrader(copy / "course", "generate_feedback", "toy", "--force")
    stock = pages(copy / "course")
    assert sorted(run.fed_back) == sorted({name.split("/")[0] for name in stock})
    mine = pages(course)
    assert sorted(mine) == sorted(stock)
    assert [name for name in stock if mine[name] != stock[name]] == []
    page = course / "feedback" / "key" / "toy" / "toy.html"
    assert page.stat().st_mode & 0o777 == 0o644  # as nbgrader writes it


def test_after_workers_pages_feedback_has_nothing_to_write(
    graded_with_pages: tuple[Path, object], tmp_path: Path
) -> None:
    course, run = graded_with_pages
    copy = _fresh(course.parent, tmp_path / "root")
    done = write_class_feedback(copy, "toy")
    assert done.written == [] and sorted(done.current) == sorted(run.fed_back)


def test_a_worker_s_page_that_no_longer_matches_is_not_kept(
    graded_with_pages: tuple[Path, object], tmp_path: Path
) -> None:
    """A manual grade the worker cannot know of makes its page differ from the course's: the page
    is left to adcourse feedback, which makes it with the manual grade."""
    course, _ = graded_with_pages
    copy = _fresh(course.parent, tmp_path / "root")
    _set_manual_score(copy, "wrong", "test-two", 2.5)
    again = autograde(copy, "toy", jobs=1, limits=LIMITS, students=["wrong", "key"], feedback=True)
    assert again.fed_back == ["key"]
    done = write_class_feedback(copy, "toy")
    assert done.written == ["wrong"]
    assert b"2.5" in (copy / "feedback" / "wrong" / "toy" / "toy.html").read_bytes()


def test_a_page_the_worker_cannot_make_is_reported_and_the_grade_kept(
    graded_with_pages: tuple[Path, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autograder.engine import pages as worker_pages

    def broken(bundle, result):
        raise RuntimeError("no pages today")

    monkeypatch.setattr(worker_pages, "make_pages", broken)  # jobs=1: the worker is this process
    course, _ = graded_with_pages
    copy = _fresh(course.parent, tmp_path / "root")
    run = autograde(copy, "toy", jobs=1, limits=LIMITS, students=["key"], feedback=True)
    assert [s.status for s in run.statuses] == ["graded"] and run.statuses[0].score > 0
    assert run.fed_back == [] and run.pages_failed == {"key": "RuntimeError: no pages today"}


# ---------------------------------------------------------------- pages made by a cluster's workers


@pytest.fixture(scope="module")
def cluster():
    """A Dask LocalCluster of 2 single-threaded worker processes on 127.0.0.1."""
    from autograder.engine.cluster import local_cluster

    with local_cluster(workers=2, port=0) as lc:
        yield lc.scheduler_address


def test_the_class_snapshot_holds_every_gradebook_entry(graded: Path, tmp_path: Path) -> None:
    """What workers make pages from: the same fingerprint of each student's entries as the course's
    (a manual grade included)."""
    from autograder.engine.snapshot import snapshot_class
    from autograder.feedback_state import gradebook_inputs

    course = _fresh(graded, tmp_path / "root")
    _set_manual_score(course, "wrong", "test-two", 2.5)
    url = f"sqlite:///{course / 'gradebook.db'}"
    copy = tmp_path / "snapshot.db"
    copy.write_bytes(snapshot_class(url, "toy"))
    want = gradebook_inputs(url, "toy")
    assert want and set(want) <= set(STUDENTS)
    assert gradebook_inputs(f"sqlite:///{copy}", "toy") == want


def test_a_cluster_s_workers_make_stock_nbgrader_s_pages(
    graded: Path, stock: dict[str, bytes], cluster: str, tmp_path: Path
) -> None:
    course = _fresh(graded, tmp_path / "root")
    done = write_class_feedback(course, "toy", cluster=cluster, chunk=2)
    assert not done.failed and done.remade == {}
    assert sorted(done.written) == sorted({name.split("/")[0] for name in stock})
    assert sorted(done.by_workers) == sorted(done.written)
    mine = pages(course)
    assert sorted(mine) == sorted(stock)
    assert [name for name in stock if mine[name] != stock[name]] == []
    assert (course / "feedback" / "key" / "toy" / "toy.html").stat().st_mode & 0o777 == 0o644
    again = write_class_feedback(course, "toy", cluster=cluster)
    assert again.written == [] and sorted(again.current) == sorted(done.written)


def test_a_page_the_cluster_made_from_other_entries_is_made_here(
    graded: Path, stock: dict[str, bytes], cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers' snapshot has a manual grade the course does not (as if the gradebook changed
    under them): that page is made by the client, from the course; a student who fails on the
    worker and here fails once, with nbgrader's error."""
    import sqlite3

    from autograder import feedback_cluster

    def other_book(writer: FeedbackWriter, assignment: str):
        book = real_book(writer, assignment)
        changed = tmp_path / "changed.db"
        changed.write_bytes(book.gradebook)
        with sqlite3.connect(changed) as db:
            db.execute(
                "UPDATE grade SET manual_score = 2.5"
                " WHERE cell_id IN (SELECT id FROM base_cell WHERE name = 'test-two') AND notebook_id IN"
                " (SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa"
                " ON sn.assignment_id = sa.id WHERE sa.student_id = 'wrong')"
            )
        db.close()
        return replace(book, gradebook=changed.read_bytes())

    real_book = feedback_cluster.class_book
    monkeypatch.setattr(feedback_cluster, "class_book", other_book)
    course = _fresh(graded, tmp_path / "root")
    shutil.copytree(course / "autograded" / "key", course / "autograded" / "ghost")
    done = write_class_feedback(course, "toy", cluster=cluster, chunk=3)
    assert sorted(done.remade) == ["ghost", "wrong"]
    assert "other inputs" in done.remade["wrong"] and "the worker failed" in done.remade["ghost"]
    assert list(done.failed) == ["ghost"] and "generate_feedback toy --student ghost" in done.failed["ghost"]
    assert "wrong" in done.written and "wrong" not in done.by_workers
    assert {"key", "blank"} <= set(done.by_workers)
    mine = pages(course)
    assert [name for name in stock if mine[name] != stock[name]] == []


def test_adcourse_feedback_on_a_cluster_says_who_made_the_pages(
    graded: Path, cluster: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from autograder.cli import main

    course = _fresh(graded, tmp_path / "root")
    assert main(["--course", str(course), "feedback", "toy", "--student", "key", "--cluster", cluster]) == 0
    out = capsys.readouterr().out
    assert "feedback for toy: 1 student(s)" in out
    assert "1 made by the cluster's workers, 0 here instead" in out
    assert (course / "feedback" / "key" / "toy" / "toy.html").is_file()
