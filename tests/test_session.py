"""``GradingSession``: batch after batch of one assignment graded by the same worker processes and
recorded as ``autograde`` records them (the toy class of :mod:`helpers.toycourse`: ``key`` 9
points, ``wrong`` 4)."""

from __future__ import annotations

from pathlib import Path

from helpers.toycourse import KEY, expected_points, gradebook_points, released_toy, submit

from autograder.engine import SubmissionStatus
from autograder.engine.session import GradingSession

WRONG = {**KEY, "double": "def double(x):\n    return 3 * x"}
POINTS = expected_points(("key", "wrong"))


def test_a_session_grades_batch_after_batch_with_the_same_workers(tmp_path: Path) -> None:
    toy = released_toy(tmp_path / "toy", written=False)
    course = toy.copy(tmp_path / "c")
    submit(course, "key", {"toy.ipynb": toy.notebook(KEY)})
    submit(course, "wrong", {"toy.ipynb": toy.notebook(WRONG)})
    heard: list[tuple[str, float, bool]] = []
    with GradingSession(course, "toy", jobs=2, feedback=True) as session:

        def graded(status: SubmissionStatus) -> None:
            heard.append((status.student, status.score, session.page_kept(status.student)))

        first = session.grade(["key"], on_graded=graded)
        assert session._pool is not None
        workers = set(session._pool._pool._processes)
        session.refresh()  # the bundle is built again, the workers stay
        second = session.grade(["wrong"], on_graded=graded)
        assert set(session._pool._pool._processes) == workers and len(workers) == 2
    assert session._pool is None  # closed with the session
    assert [(s.student, s.status, s.score) for s in first.statuses] == [("key", "graded", 9.0)]
    assert [(s.student, s.status, s.score) for s in second.statuses] == [("wrong", "graded", 4.0)]
    assert (first.fed_back, second.fed_back, first.jobs) == (["key"], ["wrong"], 2)
    assert heard == [("key", 9.0, True), ("wrong", 4.0, True)]
    assert gradebook_points(course) == POINTS
    for student, total in (("key", "9.0"), ("wrong", "4.0")):
        page = course / "feedback" / student / "toy" / "toy.html"
        assert f"Score: {total} / 9.0)" in page.read_text(encoding="utf-8"), student


class _Deadly:
    """A stand-in bundle that kills the worker process which unpickles it."""

    assignment = "toy"
    notebooks = ("toy",)

    def __reduce__(self) -> tuple[object, tuple[int]]:
        import os

        return os._exit, (3,)


def test_a_pool_broken_by_a_dying_worker_is_replaced_and_the_submission_tried_once_more() -> None:
    from autograder.engine.backends import WorkerPool
    from autograder.engine.submission import Submission

    pool = WorkerPool(2)
    got = []
    try:
        pool.ready()
        first = pool._pool
        pool.submit(_Deadly(), [Submission("ada", {}, None, "f", "toy")])  # type: ignore[arg-type]
        pool.collect(got.extend)
        assert pool._pool is not first  # replaced after the first death (and again after the second)
    finally:
        pool.close()
    (result,) = got
    assert (result.student, result.status) == ("ada", "error")
    assert "the grading worker failed (BrokenProcessPool" in result.detail
