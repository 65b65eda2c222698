"""``adcourse watch NAME``: grade each submission of an assignment once, as it arrives.

Every round (every ``interval`` seconds) the watcher

1. collects from the nbgrader exchange, if the course has one: when the assignment's entries in
   ``exchange/<course_id>/inbound/`` changed since the last round, stock
   ``nbgrader collect NAME --update`` moves the newest of each student into ``submitted/``;
2. fingerprints every ``submitted/<student>/NAME/`` folder (see :mod:`autograder.watch_state`) and
   grades, with the parallel engine, those not finished before with the same fingerprint;
3. writes each graded student's feedback (stock nbgrader ``GenerateFeedback``; the grading worker
   made the page with the grade, and it is kept when it matches the gradebook: see
   :mod:`autograder.engine.pages`) and only then marks the submission done: one line appended to
   ``course/.adcourse/watch/NAME.history.jsonl``, the snapshot ``NAME.json`` rewritten once per
   batch (:mod:`autograder.watch_state`).

The state stays in memory from round to round (read again only when its files changed), and one
:class:`~autograder.engine.session.GradingSession` grades every batch: its worker processes stay up
for all the rounds of :meth:`Watcher.run`, its bundle (the gradebook snapshot and the answer key's
oracle) is built once a round. So what the watcher's own process spends on a submission does not
grow with the class (``benchmarks/WATCH.md``).

A grading that fails (the engine's round crashes, a worker fails, feedback cannot be written) is
logged and tried again, alone, on the next rounds, at most ``max_attempts`` times in all; then the
submission is marked failed. A bad notebook is not such a failure: the engine grades it with its
status (timeout, unreadable notebook, ...). The first SIGTERM or Ctrl-C stops the watcher after
the current batch of submissions (``batch``: four per worker by default); a second Ctrl-C abandons
that batch, whose unfinished submissions are graded again on the next start, as are those of a
watcher killed outright. One watcher per assignment and course runs at a time (a lock file).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import nbgrader_cli
from .config import load_config
from .engine import Limits, SandboxUnavailable, SubmissionStatus
from .engine.backends import default_jobs
from .engine.session import GradingSession
from .engine.status import read_status
from .feedback import FeedbackWriter
from .paths import CourseError, assignment_dir
from .watch_state import Arrival, Outcome, Scanner, WatchState, WatchStateError, now, state_path, watch_dir

# nbgrader's default exchange, used when the course config names none.
_DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"


def exchange_inbound(course: Path) -> Path | None:
    """The course's nbgrader exchange inbound folder, if the course has a course id and that folder exists."""
    config = load_config(course)
    course_id = config.get("CourseDirectory", {}).get("course_id")
    if not course_id:
        return None
    root = Path(str(config.get("Exchange", {}).get("root") or _DEFAULT_EXCHANGE))
    inbound = (course / root) / str(course_id) / "inbound"
    return inbound if inbound.is_dir() else None


def inbound_entries(inbound: Path, assignment: str) -> list[list[Any]]:
    """The assignment's submissions in ``inbound`` as ``[name, complete]`` pairs, sorted.

    ``nbgrader submit`` writes ``timestamp.txt`` after the files: an entry without it is still
    being written, and collecting it again once it is complete picks up the whole submission.
    """
    entries = []
    for path in inbound.iterdir():
        if f"+{assignment}+" in path.name and path.is_dir():
            entries.append([path.name, (path / "timestamp.txt").is_file()])
    return sorted(entries)


@dataclass
class RoundResult:
    """What one round did.

    Attributes:
        outcomes: the submissions finished this round (done or failed), in the order finished.
        retrying: students whose grading failed this round and will be tried again.
        collected: whether ``nbgrader collect`` ran this round.
        stopped: whether a stop request left submissions for the next start.
    """

    outcomes: list[Outcome] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    collected: bool = False
    stopped: bool = False


