"""The watcher's history log: every finished submission, one JSON line each, appended as it is finished.

``course/.adcourse/watch/<assignment>.history.jsonl`` holds one :class:`~autograder.watch_state.Outcome`
per line, in the order the watcher finished them (a re-submission adds a line). Appending a line
costs the same whatever the class's size, so finishing a submission never rewrites what was
finished before it. A line is written whole with one ``write`` and ends with a newline: a watcher
killed in the middle of one leaves a last line without its newline, which is not an outcome
(that submission was not finished: it is finished again on the next start) and is cut off before
the next line is appended.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine.status import write_atomic
from .paths import CourseError

if TYPE_CHECKING:
    from .watch_state import Outcome


class HistoryLogError(CourseError):
    """A line of the history log is not an outcome."""


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    """``outcome`` as plain JSON data (``flags`` a list), without :func:`dataclasses.asdict`'s deep copy."""
    data = {name: getattr(outcome, name) for name in _names(type(outcome))}
    data["flags"] = list(outcome.flags)
    return data


@functools.cache
def _names(cls: type) -> tuple[str, ...]:
    """The field names of a dataclass (:func:`dataclasses.fields` is slow to call for each outcome)."""
    return tuple(f.name for f in fields(cls))


def outcome_line(outcome: Outcome) -> bytes:
    """``outcome`` as one line of the log, its newline included."""
    return (json.dumps(outcome_dict(outcome), ensure_ascii=False) + "\n").encode("utf-8")


class HistoryLog:
    """The append-only log at ``path``; ``complete`` is the length of its whole lines, in bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.complete = 0

    def read(self) -> list[dict[str, Any]]:
        """Every whole line as JSON data (none if there is no log); a last line without its
        newline is left out. Raises :class:`HistoryLogError` naming a whole line that is not JSON."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            self.complete = 0
            return []
        end = data.rfind(b"\n") + 1
        self.complete = end
        entries = []
        for number, line in enumerate(data[:end].splitlines(), start=1):
            try:
                entry = json.loads(line)
            except ValueError as exc:
                raise HistoryLogError(f"line {number} of {self.path} is not JSON: {exc}") from exc
            if not isinstance(entry, dict):
                raise HistoryLogError(f"line {number} of {self.path} is not an outcome")
            entries.append(entry)
        return entries

    def append(self, outcome: Outcome) -> None:
        """Add ``outcome`` as one whole line, after cutting off a torn last line, if any."""
        line = outcome_line(outcome)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size != self.complete:
                tail = os.pread(fd, size - self.complete, self.complete) if size > self.complete else b"\n"
                if b"\n" in tail:  # whole lines this log did not read: never cut them off
                    raise HistoryLogError(f"{self.path} changed since it was read; not appended to")
                os.ftruncate(fd, self.complete)  # a torn last line
            os.lseek(fd, self.complete, os.SEEK_SET)
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
        finally:
            os.close(fd)
        self.complete += len(line)

    def replace(self, outcomes: Iterable[Outcome]) -> None:
        """Write the log anew, atomically, with ``outcomes`` (a state file of version 1 moves its
        history here)."""
        data = b"".join(outcome_line(o) for o in outcomes)
        write_atomic(self.path, data)
        self.complete = len(data)
