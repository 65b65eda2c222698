"""Waiting on a process the test started: its output lines, with a deadline, and stopping it for sure.

A bare ``proc.stdout.readline()`` blocks for as long as the process stays silent, so a test
that waits for a server's address or a log line hangs instead of failing when the server never
says it. :class:`Lines` reads a pipe in a background thread; :meth:`Lines.wait_for` polls for the
line a test waits for and fails, with everything the process wrote, once a generous deadline
has passed. :func:`stop` ends a process whatever state it is in (for ``finally:`` blocks).
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO


class Lines:
    """The lines a process writes to one text pipe, as they come."""

    def __init__(self, stream: IO[str], what: str = "the process") -> None:
        self.what = what
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in iter(stream.readline, ""):
            self._queue.put(line)
        self._queue.put(None)  # end of the stream: the process closed it or exited

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> str:
        """The next line for which ``predicate`` holds.

        AssertionError, with everything read, if the stream ends or ``timeout`` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"{self.what} ended its output first; it wrote:\n{self.text()}")
            self.seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"{self.what} wrote no such line in {timeout:.0f} s; it wrote:\n{self.text()}")

    def rest(self, timeout: float) -> list[str]:
        """Every line after those read so far, up to the end of the stream (the process has exited)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"{self.what} kept its output open for {timeout:.0f} s")
        lines = []
        while (line := self._queue.get_nowait()) is not None:
            lines.append(line)
        self.seen += lines
        return lines

    def text(self) -> str:
        """Everything read so far."""
        return "".join(self.seen)


def stop(proc: subprocess.Popen[str], grace: float = 60.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process is gone (reaped)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()
