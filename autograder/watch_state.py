"""What ``adcourse watch`` has graded: submission fingerprints and the watch state file.

A submission is identified by its student and a fingerprint: a SHA-256 hash of its
``timestamp.txt`` and of every file the grading engine reads from
``submitted/<student>/<assignment>/`` (:mod:`autograder.engine.fingerprint`: the engine records
the same fingerprint with each grade). A re-submission (new files or a new timestamp) has
a new fingerprint; copying the same files again with the same timestamp does not.

The state is two files in ``course/.adcourse/watch/``:

* ``<assignment>.history.jsonl``, the history log (:mod:`autograder.watch_log`): each submission's
  outcome is appended to it, one line, the moment the submission is finished;
* ``<assignment>.json``, a snapshot of the latest outcome of each student, the failed attempts
  being retried and the exchange's inbound entries, with the number of log lines it includes;
  rewritten atomically once per batch of submissions (and when an attempt fails).

Loading reads the snapshot and then finishes again, in memory, the outcomes the log holds beyond
it, so a watcher stopped at any moment loses nothing and, when restarted, repeats only the
gradings it had not finished; finishing one submission costs the same whatever the class's size.
A state file of version 1 (the history inside it) still loads; the first save moves its history
to the log and writes version 2.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .engine.fingerprint import file_chunks, fingerprint, read_timestamp, submission_files
from .engine.status import write_atomic
from .paths import CourseError
from .watch_log import HistoryLog, HistoryLogError, outcome_dict

#: The format of the state file; a file of another version is refused, never overwritten
#: (version 1, which held the history itself, is read and moved on to this one).
STATE_VERSION = 2
_READABLE = (1, STATE_VERSION)


class WatchStateError(CourseError):
    """The watch state file cannot be read or written; the watcher must not go on without it."""


def watch_dir(course: Path) -> Path:
    """Where the watch state files live: ``course/.adcourse/watch/``."""
    return course / ".adcourse" / "watch"


def state_path(course: Path, assignment: str) -> Path:
    """The state file of the watcher of ``assignment``."""
    return watch_dir(course) / f"{assignment}.json"


def history_path(state: Path) -> Path:
    """The history log beside the state file ``state``: ``<assignment>.history.jsonl``."""
    return state.with_name(f"{state.stem}.history.jsonl")


def _signature(path: Path) -> tuple[int, ...] | None:
    """What changes when ``path`` is written: its inode, size and times (None if absent)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------- fingerprints


@dataclass(frozen=True)
class Arrival:
    """A submission found in ``submitted/``: its student, timestamp and fingerprint."""

    student: str
    timestamp: str | None
    fingerprint: str


