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
