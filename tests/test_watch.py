"""``adcourse watch``: every submission graded once as it arrives, with feedback, through faults and restarts.

The class is the toy class of :mod:`helpers.toycourse` (its docstring works the points out by hand)
released without its written answer, so the assignment ``toy`` is worth its three autograded
tests, 9 points: ``key`` 9, ``blank`` 0, ``wrong`` 4, ``partial`` 3, ``corrupt`` 0 (an unreadable
notebook). One student of the watcher's own, ``slow``, submits the key with ``time.sleep(4)``
atop ``square``: 9 points, graded.

``blank`` later re-submits ``partial``'s notebook (3 points), ``wrong`` a corrupt one (0 points).
Tests of the watcher's bookkeeping (retries, failures) replace the grading engine with a stand-in
and grade nothing for real.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from helpers.processes import Lines, stop
from helpers.toycourse import KEY, Toy, expected_points, gradebook_points, released_toy, submit

from autograder import watch as watch_module
from autograder.cli import main
from autograder.engine import SubmissionStatus
from autograder.nbgrader_cli import nbgrader_env, run_nbgrader
from autograder.paths import CourseError
from autograder.watch import Watcher
from autograder.watch_state import Outcome, WatchStateError, history_path, state_path

WRONG = {**KEY, "double": "def double(x):\n    return 3 * x"}
PARTIAL = {"double": "def double(x):\n    return x * x"}
SLOW = {**KEY, "square": "import time\n\ntime.sleep(4)\n\n" + KEY["square"]}
CORRUPT = b'{"cells": [ not json'
RESUBMITTED = "2031-05-06 07:08:09.000000 UTC"

# points per test cell, by hand (the table of helpers.toycourse)
POINTS = expected_points(("key", "blank", "wrong", "partial", "corrupt"))


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Toy:
    """The toy class without its written answer (so feedback reads "Score: 9.0 / 9.0")."""
    return released_toy(tmp_path_factory.mktemp("toy"), written=False)


def watcher(course: Path, **options: Any) -> tuple[Watcher, list[Outcome], list[str]]:
    """A watcher of ``toy`` on one worker, with the outcomes it reports and the messages it logs."""
    outcomes: list[Outcome] = []
    messages: list[str] = []
    w = Watcher(course, "toy", jobs=1, on_outcome=outcomes.append, log=messages.append, **options)
    return w, outcomes, messages


def summary(outcomes: list[Outcome]) -> dict[str, tuple[str, str, float | None]]:
    return {o.student: (o.result, o.status, o.score) for o in outcomes}


def feedback_html(course: Path, student: str) -> Path:
    return course / "feedback" / student / "toy" / "toy.html"


def feedback_pages(course: Path) -> dict[str, str | None]:
    """The feedback page of each student of the watched class, or None if there is none."""
    pages = {}
    for student in ("key", "blank", "wrong", "corrupt"):
        path = feedback_html(course, student)
        pages[student] = path.read_text(encoding="utf-8") if path.exists() else None
    return pages


def read_state(course: Path) -> dict[str, Any]:
    return json.loads(state_path(course, "toy").read_text(encoding="utf-8"))


def read_history(course: Path) -> list[dict[str, Any]]:
    """The watcher's history log beside the state file, one outcome a line."""
    text = history_path(state_path(course, "toy")).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


# ---------------------------------------------------------------- a watched class, graded for real


@dataclass
class Watched:
    course: Path
    first: list[Outcome]
    second: list[Outcome]
    third: list[Outcome]
    points_first: dict[str, dict[str, float]]
    points_third: dict[str, dict[str, float]]
    feedback_first: dict[str, str | None]
    feedback_third: dict[str, str | None]


