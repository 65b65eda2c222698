"""The batched gradebook writer writes exactly the rows nbgrader's own preprocessors write.

The same results are recorded into two copies of one released gradebook: one result at a time
through nbgrader's ``SaveAutoGrades`` and ``AssignLatePenalties`` (:func:`record_each`, what the
engine did before batches) and in batches (:func:`record_many`). Every row of the tables
``student``, ``submitted_assignment``, ``submitted_notebook``, ``grade`` and ``comment`` must be the
same in both, as stored (the ids of the rows a submission gets are new uuids in each copy, so rows
are matched by student, assignment, notebook and cell), and so must the autograded notebooks and
the status files.

The results are made here, without a kernel: the toy assignment's released notebook (tests
``test-two`` 3 points, ``test-more`` 2, ``test-square`` 4, the written ``explain`` 5; solution cells
``double`` and ``square``) with the outputs a grading run leaves. The class, on a due date of
2030-01-01:

* ``key``: every test passes, ``explain`` answered (waits for a grader); on time;
* ``blank``: the release untouched, every test an error (``No response.`` comments);
* ``partial``: ``test-more`` prints to stderr, ``test-square`` gives partial credit (``1.5``);
* ``late``, ``later``: the key, a day and a year late (a penalty, clamped to the score);
* ``ext``: the key, a day late, then granted two days' extension and re-recorded (no penalty);
* ``gone``: the notebook missing (zero, nothing to grade by hand);
* ``dropped``: ``test-square`` deleted from the notebook (its grade row untouched);
* ``regraded``: recorded as ``blank``, then given a manual score and extra credit on ``test-two``
  by a grader, then recorded again as ``key`` (``needs_manual_grade`` stays set);
* ``twice``: recorded twice in one batch (the second wins, as one after the other).

Under two course configs: stock nbgrader's ``c.LateSubmissionPlugin.penalty_method = "zero"``,
and a plugin of the course's own (one point an hour late) through ``c.AssignLatePenalties``.
The PostgreSQL run is marked slow (:mod:`helpers.slow`).
"""

from __future__ import annotations

import datetime
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers.pgserver import copy_gradebook
from helpers.toycourse import KEY, Toy
from nbgrader.plugins import LateSubmissionPlugin
from traitlets.config import Config

from autograder.engine.results import NotebookResult, SubmissionResult
from autograder.engine.status import status_dir
from autograder.engine.writer import record, record_each, record_many

TABLES = ("student", "submitted_assignment", "submitted_notebook", "grade", "comment")
DUE = datetime.datetime(2030, 1, 1)
ON_TIME = "2029-12-31 23:00:00.000000 UTC"
A_DAY_LATE = "2030-01-02 00:00:00 UTC"
A_YEAR_LATE = "2031-01-01T00:00:00+02:00"


class HourlyPenalty(LateSubmissionPlugin):
    """A course's own late penalty: one point per hour late (nbgrader clamps it to the score)."""

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        return total_seconds_late / 3600


class DyingPenalty(LateSubmissionPlugin):
    """A late penalty that kills the process: a crash in the middle of a batch's transaction."""

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        os._exit(3)


def zero_config() -> Config:
    c = Config()
    c.LateSubmissionPlugin.penalty_method = "zero"
    return c


def hourly_config() -> Config:
    c = Config()
    c.AssignLatePenalties.plugin_class = HourlyPenalty
    return c


# ---------------------------------------------------------------- results, without a kernel


def error() -> Any:
    return nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong", traceback=["wrong"])


def graded(toy: Toy, answers: dict[str, str], outputs: dict[str, list[Any]], drop: Sequence[str] = ()) -> str:
    """The released notebook with ``answers`` (grade id -> source) and ``outputs`` (test -> outputs),
    the cells in ``drop`` removed, as the worker's JSON."""
    nb = toy.notebook(answers)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in drop]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code":
            cell.outputs = outputs.get(grade_id, [])
            cell.execution_count = 1
    return nbformat.writes(nb)