class Watcher:
    """Grades each new or re-submitted submission of ``assignment`` once, with its feedback.

    ``jobs`` worker processes (default: all cores), or the course's Dask cluster, grade batches
    of ``batch`` submissions (default: four per worker); a stop request takes effect between
    batches. ``on_outcome`` is called as each submission is finished, ``log`` with what went
    wrong and what happens next.
    """

    def __init__(
        self,
        course: Path,
        assignment: str,
        *,
        jobs: int | None = None,
        batch: int | None = None,
        max_attempts: int = 3,
        limits: Limits | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        assignment_dir(course, assignment)
        for name, value in (("jobs", jobs), ("batch", batch), ("max_attempts", max_attempts)):
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        self.course = course
        self.assignment = assignment
        self.jobs = jobs
        #: Submissions per batch; None: four per worker (a cluster's workers, counted each round).
        self.batch = batch
        self.max_attempts = max_attempts
        self.limits = limits
        self.state_file = state_path(course, assignment)
        self._on_outcome = on_outcome or (lambda outcome: None)
        self._log = log or (lambda message: None)
        self._scanner = Scanner(course, assignment)
        self._feedback = FeedbackWriter(course)
        self._lock_fd: int | None = None
        self._stop = threading.Event()
        self._session: GradingSession | None = None
        self._state: WatchState | None = None

    # ------------------------------------------------------------ stopping and the lock

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`request_stop` was called (or a signal asked the watcher to stop)."""
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Stop after the current batch: no new batch or round starts."""
        self._stop.set()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the assignment's watch lock (re-entrant); a clear error if another watcher has it."""
        if self._lock_fd is not None:
            yield
            return
        path = watch_dir(self.course) / f"{self.assignment}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CourseError(
                f"another adcourse watch of {self.assignment} is running on {self.course} (it holds {path})"
            ) from None
        self._lock_fd = fd
        try:
            yield
        finally:
            self._lock_fd = None
            os.close(fd)  # closing the file releases the lock

    @contextmanager
    def _signals_stop(self) -> Iterator[None]:
        """The first SIGTERM or SIGINT requests a stop; a second raises KeyboardInterrupt."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self.stop_requested:
                raise KeyboardInterrupt
            self.request_stop()
            try:
                name = signal.Signals(signum).name
                self._log(f"{name}: stopping after the current batch (Ctrl-C again: abandon it)")
            except RuntimeError:  # a reentrant write to the stream the signal interrupted: skip the message
                pass

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    @contextmanager
    def _grading(self) -> Iterator[GradingSession]:
        """The grading session (re-entrant): its workers and bundle serve every batch until the
        outermost ``with`` ends (all the rounds of :meth:`run`, or one :meth:`round`)."""
        if self._session is not None:
            yield self._session
            return
        self._session = GradingSession(
            self.course, self.assignment, jobs=self.jobs, limits=self.limits, feedback=True
        )
        try:
            yield self._session
        except KeyboardInterrupt:
            self._session.close(wait=False)
            raise
        finally:
            session, self._session = self._session, None
            session.close()

    def _load_state(self) -> WatchState:
        """The state, read again only if its files changed since this watcher last read or wrote them."""
        if self._state is None or not self._state.unchanged_on_disk():
            self._state = WatchState.load(self.state_file, self.assignment)
        return self._state

    # ------------------------------------------------------------ the loop

    def run(self, interval: float, *, once: bool = False) -> None:
        """Grade round after round, ``interval`` seconds apart, until stopped (or one round if ``once``)."""
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        with self._locked(), self._signals_stop(), self._grading():
            while not self.stop_requested:
                self.round()
                if once:
                    break
                deadline = time.monotonic() + interval
                while not self.stop_requested and (left := deadline - time.monotonic()) > 0:
                    time.sleep(min(left, 0.25))

    def round(self) -> RoundResult:
        """Collect from the exchange, then grade every new submission, batch by batch."""
        result = RoundResult()
        with self._locked(), self._grading() as session:
            session.refresh()  # the assignment or the course config may have changed since
            state = self._load_state()
            result.collected = self._collect(state)
            pending = [a for a in self._scanner.scan() if state.needs_grading(a)]
            pending = [a for a in pending if not self._graded_before(a, state, result)]
            fresh = [a for a in pending if state.attempts_of(a) == 0]
            retries = [a for a in pending if state.attempts_of(a) > 0]
            size = self._batch_size(session) if fresh else 1
            batches = [fresh[i : i + size] for i in range(0, len(fresh), size)]
            batches += [[a] for a in retries]  # one at a time, so that a crash names its cause
            for batch in batches:
                if self.stop_requested:
                    result.stopped = True
                    break
                self._grade(batch, state, result)
            if state.snapshot_behind:  # finished without grading (_graded_before)
                state.save()
        return result

    def _batch_size(self, session: GradingSession) -> int:
        """``batch``, or four per worker that grades: on a cluster, so that all of its workers are
        kept busy (a cluster that cannot be reached fails the batch, which says why)."""
        if self.batch:
            return self.batch
        try:
            return 4 * session.workers()
        except Exception:
            return 4 * (self.jobs or default_jobs())

    def _collect(self, state: WatchState) -> bool:
        """Run ``nbgrader collect NAME --update`` if the exchange's inbound entries changed."""
        inbound = exchange_inbound(self.course)
        if inbound is None:
            return False
        try:
            entries = inbound_entries(inbound, self.assignment)
            if entries == state.inbound or (not entries and state.inbound is None):
                return False
            nbgrader_cli.run_nbgrader(self.course, "collect", self.assignment, "--update")
        except (nbgrader_cli.NbgraderError, OSError, subprocess.SubprocessError) as exc:
            self._log(f"collecting from {inbound} failed (tried again next round): {exc}")
            return False
        state.inbound = entries
        state.save()
        return True

    def _graded_before(self, arrival: Arrival, state: WatchState, result: RoundResult) -> bool:
        """Finish ``arrival`` without grading it if ``adcourse autograde`` already graded these very
        files (its status file carries their fingerprint): only the feedback is written.

        Whether it did so or not; a failure to write the feedback counts as a failed attempt, and
        the submission is then graded again like any other retry.
        """
        if state.attempts_of(arrival):
            return False  # a retry: grade it
        status = read_status(self.course, self.assignment, arrival.student)
        if status is None or status.fingerprint != arrival.fingerprint or status.status == "error":
            return False
        try:
            feedback = self._write_feedback(arrival.student)
        except Exception as exc:  # as in _grade: one failed attempt
            self._failed(arrival, f"writing the feedback failed: {exc}", state, result, status)
            return True
        self._log(f"{arrival.student}: already graded by adcourse autograde; feedback written")
        self._finish(arrival, "done", status, status.detail, feedback, state, result)
        return True

    def _write_feedback(self, student: str) -> bool:
        """Bring the student's feedback up to date (the grading worker's page, kept when the
        grade was recorded, usually is); whether the student has any."""
        inputs = self._feedback.inputs(self.assignment, [student])[student]
        if self._feedback.is_current(self.assignment, student, inputs):
            return True
        return self._feedback.write(self.assignment, student, inputs)

    # ------------------------------------------------------------ grading a batch

    def _grade(self, batch: list[Arrival], state: WatchState, result: RoundResult) -> None:
        """Grade ``batch`` with the engine; finish each submission as its grade is recorded."""
        arrivals = {a.student: a for a in batch}
        reported: set[str] = set()

        def graded(status: SubmissionStatus) -> None:
            arrival = arrivals[status.student]
            reported.add(status.student)
            if status.status == "error":  # the worker failed, not the notebook: try again
                self._failed(arrival, status.detail, state, result, status)
                return
            try:  # the worker's pages, kept, are up to date: nothing to check again
                kept = self._session is not None and self._session.page_kept(status.student)
                feedback = kept or self._write_feedback(status.student)
            except Exception as exc:  # any failure of the feedback is one failed attempt
                self._failed(arrival, f"writing the feedback failed: {exc}", state, result, status)
                return
            self._finish(arrival, "done", status, status.detail, feedback, state, result)

        self._log(f"grading {', '.join(sorted(arrivals))}")
        assert self._session is not None  # round() opened it
        try:
            self._session.grade(sorted(arrivals), on_graded=graded)
        except (WatchStateError, SandboxUnavailable):
            raise  # nothing can be graded or recorded: stop with the error
        except (Exception, KeyboardInterrupt) as exc:
            unfinished = [a for s, a in arrivals.items() if s not in reported]
            if self.stop_requested:
                names = ", ".join(a.student for a in unfinished)
                self._log(f"stopped: {names} will be graded on the next start")
                result.stopped = True
                return
            if isinstance(exc, KeyboardInterrupt):
                raise
            reason = f"the grading round failed ({type(exc).__name__}: {str(exc)[:300]})"
            for arrival in unfinished:
                self._failed(arrival, reason, state, result, None)
        if state.snapshot_behind:  # the batch's outcomes are in the history log: one snapshot
            state.save()

    def _failed(
        self,
        arrival: Arrival,
        reason: str,
        state: WatchState,
        result: RoundResult,
        status: SubmissionStatus | None,
    ) -> None:
        """One more failed attempt at ``arrival``: tried again next round, or marked failed."""
        count = state.count_attempt(arrival, reason)
        if count < self.max_attempts:
            state.save()
            result.retrying.append(arrival.student)
            self._log(f"{arrival.student}: {reason}; tried again next round ({count} of {self.max_attempts})")
            return
        self._finish(arrival, "failed", status, reason, False, state, result, attempts=count)

    def _finish(
        self,
        arrival: Arrival,
        how: str,
        status: SubmissionStatus | None,
        detail: str,
        feedback: bool,
        state: WatchState,
        result: RoundResult,
        attempts: int | None = None,
    ) -> None:
        """Mark ``arrival`` finished in the state (in its history log at once) and report it."""
        outcome = Outcome(
            student=arrival.student,
            fingerprint=arrival.fingerprint,
            timestamp=arrival.timestamp,
            result=how,
            status=status.status if status else "error",
            score=status.score if status else None,
            max_score=status.max_score if status else None,
            detail=detail,
            feedback=feedback,
            attempts=attempts if attempts is not None else state.attempts_of(arrival) + 1,
            time=now(),
            flags=tuple(f"{flag.kind}: {flag.what}" for flag in status.flags) if status else (),
        )
        state.finish(outcome)
        result.outcomes.append(outcome)
        self._on_outcome(outcome)