@pytest.fixture(scope="module")
def watched(toy: Toy, tmp_path_factory: pytest.TempPathFactory) -> Watched:
    """Round 1: key, blank, wrong, corrupt. Round 2 by a new watcher: nothing new. Round 3: blank
    re-submits partial's notebook with a new timestamp, wrong re-submits a corrupt notebook, and
    key's notebook is written again, byte for byte."""
    course = toy.copy(tmp_path_factory.mktemp("watched") / "c")
    submit(course, "key", {"toy.ipynb": toy.notebook(KEY)})
    submit(course, "blank", {"toy.ipynb": toy.notebook({})})
    submit(course, "wrong", {"toy.ipynb": toy.notebook(WRONG)})
    submit(course, "corrupt", {"toy.ipynb": CORRUPT})

    first_watcher, reported, _ = watcher(course)
    first_watcher.round()
    first = list(reported)
    points_first = gradebook_points(course)
    feedback_first = feedback_pages(course)

    second_watcher, second, _ = watcher(course)  # a restarted watcher: only the state file carries over
    second_watcher.round()

    shutil.rmtree(course / "submitted" / "blank" / "toy")
    submit(course, "blank", {"toy.ipynb": toy.notebook(PARTIAL)})
    (course / "submitted" / "blank" / "toy" / "timestamp.txt").write_text(RESUBMITTED + "\n")
    key_nb = course / "submitted" / "key" / "toy" / "toy.ipynb"
    key_nb.write_bytes(key_nb.read_bytes())  # the same submission, written again
    (course / "submitted" / "wrong" / "toy" / "toy.ipynb").write_bytes(CORRUPT)
    reported.clear()
    first_watcher.round()
    third = list(reported)
    return Watched(
        course,
        first,
        second,
        third,
        points_first,
        gradebook_points(course),
        feedback_first,
        feedback_pages(course),
    )


def test_first_round_grades_every_submission(watched: Watched) -> None:
    assert summary(watched.first) == {
        "blank": ("done", "graded", 0.0),
        "corrupt": ("done", "unreadable notebook", 0.0),
        "key": ("done", "graded", 9.0),
        "wrong": ("done", "graded", 4.0),
    }
    assert watched.points_first == {s: POINTS[s] for s in ("key", "blank", "wrong", "corrupt")}
    assert {o.max_score for o in watched.first} == {9.0}


def test_a_corrupt_notebook_is_finished_with_its_status_and_no_feedback(watched: Watched) -> None:
    corrupt = next(o for o in watched.first if o.student == "corrupt")
    assert "not a readable notebook" in corrupt.detail
    assert corrupt.feedback is False
    assert not feedback_html(watched.course, "corrupt").exists()
    assert corrupt.line().startswith("corrupt: 0/9 unreadable notebook (")


def test_feedback_is_written_for_each_graded_student(watched: Watched) -> None:
    """nbgrader's feedback page shows each total; it follows a re-submission, and goes with a corrupt one."""
    first, third = watched.feedback_first, watched.feedback_third
    for student, total in (("key", "9.0"), ("blank", "0.0"), ("wrong", "4.0")):
        assert f"Score: {total} / 9.0)" in (first[student] or ""), student
    assert first["corrupt"] is None
    assert third["key"] == first["key"]
    assert "Score: 3.0 / 9.0)" in (third["blank"] or "")
    assert third["wrong"] is None  # the old page no longer matches the gradebook
    assert all(o.feedback for o in watched.first if o.student != "corrupt")


def test_a_restarted_watcher_grades_nothing_again(watched: Watched) -> None:
    assert watched.second == []


def test_a_resubmission_is_graded_again_and_its_grade_recorded(watched: Watched) -> None:
    assert summary(watched.third) == {
        "blank": ("done", "graded", 3.0),
        "wrong": ("done", "unreadable notebook", 0.0),
    }
    assert watched.third[0].timestamp == RESUBMITTED
    assert watched.third[1].feedback is False
    assert watched.points_third == {
        **watched.points_first,
        "blank": POINTS["partial"],
        "wrong": POINTS["corrupt"],
    }


def test_state_records_each_grading_once(watched: Watched) -> None:
    state, history = read_state(watched.course), read_history(watched.course)
    assert state["version"] == 2 and state["assignment"] == "toy"
    assert state["history"] == {"file": "toy.history.jsonl", "outcomes": 6}
    graded = [(entry["student"], entry["score"]) for entry in history]
    assert sorted(graded) == [
        ("blank", 0.0),
        ("blank", 3.0),
        ("corrupt", 0.0),
        ("key", 9.0),
        ("wrong", 0.0),
        ("wrong", 4.0),
    ]
    blanks = [entry["fingerprint"] for entry in history if entry["student"] == "blank"]
    assert len(set(blanks)) == 2
    assert state["finished"]["blank"]["fingerprint"] == blanks[1]
    assert state["finished"]["blank"]["timestamp"] == RESUBMITTED
    assert state["attempts"] == {}