def result(
    student: str, notebook: str | None, timestamp: str | None = None, status: str = "graded"
) -> SubmissionResult:
    scores = {"test-two": (3.0, 3.0), "test-more": (2.0, 2.0), "test-square": (4.0, 4.0)}
    nb = NotebookResult("toy", notebook, scores, status, "" if notebook else "no toy.ipynb was submitted")
    return SubmissionResult(student, "toy", (nb,), {"notes.txt": f"{student}\n".encode()}, timestamp)


def class_results(toy: Toy) -> dict[str, str]:
    answered = {**KEY, "explain": "Because d(2x)/dx = 2."}
    fail_all = {t: [error()] for t in ("test-two", "test-more", "test-square")}
    stderr = nbformat.v4.new_output("stream", name="stderr", text="careful\n")
    partial_credit = nbformat.v4.new_output("execute_result", data={"text/plain": "1.5"}, execution_count=1)
    return {
        "key": graded(toy, answered, {}),
        "blank": graded(toy, {}, fail_all),
        "partial": graded(
            toy, {"double": KEY["double"]}, {"test-more": [stderr], "test-square": [partial_credit]}
        ),
        "dropped": graded(toy, KEY, {}, drop=("test-square",)),
    }


def first_round(toy: Toy) -> list[SubmissionResult]:
    nbs = class_results(toy)
    return [
        result("key", nbs["key"], ON_TIME),
        result("blank", nbs["blank"]),
        result("partial", nbs["partial"], ON_TIME),
        result("late", nbs["key"], A_DAY_LATE),
        result("later", nbs["key"], A_YEAR_LATE),
        result("ext", nbs["key"], A_DAY_LATE),
        result("gone", None, ON_TIME, "missing notebook"),
        result("dropped", nbs["dropped"], A_DAY_LATE),
        result("regraded", nbs["blank"], ON_TIME),
        result("twice", nbs["key"], A_DAY_LATE),
        result("twice", nbs["partial"]),
    ]


def second_round(toy: Toy) -> list[SubmissionResult]:
    nbs = class_results(toy)
    return [
        result("regraded", nbs["key"], A_DAY_LATE),
        result("ext", nbs["key"]),
        result("gone", nbs["partial"], A_YEAR_LATE),
        result("new", nbs["blank"]),
    ]


def by_a_grader(url: str) -> None:
    """What an instructor does between the rounds: a manual score and extra credit, an extension."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        grade = gb.find_grade("test-two", "toy", "toy", "regraded")
        grade.manual_score, grade.extra_credit = 2.5, 1.0
        gb.db.commit()
        gb.grant_extension("toy", "ext", days=2)


# ---------------------------------------------------------------- the gradebook, row for row


def raw_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of :data:`TABLES`, as stored."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {t}"))] for t in TABLES}
    finally:
        engine.dispose()


def rows(url: str) -> dict[str, dict[Any, dict[str, Any]]]:
    """:func:`raw_rows` keyed by what they are of (student, assignment, notebook, cell): each
    submission's rows have ids of their own in each gradebook."""
    raw = raw_rows(url)
    subs = {r["id"]: (r["assignment_id"], r["student_id"]) for r in raw["submitted_assignment"]}
    nbs = {r["id"]: (subs[r["assignment_id"]], r["notebook_id"]) for r in raw["submitted_notebook"]}
    out: dict[str, dict[Any, dict[str, Any]]] = {"student": {r["id"]: r for r in raw["student"]}}
    out["submitted_assignment"] = {subs[r["id"]]: {**r, "id": None} for r in raw["submitted_assignment"]}
    out["submitted_notebook"] = {
        nbs[r["id"]]: {**r, "id": None, "assignment_id": subs[r["assignment_id"]]}
        for r in raw["submitted_notebook"]
    }
    for table in ("grade", "comment"):
        keyed = {
            (nbs[r["notebook_id"]], r["cell_id"]): {**r, "id": None, "notebook_id": None} for r in raw[table]
        }
        assert len(keyed) == len(raw[table])
        out[table] = keyed
    return out


