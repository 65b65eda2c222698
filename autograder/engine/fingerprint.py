"""Which files of a ``submitted/<student>/<assignment>/`` folder make a submission, and its fingerprint.

The engine (:func:`autograder.engine.submission.find_submissions`) and the watcher
(:class:`autograder.watch_state.Scanner`) read a submission through :func:`submission_files`, so
they agree on what a submission is. Its fingerprint is

    sha256( "timestamp" 0 T 0  ||  for each file, by path:  "file" 0 PATH 0 SIZE 0 BYTES )

with ``T`` the stripped text of ``timestamp.txt`` (empty if none): two folders with the same
fingerprint hold the same submission, so a grade recorded with a fingerprint belongs to exactly
those files, and a re-submission (new bytes or a new timestamp) gets a new one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1 << 20


def submission_files(folder: Path) -> tuple[list[tuple[str, Path]], Path | None]:
    """The files the engine grades in ``folder`` (``(relative path, path)``, sorted by path), and
    its ``timestamp.txt`` if there is one. Folders, symlinks and ``.ipynb_checkpoints`` are not
    part of a submission."""
    files, timestamp = [], None
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_dir() or ".ipynb_checkpoints" in rel or path.is_symlink():
            continue
        if rel == "timestamp.txt":
            timestamp = path
        else:
            files.append((rel, path))
    return files, timestamp


def read_timestamp(path: Path | None) -> str | None:
    """The submission time written in ``timestamp.txt`` (stripped), or None if there is none."""
    if path is None:
        return None
    return path.read_text(encoding="utf-8", errors="replace").strip() or None


def fingerprint(timestamp: str | None, files: Iterable[tuple[str, int, Iterable[bytes]]]) -> str:
    """The fingerprint of a submission: ``files`` are ``(relative path, size, chunks of bytes)``
    in the order :func:`submission_files` lists them (see the module docstring)."""
    digest = hashlib.sha256()
    digest.update(b"timestamp\0" + (timestamp or "").encode("utf-8", "surrogateescape") + b"\0")
    for rel, size, chunks in files:
        digest.update(b"file\0" + rel.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(str(size).encode() + b"\0")
        for chunk in chunks:
            digest.update(chunk)
    return digest.hexdigest()


def file_chunks(path: Path) -> Iterable[bytes]:
    """The bytes of ``path``, a megabyte at a time (large submissions are not read whole)."""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def fingerprint_of_bytes(timestamp: str | None, files: dict[str, bytes]) -> str:
    """The fingerprint of a submission read into memory: ``{relative path: bytes}`` in the order
    :func:`submission_files` lists them (the order of the folder's paths, not of the strings)."""
    return fingerprint(timestamp, ((rel, len(data), (data,)) for rel, data in files.items()))