PATCHED = {**KEY, "double": "import numpy as np\n\nnp.allclose = lambda *a, **k: True\n\n" + KEY["double"]}


def test_a_flagged_submission_shows_its_flags_in_its_line(toy: Toy, tmp_path: Path) -> None:
    """The tamper check's findings reach the watch line and the state; the score is the key's 9."""
    course = toy.copy(tmp_path / "c")
    submit(course, "patcher", {"toy.ipynb": toy.notebook(PATCHED)})
    w, outcomes, _ = watcher(course)
    w.round()
    (outcome,) = outcomes
    assert (outcome.result, outcome.status, outcome.score) == ("done", "graded", 9.0)
    assert len(outcome.flags) == 1 and outcome.flags[0].startswith("monkeypatch: ")
    assert "numpy.allclose" in outcome.flags[0]
    assert outcome.line() == f"patcher: 9/9 graded [integrity flags: {outcome.flags[0]}]"
    restarted, again, _ = watcher(course)  # the flags survive a restart, as read from the state file
    assert restarted.round().outcomes == [] and again == []
    assert read_state(course)["finished"]["patcher"]["flags"] == list(outcome.flags)


def test_a_state_file_from_before_flags_were_kept_still_loads(tmp_path: Path) -> None:
    from autograder.watch_state import WatchState

    entry = {
        "student": "ada", "fingerprint": "f", "timestamp": None, "result": "done", "status": "graded",
        "score": 1.0, "max_score": 2.0, "detail": "", "feedback": True, "attempts": 1, "time": "t",
    }  # fmt: skip
    path = tmp_path / "toy.json"
    old = {"version": 1, "assignment": "toy", "finished": {"ada": entry}, "attempts": {}, "history": [entry]}
    old["inbound"] = None
    path.write_text(json.dumps(old))
    state = WatchState.load(path, "toy")
    assert state.finished["ada"].flags == () and state.finished["ada"].line() == "ada: 1/2 graded"


def test_the_engine_and_the_watcher_fingerprint_a_folder_alike(tmp_path: Path) -> None:
    """Nested files (whose path order differs from their string order), a timestamp, a symlink
    and checkpoints: both read the same submission and give it the same fingerprint."""
    from autograder.engine.submission import find_submissions
    from autograder.watch_state import Scanner

    folder = tmp_path / "c" / "submitted" / "ada" / "toy"
    (folder / "a" / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "a" / "b").write_bytes(b"nested")
    (folder / "a.txt").write_bytes(b"flat")
    (folder / "a" / ".ipynb_checkpoints" / "toy-checkpoint.ipynb").write_bytes(b"ignored")
    (folder / "toy.ipynb").write_bytes(b"{}")
    (folder / "link.ipynb").symlink_to(folder / "toy.ipynb")
    (folder / "timestamp.txt").write_text("2031-05-06 07:08:09 UTC\n")
    (engine,) = find_submissions(tmp_path / "c", "toy")
    (watched,) = Scanner(tmp_path / "c", "toy").scan()
    assert list(engine.files) == ["a/b", "a.txt", "toy.ipynb"] and engine.timestamp == watched.timestamp
    assert engine.fingerprint == watched.fingerprint
    (folder / "timestamp.txt").write_text("2031-05-06 07:08:10 UTC\n")  # a re-submission
    assert find_submissions(tmp_path / "c", "toy")[0].fingerprint != engine.fingerprint


def test_a_watcher_after_autograde_only_writes_the_feedback(toy: Toy, tmp_path: Path) -> None:
    """What `adcourse autograde` graded is not graded again; a later re-submission is."""
    from autograder.engine import autograde

    course = toy.copy(tmp_path / "c")
    submit(course, "key", {"toy.ipynb": toy.notebook(KEY)})
    submit(course, "wrong", {"toy.ipynb": toy.notebook(WRONG)})
    autograde(course, "toy", jobs=1)
    assert not (course / "feedback").exists()
    w, outcomes, messages = watcher(course)
    w.round()
    assert summary(outcomes) == {"key": ("done", "graded", 9.0), "wrong": ("done", "graded", 4.0)}
    assert messages == [
        "key: already graded by adcourse autograde; feedback written",
        "wrong: already graded by adcourse autograde; feedback written",
    ]
    assert all(feedback_html(course, s).is_file() for s in ("key", "wrong"))
    (course / "submitted" / "wrong" / "toy" / "toy.ipynb").write_text(nbformat.writes(toy.notebook(KEY)))
    outcomes.clear()
    w.round()
    assert summary(outcomes) == {"wrong": ("done", "graded", 9.0)}
    assert messages[-1] == "grading wrong"
    assert gradebook_points(course)["wrong"] == {"test-two": 3.0, "test-more": 2.0, "test-square": 4.0}