def files(course: Path) -> dict[str, bytes]:
    """The autograded folder and the status files, by path."""
    found = {}
    for top in (course / "autograded", status_dir(course, "toy")):
        for path in sorted(top.rglob("*")):
            if path.is_file():
                found[str(path.relative_to(course))] = path.read_bytes()
    return found


Url = Callable[[Path], str]


def two_courses(toy: Toy, tmp_path: Path, make_url: Url) -> tuple[tuple[Path, str], tuple[Path, str]]:
    """Two copies of the released toy course, each with its own copy of the gradebook (due 2030-01-01)."""
    from nbgrader.api import Gradebook

    released = f"sqlite:///{toy.root / 'course' / 'gradebook.db'}"
    out = []
    for name in ("each", "many"):
        course = tmp_path / name
        course.mkdir()
        url = make_url(course)
        if url.startswith("sqlite:///"):
            shutil.copy(toy.root / "course" / "gradebook.db", course / "gradebook.db")
        else:
            copy_gradebook(released, url)
        with Gradebook(url) as gb:
            gb.update_or_create_assignment("toy", duedate=DUE)
        out.append((course, url))
    return out[0], out[1]


def sqlite_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def check_both_ways(toy: Toy, tmp_path: Path, make_url: Url, config: Config, batch: int = 4) -> None:
    (each_course, each_url), (many_course, many_url) = two_courses(toy, tmp_path, make_url)
    for round_ in (first_round(toy), second_round(toy)):
        want = [record_each(each_course, each_url, r, config) for r in round_]
        got = []
        for start in range(0, len(round_), batch):
            got += record_many(many_course, many_url, round_[start : start + batch], config)
        assert got == want
        assert rows(many_url) == rows(each_url)
        assert files(many_course) == files(each_course)
        before = raw_rows(many_url)
        by_a_grader(each_url)
        by_a_grader(many_url)
    # The rows of a known submission keep their ids when it is recorded again.
    after = raw_rows(many_url)
    for table in TABLES:
        assert {r["id"] for r in before[table]} <= {r["id"] for r in after[table]}


