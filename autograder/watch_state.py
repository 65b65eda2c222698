"""What ``adcourse watch`` has graded: submission fingerprints and the watch state file.

A submission is identified by its student and a fingerprint: a SHA-256 hash of its
``timestamp.txt`` and of every file the grading engine reads from
``submitted/<student>/<assignment>/`` (:mod:`autograder.engine.fingerprint`: the engine records
the same fingerprint with each grade). A re-submission (new files or a new timestamp) has
a new fingerprint; copying the same files again with the same timestamp does not.

The state, ``course/.adcourse/watch/<assignment>.json``, is rewritten atomically after each
submission is finished, so a watcher stopped at any moment loses nothing and, when restarted,
repeats only the gradings it had not finished.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .engine.fingerprint import file_chunks, fingerprint, read_timestamp, submission_files
from .engine.status import write_atomic
from .paths import CourseError

#: The format of the state file; a file of another version is refused, never overwritten.
STATE_VERSION = 1


class WatchStateError(CourseError):
    """The watch state file cannot be read or written; the watcher must not go on without it."""


def watch_dir(course: Path) -> Path:
    """Where the watch state files live: ``course/.adcourse/watch/``."""
    return course / ".adcourse" / "watch"


def state_path(course: Path, assignment: str) -> Path:
    """The state file of the watcher of ``assignment``."""
    return watch_dir(course) / f"{assignment}.json"


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


class Scanner:
    """Fingerprints every ``submitted/<student>/<assignment>/`` folder.

    Between two scans, a folder whose files all keep their size, modification and change times
    and inode is not read again.
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
        files, stamp = submission_files(folder)
        listing = [*files, ("timestamp.txt", stamp)] if stamp else files
        signature = tuple(
            (rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
            for rel, path in listing
            for st in (path.stat(),)
        )
        cached = self._cache.get(folder)
        if cached and cached[0] == signature:
            return cached[1]
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
        history: every :class:`Outcome`, in order (a re-submission adds one).
        inbound: the exchange's inbound entries of this assignment (name, complete) when they were
            last collected, or ``None`` if never.
    """

    path: Path
    assignment: str
    finished: dict[str, Outcome] = field(default_factory=dict)
    attempts: dict[str, Attempts] = field(default_factory=dict)
    history: list[Outcome] = field(default_factory=list)
    inbound: list[list[Any]] | None = None

    @classmethod
    def load(cls, path: Path, assignment: str) -> WatchState:
        """The state in ``path``, or an empty one if there is no such file."""
        if not path.exists():
            return cls(path, assignment)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {STATE_VERSION}")
            if data.get("assignment") != assignment:
                raise ValueError(f"it is the state of {data.get('assignment')!r}, not of {assignment!r}")
            return cls(
                path,
                assignment,
                finished={s: _outcome(o) for s, o in data["finished"].items()},
                attempts={s: Attempts(**a) for s, a in data["attempts"].items()},
                history=[_outcome(o) for o in data["history"]],
                inbound=data["inbound"],
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise WatchStateError(
                f"cannot read the watch state {path}: {type(exc).__name__}: {exc}. Move it away to grade "
                "every submission again"
            ) from exc

    def save(self) -> None:
        """Write the state atomically (a reader sees the old or the new file, never half of one)."""
        data = {
            "version": STATE_VERSION,
            "assignment": self.assignment,
            "finished": {s: asdict(o) for s, o in sorted(self.finished.items())},
            "attempts": {s: asdict(a) for s, a in sorted(self.attempts.items())},
            "history": [asdict(o) for o in self.history],
            "inbound": self.inbound,
        }
        try:
            write_atomic(self.path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
        except OSError as exc:
            raise WatchStateError(f"cannot write the watch state {self.path}: {exc}") from exc

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
        """Record ``outcome`` as its student's latest; the retries of that submission end."""
        self.finished[outcome.student] = outcome
        self.history.append(outcome)
        tried = self.attempts.get(outcome.student)
        if tried and tried.fingerprint == outcome.fingerprint:
            del self.attempts[outcome.student]