# ---------------------------------------------------------------- stopped by SIGTERM, then restarted


def adcourse(course: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "autograder.cli", "--course", str(course), *args]


def test_sigterm_finishes_the_batch_and_a_restart_grades_the_rest(toy: Toy, tmp_path: Path) -> None:
    """One submission per batch: SIGTERM while b_slow is graded lets it finish, c_wrong waits."""
    course = toy.copy(tmp_path / "c")
    submit(course, "a_key", {"toy.ipynb": toy.notebook(KEY)})
    submit(course, "b_slow", {"toy.ipynb": toy.notebook(SLOW)})
    submit(course, "c_wrong", {"toy.ipynb": toy.notebook(WRONG)})
    command = adcourse(course, "watch", "toy", "--jobs", "1", "--batch", "1", "--interval", "0.5")
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=nbgrader_env(), cwd=tmp_path
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        out, log = Lines(proc.stdout, "adcourse watch"), Lines(proc.stderr, "adcourse watch's log")
        first_line = out.wait_for(lambda line: True, timeout=300)
        # SIGTERM only once b_slow's batch has started (between batches the watcher stops at once)
        log.wait_for(lambda line: "grading b_slow" in line, timeout=300)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
        rest, errors = "".join(out.rest(60)), "".join(log.rest(60))
    finally:
        stop(proc)
    assert proc.returncode == 0, errors
    assert "SIGTERM: stopping after the current batch" in errors
    stopped = [first_line.strip(), *rest.splitlines()]
    assert stopped == ["a_key: 9/9 graded", "b_slow: 9/9 graded"]

    again = subprocess.run(
        adcourse(course, "watch", "toy", "--once", "--jobs", "1"),
        capture_output=True,
        text=True,
        env=nbgrader_env(),
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["c_wrong: 4/9 graded"]

    history = [entry["student"] for entry in read_history(course)]
    assert sorted(history) == ["a_key", "b_slow", "c_wrong"]
    assert gradebook_points(course) == {
        "a_key": POINTS["key"],
        "b_slow": POINTS["key"],
        "c_wrong": POINTS["wrong"],
    }
    for student in ("a_key", "b_slow", "c_wrong"):
        assert feedback_html(course, student).is_file(), student


# ---------------------------------------------------------------- the nbgrader exchange


def student_submits(course: Path, workspace: Path, student: str, nb: nbformat.NotebookNode) -> None:
    """``nbgrader submit toy`` by ``student`` from their own folder, into the course's exchange."""
    folder = workspace / "toy"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "toy.ipynb")
    run_nbgrader(
        workspace,
        "submit",
        "toy",
        "--course=ad-course",
        f"--student={student}",
        f"--Exchange.root={course / 'exchange'}",
        f"--Exchange.cache={workspace / 'cache'}",
    )


def test_exchange_submissions_are_collected_and_graded(toy: Toy, tmp_path: Path) -> None:
    course = toy.copy(tmp_path / "c")
    w, outcomes, _ = watcher(course)
    assert w.round().collected is False  # no exchange folder yet: nothing to collect
    run_nbgrader(course, "release_assignment", "toy")
    student_submits(course, tmp_path / "ada", "ada", toy.notebook(KEY))

    first = w.round()
    assert first.collected is True
    assert summary(outcomes) == {"ada": ("done", "graded", 9.0)}

    student_submits(course, tmp_path / "ada", "ada", toy.notebook(WRONG))
    outcomes.clear()
    second = w.round()
    assert second.collected is True
    assert summary(outcomes) == {"ada": ("done", "graded", 4.0)}
    assert gradebook_points(course) == {"ada": POINTS["wrong"]}

    outcomes.clear()
    assert w.round().collected is False  # the inbound folder did not change
    assert outcomes == []