def by_student(url: str) -> dict[str, dict[Any, dict[str, Any]]]:
    """The rows of :func:`rows` keyed by student (and cell name, for grades and comments)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = dict(conn.execute(text("SELECT id, name FROM base_cell")).all())
    finally:
        engine.dispose()
    found = rows(url)
    out: dict[str, dict[Any, dict[str, Any]]] = {
        "submitted_notebook": {key[0][1]: r for key, r in found["submitted_notebook"].items()}
    }
    for table in ("grade", "comment"):
        out[table] = {(key[0][0][1], names[key[1]]): r for key, r in found[table].items()}
    return out


def test_what_the_class_looks_like_in_the_gradebook(toy: Toy, tmp_path: Path) -> None:
    """The hand-worked cases are what they claim (so the comparisons below compare something)."""
    (course, url), _ = two_courses(toy, tmp_path, sqlite_url)
    record_many(course, url, first_round(toy), hourly_config())
    found = by_student(url)
    grades = {key: (r["auto_score"], bool(r["needs_manual_grade"])) for key, r in found["grade"].items()}
    assert grades["key", "test-two"] == (3, False) and grades["key", "explain"] == (None, True)
    assert grades["blank", "test-two"] == (0, False) and grades["blank", "explain"] == (0, False)
    assert grades["partial", "test-more"] == (0, False) and grades["partial", "test-square"] == (1.5, False)
    assert grades["dropped", "test-square"] == (None, True)  # never graded: its cell was deleted
    assert grades["gone", "test-two"] == (0, False) and grades["gone", "explain"] == (0, False)
    assert grades["twice", "test-two"] == (3, False) and grades["twice", "test-more"] == (0, False)
    penalties = {s: r["late_submission_penalty"] for s, r in found["submitted_notebook"].items()}
    assert penalties["late"] == 9.0 and penalties["later"] == 9.0  # 24 points an hour late, clamped
    assert penalties["dropped"] == 5.0 and penalties["twice"] == 4.5  # twice: late as first recorded
    assert penalties["key"] is None and penalties["gone"] is None
    comments = {key: r["auto_comment"] for key, r in found["comment"].items()}
    assert comments["blank", "double"] == "No response." and comments["key", "double"] is None
    assert comments["gone", "double"] is None


@pytest.mark.parametrize("config", [zero_config, hourly_config], ids=["zero", "own-plugin"])
def test_batches_write_the_rows_nbgrader_writes_on_sqlite(
    toy: Toy, tmp_path: Path, config: Callable[[], Config]
) -> None:
    check_both_ways(toy, tmp_path, sqlite_url, config())


def test_batches_write_the_rows_nbgrader_writes_on_postgresql(
    toy: Toy, tmp_path: Path, pg_server: Any
) -> None:
    check_both_ways(toy, tmp_path, lambda course: pg_server.create_database(), hourly_config(), batch=50)


def test_a_batch_that_fails_leaves_nothing_and_a_rerun_records_it_once(toy: Toy, tmp_path: Path) -> None:
    """A failure in the middle of a batch: the gradebook as before it, no files of it; recording the
    batch again (twice) gives the gradebook of one recording, row ids included."""
    (each_course, each_url), (many_course, many_url) = two_courses(toy, tmp_path, sqlite_url)
    config = zero_config()
    batch = first_round(toy)
    for r in batch:
        record_each(each_course, each_url, r, config)
    before = raw_rows(many_url)
    nb = nbformat.reads(batch[0].notebooks[0].notebook, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test-more"]
    cell.metadata.nbgrader["grade_id"] = "not-in-the-gradebook"
    bad = result("bad", nbformat.writes(nb))
    with pytest.raises(ValueError, match="not-in-the-gradebook"):
        record_many(many_course, many_url, [*batch[:5], bad, *batch[5:]], config)
    assert raw_rows(many_url) == before
    assert files(many_course) == {}
    record_many(many_course, many_url, batch, config)
    once = raw_rows(many_url)
    record_many(many_course, many_url, batch, config)
    assert raw_rows(many_url) == once
    assert rows(many_url) == rows(each_url)
    assert files(many_course) == files(each_course)


def test_record_is_a_batch_of_one(toy: Toy, tmp_path: Path) -> None:
    (each_course, each_url), (many_course, many_url) = two_courses(toy, tmp_path, sqlite_url)
    for r in first_round(toy)[:3]:
        assert record(many_course, many_url, r, zero_config()) == record_each(
            each_course, each_url, r, zero_config()
        )
    assert rows(many_url) == rows(each_url)
    assert record_many(many_course, many_url, []) == []


CRASH = """
import pickle, sys
from traitlets.config import Config
from autograder.engine.writer import record_many
course, url, results = pickle.load(open(sys.argv[1], "rb"))
c = Config()
c.AssignLatePenalties.plugin_class = "test_writer.DyingPenalty"
record_many(course, url, results, c)
"""


def test_a_process_killed_in_the_middle_of_a_batch_loses_nothing(toy: Toy, tmp_path: Path) -> None:
    """The writer's process dies inside the transaction (after the grades of the batch were written,
    at the first late penalty): the gradebook is as before, no file of the batch is written, and
    recording the batch again gives the gradebook nbgrader's own steps give."""
    (each_course, each_url), (many_course, many_url) = two_courses(toy, tmp_path, sqlite_url)
    batch = first_round(toy)
    before = raw_rows(many_url)
    (tmp_path / "batch.pickle").write_bytes(pickle.dumps((many_course, many_url, batch)))
    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests.parent), str(tests)])}
    crash = subprocess.run(
        [sys.executable, "-c", CRASH, str(tmp_path / "batch.pickle")], env=env, check=False
    )
    assert crash.returncode == 3
    assert raw_rows(many_url) == before
    assert files(many_course) == {}
    for r in batch:
        record_each(each_course, each_url, r, zero_config())
    record_many(many_course, many_url, batch, zero_config())
    assert rows(many_url) == rows(each_url)
    assert files(many_course) == files(each_course)