def _tree_signature(folder: Path) -> tuple[tuple[Any, ...], ...]:
    """Every entry under ``folder`` (files, folders, links: more than a submission holds) with its
    type, size, modification and change times and inode, sorted: read with ``os.scandir``, a
    system call or two per entry, so that scanning an unchanged class stays cheap."""
    found = []
    stack = [("", str(folder))]
    while stack:
        prefix, path = stack.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                rel = prefix + entry.name
                found.append((rel, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
                if entry.is_dir(follow_symlinks=False):
                    stack.append((rel + "/", entry.path))
    found.sort()
    return tuple(found)


class Scanner:
    """Fingerprints every ``submitted/<student>/<assignment>/`` folder.

    Between two scans, a folder none of whose entries changed type, size, modification or change
    time or inode is not read again.
    """

    def __init__(self, course: Path, assignment: str) -> None:
        self.course = course
        self.assignment = assignment
        self._cache: dict[Path, tuple[tuple[Any, ...], Arrival]] = {}

    def scan(self) -> list[Arrival]:
        """Every submission now in ``submitted/``, sorted by student.

        A folder that changes while it is read (a file vanishes) is left for the next scan.
        """
        found = []
        for folder in sorted((self.course / "submitted").glob(f"*/{self.assignment}")):
            try:
                found.append(self._arrival(folder))
            except OSError:
                self._cache.pop(folder, None)
        return found

    def _arrival(self, folder: Path) -> Arrival:
        signature = _tree_signature(folder)  # before reading: a change while reading shows next time
        cached = self._cache.get(folder)
        if cached and cached[0] == signature:
            return cached[1]
        files, stamp = submission_files(folder)
        timestamp = read_timestamp(stamp)
        contents = ((rel, path.stat().st_size, file_chunks(path)) for rel, path in files)
        arrival = Arrival(folder.parent.name, timestamp, fingerprint(timestamp, contents))
        self._cache[folder] = (signature, arrival)
        return arrival


# ---------------------------------------------------------------- the state


@dataclass(frozen=True)
class Outcome:
    """How the watcher finished one submission.

    ``result`` is ``"done"`` (graded, the grade recorded and the feedback written) or
    ``"failed"`` (given up after ``attempts`` failed attempts; ``detail`` says why). ``status``,
    ``score`` and ``max_score`` are the engine's (``None`` when no grading finished), and
    ``feedback`` says whether feedback HTML was written (a submission without a gradable notebook
    has none). ``flags`` are the tamper check's findings, one ``"kind: what"`` each (they never
    change the score; the report lists them in full).
    """

    student: str
    fingerprint: str
    timestamp: str | None
    result: str
    status: str
    score: float | None
    max_score: float | None
    detail: str
    feedback: bool
    attempts: int
    time: str
    flags: tuple[str, ...] = ()  # absent from state files written before flags were kept

    def line(self) -> str:
        """One line for the terminal: student, score and status (why, if not graded; any flags)."""
        if self.result == "failed":
            return f"{self.student}: failed after {self.attempts} attempts ({self.detail})"
        text = f"{self.student}: {self.score:g}/{self.max_score:g} {self.status}"
        if self.detail:
            text += f" ({self.detail})"
        if self.flags:
            text += f" [integrity flags: {'; '.join(self.flags)}]"
        return text


def _outcome(data: dict[str, Any]) -> Outcome:
    """An :class:`Outcome` from its JSON form (``flags`` come back as a list)."""
    return Outcome(**{**data, "flags": tuple(data.get("flags", ()))})


@dataclass
class Attempts:
    """Failed attempts at grading one submission (one fingerprint) that will be tried again."""

    fingerprint: str
    count: int
    error: str
    time: str


@dataclass
class WatchState:
    """What the watcher of one assignment has finished, and what it is retrying.

    Attributes:
        finished: the latest :class:`Outcome` of each student.
        attempts: failed attempts at a student's current submission, not yet given up.
        history: every :class:`Outcome`, in order (a re-submission adds one): the history log.
        inbound: the exchange's inbound entries of this assignment (name, complete) when they were
            last collected, or ``None`` if never.
    """

    path: Path
    assignment: str
    finished: dict[str, Outcome] = field(default_factory=dict)
    attempts: dict[str, Attempts] = field(default_factory=dict)
    history: list[Outcome] = field(default_factory=list)
    inbound: list[list[Any]] | None = None
    #: The history log beside the state file.
    log: HistoryLog = field(init=False, repr=False, compare=False)
    #: Whether the history log holds ``history`` (False: a state of version 1, not yet moved).
    _log_holds_history: bool = field(default=True, init=False, repr=False, compare=False)
    #: The JSON form of each outcome in ``finished`` (made once per outcome, not once per save).
    _plain: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False, compare=False)
    #: How many outcomes of ``history`` the snapshot on disk includes.
    _included: int = field(default=0, init=False, repr=False, compare=False)
    #: :meth:`on_disk` when this state last read or wrote the files (None: never).
    _written: tuple[Any, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.log = HistoryLog(history_path(self.path))

    @classmethod
    def load(cls, path: Path, assignment: str) -> WatchState:
        """The state in ``path`` and its history log, or an empty one if there is no state file."""
        state = cls(path, assignment)
        try:
            signature = state.on_disk()
            if not path.exists():  # none yet: what the log holds (if anything) was finished before
                state._replay(0)
                state._written = signature
                return state
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") not in _READABLE:
                raise ValueError(f"version {data.get('version')!r}, expected {STATE_VERSION}")
            if data.get("assignment") != assignment:
                raise ValueError(f"it is the state of {data.get('assignment')!r}, not of {assignment!r}")
            state.attempts = {s: Attempts(**a) for s, a in data["attempts"].items()}
            state.inbound = data["inbound"]
            for student, entry in data["finished"].items():
                state.finished[student] = outcome = _outcome(entry)
                state._plain[student] = outcome_dict(outcome)
            if data["version"] == 1:
                state.history = [_outcome(o) for o in data["history"]]
                state._log_holds_history = False
                state._included = len(state.history)
            else:
                state._included = data["history"]["outcomes"]
                state._replay(state._included)
            state._written = signature
        except (OSError, ValueError, KeyError, TypeError, AttributeError, HistoryLogError) as exc:
            state._refuse(exc)
        return state

    def _replay(self, included: int) -> None:
        """Read the log: its first ``included`` outcomes are in the snapshot; finish the rest again."""
        entries = self.log.read()
        if len(entries) < included:
            raise ValueError(
                f"its history log {self.log.path} has {len(entries)} outcomes, the state counts {included}"
            )
        self.history = [_outcome(entry) for entry in entries]
        for outcome in self.history[included:]:
            self._finish(outcome)

    def _refuse(self, exc: Exception) -> None:
        raise WatchStateError(
            f"cannot read the watch state {self.path}: {type(exc).__name__}: {exc}. Move it away (with "
            f"{self.log.path.name}) to grade every submission again"
        ) from exc

    def on_disk(self) -> tuple[Any, ...]:
        """The signatures of the state file and the history log as they are on disk now."""
        return (_signature(self.path), _signature(self.log.path))

    @property
    def snapshot_behind(self) -> bool:
        """Whether outcomes were finished (in the log) since the snapshot was last written."""
        return self._included != len(self.history)

    def unchanged_on_disk(self) -> bool:
        """Whether neither file changed since this state last read or wrote them (so this state
        is what a :meth:`load` would give)."""
        return self._written is not None and self.on_disk() == self._written

    def save(self) -> None:
        """Write the snapshot atomically (a reader sees the old or the new file, never half of one),
        after moving a version 1 state's history to the log."""
        try:
            if not self._log_holds_history:
                self.log.replace(self.history)
                self._log_holds_history = True
            data = {
                "version": STATE_VERSION,
                "assignment": self.assignment,
                "finished": {s: self._plain[s] for s in sorted(self.finished)},
                "attempts": {s: asdict(a) for s, a in sorted(self.attempts.items())},
                "inbound": self.inbound,
                "history": {"file": self.log.path.name, "outcomes": len(self.history)},
            }
            write_atomic(self.path, (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8"))
        except OSError as exc:
            raise WatchStateError(f"cannot write the watch state {self.path}: {exc}") from exc
        self._included = len(self.history)
        self._written = self.on_disk()

    def needs_grading(self, arrival: Arrival) -> bool:
        """Whether ``arrival`` is new: its student has no finished submission with its fingerprint."""
        done = self.finished.get(arrival.student)
        return done is None or done.fingerprint != arrival.fingerprint

    def attempts_of(self, arrival: Arrival) -> int:
        """Failed attempts at grading this very submission so far."""
        tried = self.attempts.get(arrival.student)
        return tried.count if tried and tried.fingerprint == arrival.fingerprint else 0

    def count_attempt(self, arrival: Arrival, error: str) -> int:
        """Record one more failed attempt at ``arrival``; the number of attempts so far."""
        count = self.attempts_of(arrival) + 1
        self.attempts[arrival.student] = Attempts(arrival.fingerprint, count, error, now())
        return count

    def finish(self, outcome: Outcome) -> None:
        """Record ``outcome`` as its student's latest, appended to the history log at once (the
        submission is finished from then on); the retries of that submission end."""
        if not self._log_holds_history:  # a version 1 state: moved to version 2, with this outcome
            self.history.append(outcome)
            self._finish(outcome)
            self.save()
            return
        try:
            self.log.append(outcome)
        except (OSError, HistoryLogError) as exc:
            raise WatchStateError(f"cannot write the watch history {self.log.path}: {exc}") from exc
        self.history.append(outcome)
        self._finish(outcome)
        if self._written is not None:
            self._written = (self._written[0], _signature(self.log.path))

    def _finish(self, outcome: Outcome) -> None:
        self.finished[outcome.student] = outcome
        self._plain[outcome.student] = outcome_dict(outcome)
        tried = self.attempts.get(outcome.student)
        if tried and tried.fingerprint == outcome.fingerprint:
            del self.attempts[outcome.student]