# ---------------------------------------------------------------- failures, with a stand-in engine


class FakeEngine:
    """Stands in for the grading session (``GradingSession``): records each batch it is asked to
    grade; ``crash(students)`` says whether grading it raises."""

    def __init__(self, crash: Callable[[list[str]], bool], status: str = "graded") -> None:
        self.calls: list[list[str]] = []
        self.crash = crash
        self.status = status
        self.sessions = 0
        self.cluster_workers: int | Exception = 1  # what workers() answers

    def __call__(self, course: Path, assignment: str, **_: Any) -> FakeEngine:
        self.sessions += 1
        self.assignment = assignment
        return self

    def refresh(self) -> None:
        pass

    def page_kept(self, student: str) -> bool:
        return False

    def workers(self) -> int:
        if isinstance(self.cluster_workers, Exception):
            raise self.cluster_workers
        return self.cluster_workers

    def close(self, wait: bool = True) -> None:
        pass

    def grade(self, students: list[str], on_graded: Any) -> None:
        self.calls.append(list(students))
        if self.crash(students):
            raise RuntimeError("the engine broke")
        for student in students:
            on_graded(SubmissionStatus(student, self.assignment, self.status, "a worker failed", 1.0, 9.0))


@pytest.fixture
def two_students(toy: Toy, tmp_path: Path) -> Path:
    course = toy.copy(tmp_path / "c")
    submit(course, "bad", {"toy.ipynb": b"bad, first version"})
    submit(course, "good", {"toy.ipynb": b"good"})
    return course


def test_a_crashing_round_is_retried_then_marked_failed(
    two_students: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine(lambda students: True)
    monkeypatch.setattr(watch_module, "GradingSession", engine)
    w, outcomes, messages = watcher(two_students, max_attempts=3)
    assert w.round().retrying == ["bad", "good"]
    assert messages[0] == "grading bad, good"
    assert "the grading round failed (RuntimeError: the engine broke)" in messages[1]
    assert w.round().retrying == ["bad", "good"]
    assert w.round().retrying == []
    assert engine.calls == [["bad", "good"], ["bad"], ["good"], ["bad"], ["good"]]  # retries one at a time
    assert summary(outcomes) == {"bad": ("failed", "error", None), "good": ("failed", "error", None)}
    assert (
        outcomes[0].line()
        == "bad: failed after 3 attempts (the grading round failed (RuntimeError: the engine broke))"
    )

    assert w.round().outcomes == []  # given up: not tried again ...
    assert len(engine.calls) == 5
    (two_students / "submitted" / "bad" / "toy" / "toy.ipynb").write_bytes(b"bad, second version")
    assert w.round().retrying == ["bad"]  # ... until the student submits again
    assert engine.calls[-1] == ["bad"]
    assert read_state(two_students)["attempts"]["bad"]["count"] == 1


def test_one_crashing_submission_does_not_hold_back_the_others(
    two_students: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine(lambda students: "bad" in students)
    monkeypatch.setattr(watch_module, "GradingSession", engine)
    w = watcher(two_students, max_attempts=2)[0]
    w.round()  # together: both fail
    second = w.round()  # alone: good is graded, bad fails for the second time
    assert engine.calls == [["bad", "good"], ["bad"], ["good"]]
    assert summary(second.outcomes) == {"bad": ("failed", "error", None), "good": ("done", "graded", 1.0)}
    assert [o.attempts for o in second.outcomes] == [2, 2]


def test_a_worker_error_status_is_retried(two_students: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeEngine(lambda students: False, status="error")
    monkeypatch.setattr(watch_module, "GradingSession", engine)
    w, outcomes, messages = watcher(two_students, max_attempts=2)
    assert w.round().retrying == ["bad", "good"]
    assert any("a worker failed; tried again next round (1 of 2)" in m for m in messages)
    w.round()
    assert summary(outcomes) == {"bad": ("failed", "error", 1.0), "good": ("failed", "error", 1.0)}


def test_a_second_watcher_is_refused(two_students: Path) -> None:
    lock = state_path(two_students, "toy").with_suffix(".lock")
    lock.parent.mkdir(parents=True)
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(CourseError, match="another adcourse watch of toy is running"):
            watcher(two_students)[0].round()


@pytest.mark.parametrize(
    "text, error",
    [
        (
            '{"version": 1, "assignment": "toy", "finished": {',
            r"cannot read the watch state .*toy\.json.*Move it away",
        ),
        ('{"version": 3, "assignment": "toy"}', r"version 3, expected 2\. Move it away"),
    ],
    ids=["unreadable", "unknown-version"],
)
def test_a_bad_state_file_stops_the_watcher_and_is_left_alone(
    two_students: Path, text: str, error: str
) -> None:
    path = state_path(two_students, "toy")
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(WatchStateError, match=error):
        watcher(two_students)[0].round()
    assert path.read_text() == text


def test_bad_options_are_refused(two_students: Path) -> None:
    with pytest.raises(ValueError, match="max_attempts must be at least 1, got 0"):
        watcher(two_students, max_attempts=0)
    with pytest.raises(CourseError, match="unknown assignment 'nope'"):
        Watcher(two_students, "nope")
    with pytest.raises(ValueError, match="interval must be positive, got 0"):
        watcher(two_students)[0].run(0)


def test_command_line_help_and_errors(two_students: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["watch", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: adcourse watch")
    for option in ("--interval", "--once", "--jobs", "--batch", "--max-attempts"):
        assert option in out, option
    with pytest.raises(SystemExit) as exc:
        main(["--course", str(two_students), "watch", "toy", "--interval", "0"])
    assert exc.value.code == 2
    assert "expected a positive number, got 0" in capsys.readouterr().err
    assert main(["--course", str(two_students), "watch", "nope", "--once"]) == 1
    assert "adcourse: error: unknown assignment 'nope'" in capsys.readouterr().err


# ---------------------------------------------------------------- the state: a snapshot and a history log


def test_a_watcher_killed_mid_batch_loses_nothing_and_grades_only_the_rest(
    two_students: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot is written once per batch: a watcher killed after ``bad`` was finished (its
    outcome in the history log only) is restarted; it grades ``good`` alone."""
    engine = FakeEngine(lambda students: False)
    monkeypatch.setattr(watch_module, "GradingSession", engine)

    def killed(outcome: Outcome) -> None:
        raise KeyboardInterrupt  # as a kill would, right after the first outcome

    w = Watcher(two_students, "toy", jobs=1, on_outcome=killed)
    with pytest.raises(KeyboardInterrupt):
        w.round()
    assert not state_path(two_students, "toy").exists()  # no snapshot yet ...
    assert [e["student"] for e in read_history(two_students)] == ["bad"]  # ... but bad is finished

    restarted, outcomes, _ = watcher(two_students)
    restarted.round()
    assert engine.calls == [["bad", "good"], ["good"]]
    assert summary(outcomes) == {"good": ("done", "graded", 1.0)}
    state = read_state(two_students)
    assert sorted(state["finished"]) == ["bad", "good"] and state["history"]["outcomes"] == 2
    assert [e["student"] for e in read_history(two_students)] == ["bad", "good"]


def test_a_torn_last_line_of_the_history_is_not_an_outcome(
    two_students: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watcher killed while writing a line: that submission is finished again, and the line cut off."""
    engine = FakeEngine(lambda students: False)
    monkeypatch.setattr(watch_module, "GradingSession", engine)
    watcher(two_students)[0].round()
    log = history_path(state_path(two_students, "toy"))
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + lines[1][:-20])  # good's line, torn
    state = read_state(two_students)
    state["finished"].pop("good")
    state["history"]["outcomes"] = 1
    state_path(two_students, "toy").write_text(json.dumps(state))
    again, outcomes, _ = watcher(two_students)
    again.round()
    assert engine.calls[-1] == ["good"] and summary(outcomes) == {"good": ("done", "graded", 1.0)}
    assert [e["student"] for e in read_history(two_students)] == ["bad", "good"]


def test_a_version_1_state_is_moved_to_the_history_log(
    two_students: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state file written before the history log: ``good`` (finished there) is not graded
    again; the first save writes version 2 with the old history first in the log."""
    from autograder.watch_state import Scanner

    engine = FakeEngine(lambda students: False)
    monkeypatch.setattr(watch_module, "GradingSession", engine)
    good = next(a for a in Scanner(two_students, "toy").scan() if a.student == "good")
    entry = {
        "student": "good", "fingerprint": good.fingerprint, "timestamp": None, "result": "done",
        "status": "graded", "score": 5.0, "max_score": 9.0, "detail": "", "feedback": True,
        "attempts": 1, "time": "t",
    }  # fmt: skip
    path = state_path(two_students, "toy")
    path.parent.mkdir(parents=True)
    old = {"version": 1, "assignment": "toy", "finished": {"good": entry}, "attempts": {}, "history": [entry]}
    path.write_text(json.dumps({**old, "inbound": None}))
    w, outcomes, _ = watcher(two_students)
    w.round()
    assert engine.calls == [["bad"]] and summary(outcomes) == {"bad": ("done", "graded", 1.0)}
    state = read_state(two_students)
    assert state["version"] == 2 and state["finished"]["good"]["score"] == 5.0
    assert [(e["student"], e["score"]) for e in read_history(two_students)] == [("good", 5.0), ("bad", 1.0)]


def test_a_history_log_shorter_than_the_state_says_is_refused(
    two_students: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "GradingSession", FakeEngine(lambda students: False))
    watcher(two_students)[0].round()
    log = history_path(state_path(two_students, "toy"))
    log.write_bytes(log.read_bytes().splitlines(keepends=True)[0])
    with pytest.raises(WatchStateError, match=r"has 1 outcomes, the state counts 2"):
        watcher(two_students)[0].round()


def test_the_state_is_read_once_and_again_only_when_its_files_change(
    two_students: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watcher keeps its state between rounds, and one grading session for every batch of
    :meth:`Watcher.run`; when the state's files are moved away it notices and grades again."""
    from autograder.watch_state import WatchState

    engine = FakeEngine(lambda students: False)
    monkeypatch.setattr(watch_module, "GradingSession", engine)
    loads: list[Path] = []
    real_load = WatchState.load.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        WatchState, "load", classmethod(lambda cls, p, a: loads.append(p) or real_load(cls, p, a))
    )
    w, outcomes, _ = watcher(two_students, batch=1)
    w.round()
    w.round()
    assert len(loads) == 1 and engine.calls == [["bad"], ["good"]]
    state_path(two_students, "toy").unlink()
    history_path(state_path(two_students, "toy")).unlink()
    w.round()
    assert len(loads) == 2 and engine.calls[2:] == [["bad"], ["good"]]
    engine.sessions = 0
    w.request_stop()  # run() does no round once a stop is requested: stop from the first outcome instead
    w._stop.clear()
    (two_students / "submitted" / "bad" / "toy" / "toy.ipynb").write_bytes(b"bad, v2")
    (two_students / "submitted" / "good" / "toy" / "toy.ipynb").write_bytes(b"good, v2")
    outcomes.clear()
    w._on_outcome = lambda o: (outcomes.append(o), len(outcomes) == 2 and w.request_stop())
    w.run(0.1)
    assert engine.sessions == 1 and engine.calls[4:] == [["bad"], ["good"]]


def test_batches_hold_four_submissions_per_worker_of_the_cluster(
    toy: Toy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default batch is four per worker that grades (a cluster's workers, asked each round);
    a cluster that cannot be asked falls back to four per local job, and ``batch`` wins."""
    course = toy.copy(tmp_path / "c")
    students = [f"s{i}" for i in range(9)]
    for student in students:
        submit(course, student, {"toy.ipynb": f"{student}, v1".encode()})
    engine = FakeEngine(lambda students: False)
    monkeypatch.setattr(watch_module, "GradingSession", engine)
    engine.cluster_workers = 2
    watcher(course)[0].round()
    assert [len(call) for call in engine.calls] == [8, 1]
    for how, batch, sizes in ((OSError("no scheduler"), None, [4, 4, 1]), (5, 3, [3, 3, 3])):
        for student in students:
            (course / "submitted" / student / "toy" / "toy.ipynb").write_bytes(f"{student}, {how}".encode())
        engine.calls.clear()
        engine.cluster_workers = how
        watcher(course, batch=batch)[0].round()
        assert [len(call) for call in engine.calls] == sizes, how
