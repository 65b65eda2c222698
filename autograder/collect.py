"""Taking students' submissions into nbgrader's ``submitted/<student>/<assignment>/`` layout.

A *source* is a folder or a ``.zip`` file. It is read as a tree of files; every zip inside it reads
as a folder named after the archive (``alice.zip`` holding ``toy.ipynb`` reads as
``alice/toy.ipynb``), as nbgrader's ``zip_collect`` extractor unpacks archives into their own folder.
A zip given as the source itself is the root of the tree. Each notebook in the tree then finds its
student in one of two ways:

1. by its path, through a file-name pattern (a regular expression with the named groups
   ``student_id`` and ``file_id``, optionally ``timestamp``), as nbgrader's
   ``FileNameCollectorPlugin`` does. nbgrader's own default pattern is empty (the instructor must
   supply one); here the default (:data:`DEFAULT_PATTERNS`) accepts the two forms an LMS download
   usually has, ``{student_id}_{assignment}_{notebook}.ipynb`` and the form of nbgrader's
   documentation, ``{assignment}_{student_id}_attempt_{timestamp}_{notebook}.ipynb``. A pattern
   is matched, like nbgrader's, with :func:`re.match` against the file's path in the tree (``/``
   separated); the text ``{assignment}`` in a pattern stands for the escaped assignment name;
2. else by its folder: ``<student>/<notebook>`` or ``<student>/<assignment>/<notebook>``, below any
   wrapper folders.

The pattern wins over wrapper folders (``lms/alice_toy_toy.ipynb`` is Alice's), but when the
folder rule also gives a claim (a student-id folder holding a notebook of the assignment's own
name) for a different student, the file is skipped as ambiguous. Several copies of one notebook
for one student: identical copies count once; else the newest by pattern timestamp is taken; else
none of that student's files is taken and every copy is reported as a duplicate.

Safety: nothing is written outside ``course/submitted/<student>/<assignment>/`` and
``course/submitted_archive/``: zip entries with absolute paths, drive letters, ``..`` or symbolic
links are skipped as "unsafe path", symbolic links in a source folder too; student ids must match
:data:`STUDENT_ID` and notebook names must be the assignment's own. A student's previous submission
is never overwritten: it moves to ``course/submitted_archive/<student>/<assignment>/<time>/`` first,
and a new submission replaces the previous one as a whole. Re-collecting the same bytes changes
nothing ("unchanged").

Zip file names: entries flagged as UTF-8 are read as UTF-8; unflagged names (cp437 by the zip
standard) are re-read as UTF-8 when their bytes are valid UTF-8 (many tools write UTF-8 without
the flag), else decoded with U+FFFD replacement characters, so such names never crash the
collect: they fail the student-id or notebook-name check and are reported as skipped. A zip whose
UTF-8 flag lies (invalid bytes) cannot be opened by :mod:`zipfile` and is skipped whole as an
unreadable zip.

Timestamps (``timestamp.txt``, nbgrader's format ``YYYY-MM-DD HH:MM:SS.ffffff UTC``): the newest
``timestamp`` group of the pattern, else a ``timestamp.txt`` found beside the notebooks, else the
newest file time (zip entry times carry no time zone and are read as UTC), else ``now``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .paths import assignment_dir

#: Student ids: letters and digits of any script (``émile``, ``zoë``, ``李``), ``.``, ``_``, ``-`` and
#: ``@``, not starting with a dot, at most 128 characters; matched after Unicode NFC normalization
#: (a name from a macOS zip, ``e`` + combining accent, is the same id as ``é``).
STUDENT_ID = re.compile(r"[\w@-][\w.@-]{0,127}")
ALLOWED_IN_ID = "letters, digits, '.', '_', '-', '@'"

#: Ready-made ``--pattern`` values, by name (see :data:`CANVAS_PATTERN`).
NAMED_PATTERNS: dict[str, str] = {}

#: Canvas's "Download Submissions" file names: ``{student}_{user id}_{submission id}_{file}``, with
#: ``LATE`` after the student for late work and ``-N`` before the extension of a re-submitted file,
#: e.g. ``smithhank_12345_67890_forward_mode.ipynb`` or ``smithhank_LATE_12345_67890_forward_mode-1.ipynb``.
#: The student id is Canvas's login-free name part (``smithhank``); the ids Canvas puts after it are
#: its own numbers (user and submission), not the student's.
CANVAS_PATTERN = (
    r"(?:.*/)?(?P<student_id>[^/_]+)(?:_LATE)?_[0-9]+_[0-9]+_(?P<file_id>[^/]+?)(?:-[0-9]+)?\.ipynb\Z"
)
NAMED_PATTERNS["canvas"] = CANVAS_PATTERN

#: The file-name patterns tried in order when none is given (see the module docstring).
DEFAULT_PATTERNS: tuple[str, ...] = (
    r"(?:.*/)?(?:{assignment}_)?(?P<student_id>[^/]+?)_attempt_(?P<timestamp>[0-9][0-9:. T-]*[0-9])"
    r"_(?P<file_id>[^/]+)\Z",
    r"(?:.*/)?(?P<student_id>[^/]+?)_{assignment}_(?P<file_id>[^/]+)\Z",
)

#: What to try when files did not match any file-name pattern.
PATTERN_HINT = (
    "Files downloaded from Canvas (smithhank_12345_67890_forward_mode.ipynb) need --pattern canvas; "
    "any other naming: --pattern with a regular expression with the groups student_id and file_id."
)

TIMESTAMP_FILE = "timestamp.txt"
MAX_FILE_BYTES = 200 * 2**20  # a notebook larger than this is not a submission but an accident
MAX_ZIP_DEPTH = 3  # zips inside zips inside zips, and no deeper
_NO_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's "no date"
_SYSTEM_PARTS = ("__MACOSX", ".ipynb_checkpoints", ".DS_Store")


class CollectError(ValueError):
    """The source cannot be collected at all (missing, empty of submissions, bad pattern)."""


@dataclass(frozen=True)
class Taken:
    """One student's submission as collected.

    ``status`` is ``"new"`` (no earlier submission), ``"replaced"`` (the earlier one moved to
    ``archived_to``) or ``"unchanged"`` (the same notebooks, byte for byte, were already there).
    """

    student: str
    files: list[str]
    origin: str
    status: str = "new"
    archived_to: Path | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class Skipped:
    """A file of the source that was not taken, and why."""

    origin: str
    reason: str


@dataclass
class CollectReport:
    """What :func:`collect` took and what it skipped."""

    course: Path
    assignment: str
    source: Path
    taken: list[Taken] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def by_status(self, status: str) -> list[Taken]:
        """The submissions whose status is ``status`` (``new``, ``replaced`` or ``unchanged``)."""
        return [t for t in self.taken if t.status == status]

    def summary(self) -> str:
        """A report for people: every submission taken, every file skipped with its reason."""
        new, replaced, same = (len(self.by_status(s)) for s in ("new", "replaced", "unchanged"))
        lines = [
            f"Collected {self.assignment} from {self.source}: {new + replaced} submission(s) taken "
            f"({new} new, {replaced} replaced), {same} unchanged, {len(self.skipped)} file(s) skipped."
        ]
        for t in self.taken:
            line = f"  {t.student}: {', '.join(t.files)} ({t.status})"
            if t.archived_to is not None:
                line += f"; the previous submission moved to {t.archived_to}"
            lines.append(line + f" from {t.origin}")
        if self.skipped:
            lines.append("Skipped:")
            lines += [f"  {s.origin}: {s.reason}" for s in self.skipped]
            if any("does not match the pattern" in s.reason for s in self.skipped):
                lines.append(PATTERN_HINT)
        return "\n".join(lines)


# ---------------------------------------------------------------- reading the source as a tree


@dataclass
class _Entry:
    """A file of the source tree: its path in the tree, where it came from, and how to read it."""

    parts: tuple[str, ...]
    origin: str
    read: Callable[[], bytes]
    size: int
    mtime: datetime | None
    _data: bytes | None = None

    def data(self) -> bytes:
        if self._data is None:
            self._data = self.read()
        return self._data


def _show(text: str) -> str:
    """``text`` fit for printing: undecodable file-name bytes (surrogate escapes) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The entry's name; unflagged names re-read as UTF-8 where valid, else with U+FFFD."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:  # decoded with a metadata_encoding other than cp437
        return info.filename
    return raw.decode("utf-8", "replace")


def _unsafe(name: str, info: zipfile.ZipInfo) -> str | None:
    """Why the zip entry ``name`` could write outside its folder, or None when it cannot."""
    path = name.replace("\\", "/")
    if stat.S_ISLNK(info.external_attr >> 16):
        return "unsafe path (symbolic link)"
    if path.startswith("/"):
        return "unsafe path (absolute path)"
    if re.match(r"[A-Za-z]:", path):
        return "unsafe path (drive letter)"
    if ".." in path.split("/"):
        return "unsafe path (parent folder '..')"
    return None


def _zip_time(info: zipfile.ZipInfo) -> datetime | None:
    if info.date_time == _NO_ZIP_TIME:
        return None
    try:
        return datetime(*info.date_time, tzinfo=timezone.utc)
    except ValueError:
        return None


def _file_time(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


class _Scanner:
    """Walks a source, yielding its files as :class:`_Entry` and recording what it skips."""

    def __init__(self, stack: contextlib.ExitStack, skipped: list[Skipped]) -> None:
        self.stack = stack
        self.skipped = skipped

    def skip(self, origin: str, reason: str) -> None:
        self.skipped.append(Skipped(_show(origin), reason))

    def folder(self, root: Path) -> Iterator[_Entry]:
        for here, dirs, files in os.walk(root):
            base = Path(here)
            rel = base.relative_to(root).parts
            for d in list(dirs):
                if (base / d).is_symlink():
                    self.skip(str(base / d), "unsafe path (symbolic link)")
                    dirs.remove(d)
            dirs.sort()
            for name in sorted(files):
                path = base / name
                if path.is_symlink():
                    self.skip(str(path), "unsafe path (symbolic link)")
                elif name.lower().endswith(".zip"):
                    yield from self.archive(path, str(path), (*rel, name[:-4]), 1)
                else:
                    try:
                        size, mtime = path.stat().st_size, _file_time(path)
                    except OSError as err:
                        self.skip(str(path), f"unreadable file ({err.strerror or err})")
                        continue
                    yield _Entry((*rel, name), str(path), path.read_bytes, size, mtime)

    def archive(
        self, file: Path | io.BytesIO, origin: str, prefix: tuple[str, ...], depth: int
    ) -> Iterator[_Entry]:
        try:
            zf = self.stack.enter_context(zipfile.ZipFile(file))
            infos = zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, UnicodeDecodeError, OSError, EOFError) as err:
            self.skip(origin, f"unreadable zip ({err})")
            return
        for info in infos:
            name = _zip_name(info)
            where = f"{origin}!{name}"
            problem = _unsafe(name, info)
            if problem:
                self.skip(where, problem)
                continue
            if info.is_dir():
                continue
            parts = (*prefix, *(p for p in name.replace("\\", "/").split("/") if p not in ("", ".")))
            if name.lower().endswith(".zip"):
                if depth >= MAX_ZIP_DEPTH:
                    self.skip(where, f"zip nested deeper than {MAX_ZIP_DEPTH} levels")
                    continue
                try:
                    inner = io.BytesIO(self._read(zf, info))
                except _Unreadable as err:
                    self.skip(where, str(err))
                    continue
                yield from self.archive(inner, where, (*parts[:-1], parts[-1][:-4]), depth + 1)
                continue
            yield _Entry(
                parts, where, lambda zf=zf, info=info: self._read(zf, info), info.file_size, _zip_time(info)
            )

    @staticmethod
    def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        if info.file_size > MAX_FILE_BYTES:
            raise _Unreadable(f"too large ({info.file_size} bytes)")
        try:
            return zf.read(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as err:
            raise _Unreadable(f"unreadable zip entry ({err})") from err
        except Exception as err:  # zlib.error and friends: a damaged archive, not a bug of ours
            raise _Unreadable(f"unreadable zip entry ({type(err).__name__}: {err})") from err


class _Unreadable(Exception):
    """A file whose bytes could not be read; the message is the skip reason."""


# ---------------------------------------------------------------- finding each file's student


@dataclass
class _Claim:
    """A notebook claimed for ``student`` under the name ``notebook``."""

    entry: _Entry
    student: str
    notebook: str
    timestamp: datetime | None  # from the pattern
    folder_time: datetime | None  # from a timestamp.txt beside it


def _compile_patterns(pattern: str | None, assignment: str) -> list[re.Pattern[str]]:
    sources = DEFAULT_PATTERNS if pattern is None else (NAMED_PATTERNS.get(pattern, pattern),)
    compiled = []
    for src in sources:
        try:
            rx = re.compile(src.replace("{assignment}", re.escape(assignment)))
        except re.error as err:
            raise CollectError(f"the file-name pattern {src!r} is not a regular expression ({err})") from err
        missing = [g for g in ("student_id", "file_id") if g not in rx.groupindex]
        if missing:
            raise CollectError(f"the file-name pattern {src!r} lacks the named group(s) {', '.join(missing)}")
        compiled.append(rx)
    return compiled


_DASHED_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)[-_T ](\d\d)-(\d\d)-(\d\d)")


def _parse_time(text: str) -> datetime:
    """A timestamp as nbgrader reads it (dateutil; naive means UTC), made time-zone aware.

    The all-dashes form of nbgrader's documentation, ``2016-01-30-15-30-10``, is read here as
    year-month-day-hour-minute-second: dateutil (and so nbgrader's ``parse_utc``) takes its
    ``-10`` for a UTC offset and drops the minutes, giving 2016-01-31 01:00 UTC.
    """
    from nbgrader.utils import parse_utc

    text = text.strip()
    dashed = _DASHED_TIME.fullmatch(text)
    if dashed:
        return datetime(*(int(g) for g in dashed.groups()), tzinfo=timezone.utc)
    return parse_utc(text).replace(tzinfo=timezone.utc)


def _folder_student(parts: tuple[str, ...], assignment: str) -> str | None:
    if len(parts) >= 3 and parts[-2] == assignment:
        return parts[-3]
    return parts[-2] if len(parts) >= 2 else None


def _claim(
    entry: _Entry,
    assignment: str,
    patterns: list[re.Pattern[str]],
    notebooks: set[str],
    folder_times: dict[tuple[str, ...], datetime],
) -> _Claim | str:
    """The claim for a notebook file, or the reason it is skipped."""
    path = "/".join(entry.parts)
    by_folder = _folder_student(entry.parts, assignment)
    match = next((m for rx in patterns if (m := rx.match(path))), None)
    timestamp = None
    if match:
        student, file_id = match["student_id"], match["file_id"]
        folder_claim = by_folder and STUDENT_ID.fullmatch(by_folder) and entry.parts[-1] in notebooks
        if folder_claim and by_folder != student:
            return f"ambiguous student: the folder says {by_folder!r}, the file name says {student!r}"
        stamp = match.groupdict().get("timestamp")
        if stamp:
            try:
                timestamp = _parse_time(stamp)
            except (ValueError, OverflowError):
                return f"unreadable timestamp {stamp!r} in the file name"
        notebook = Path(file_id.replace("\\", "/")).stem + ".ipynb"
    elif by_folder is not None:
        student, notebook = by_folder, entry.parts[-1]
    else:
        return "not inside a student folder, and the file name does not match the pattern"
    student = unicodedata.normalize("NFC", student)
    if not STUDENT_ID.fullmatch(student):
        reason = f"invalid student id {_show(student)!r} (allowed: {ALLOWED_IN_ID})"
        suggestion = suggest_id(student)
        if suggestion:
            reason += f"; rename it to {suggestion!r} to take it"
        return reason
    if notebook not in notebooks:
        return (
            f"unknown notebook name {_show(notebook)!r} (assignment {assignment} has: "
            f"{', '.join(sorted(notebooks))})"
        )
    return _Claim(entry, student, notebook, timestamp, folder_times.get(entry.parts[:-1]))


def suggest_id(name: str) -> str | None:
    """A valid student id made from ``name`` (spaces become ``_``, other characters an id may not
    hold are dropped: ``"Hank Smith"`` -> ``"Hank_Smith"``), or None when nothing of it is left."""
    text = re.sub(r"\s+", "_", unicodedata.normalize("NFC", _show(name)).strip())
    text = re.sub(r"[^\w.@-]", "", text).lstrip(".")[:128]
    return text if STUDENT_ID.fullmatch(text) and text != name else None


def _timestamp_files(
    entries: list[_Entry], skip: Callable[[str, str], None]
) -> dict[tuple[str, ...], datetime]:
    """The times in ``timestamp.txt`` files, by the folder that holds them."""
    times = {}
    for e in entries:
        try:
            times[e.parts[:-1]] = _parse_time(e.data().decode("utf-8"))
        except (ValueError, OverflowError, UnicodeDecodeError, OSError, _Unreadable) as err:
            skip(e.origin, f"unreadable timestamp file ({err})")
    return times


# ---------------------------------------------------------------- choosing among duplicates


def _resolve(claims: list[_Claim], skip: Callable[[str, str], None]) -> dict[str, dict[str, _Claim]]:
    """One claim per (student, notebook); a student with conflicting copies is skipped whole."""
    grouped: dict[str, dict[str, list[_Claim]]] = {}
    for c in claims:
        grouped.setdefault(c.student, {}).setdefault(c.notebook, []).append(c)
    chosen: dict[str, dict[str, _Claim]] = {}
    for student, by_name in grouped.items():
        picks: dict[str, _Claim] = {}
        conflict = False
        for name, copies in by_name.items():
            first = copies[0]
            if all(c.entry.data() == first.entry.data() for c in copies):
                picks[name] = first
                for c in copies[1:]:
                    skip(c.entry.origin, f"duplicate (same content as {_show(first.entry.origin)})")
                continue
            stamps = [c.timestamp for c in copies]
            newest = max((s for s in stamps if s is not None), default=None)
            if None not in stamps and stamps.count(newest) == 1:
                keep = copies[stamps.index(newest)]
                picks[name] = keep
                for c in copies:
                    if c is not keep:
                        skip(c.entry.origin, f"duplicate (older than {_show(keep.entry.origin)})")
                continue
            conflict = True
            for c in copies:
                skip(
                    c.entry.origin,
                    f"duplicate: {len(copies)} different copies of {student}/{name} and no newer one by "
                    "timestamp; resolve by hand",
                )
        if conflict:
            for c in picks.values():
                skip(c.entry.origin, f"not taken: {student}'s submission has conflicting duplicates")
            continue
        chosen[student] = picks
    return chosen


# ---------------------------------------------------------------- writing submissions


def format_timestamp(when: datetime) -> str:
    """``when`` in UTC in nbgrader's ``timestamp.txt`` format (naive times are taken as UTC)."""
    utc = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"


def _old_time(folder: Path) -> datetime:
    """When the submission in ``folder`` was made: its timestamp.txt, else its newest file time."""
    stamp = folder / TIMESTAMP_FILE
    if stamp.is_file():
        with contextlib.suppress(ValueError, OverflowError, UnicodeDecodeError):
            return _parse_time(stamp.read_text(encoding="utf-8"))
    files = [p for p in folder.rglob("*") if p.is_file()] or [folder]
    return max(_file_time(p) for p in files)


def _archive(course: Path, student: str, assignment: str, folder: Path) -> Path:
    """Move ``folder`` to ``submitted_archive/<student>/<assignment>/<time>[-n]/``; return it."""
    base = course / "submitted_archive" / student / assignment
    name = _old_time(folder).strftime("%Y-%m-%dT%H-%M-%S.%fZ")
    target, n = base / name, 1
    while target.exists():
        n += 1
        target = base / f"{name}-{n}"
    base.mkdir(parents=True, exist_ok=True)
    shutil.move(str(folder), str(target))
    return target


def _write(
    course: Path, assignment: str, student: str, files: dict[str, bytes], when: datetime
) -> tuple[str, Path | None]:
    """Write one submission, archiving an earlier different one; return (status, archive path)."""
    target = course / "submitted" / student / assignment
    if target.is_dir():
        old = {p.name: p.read_bytes() for p in target.glob("*.ipynb") if p.is_file()}
        if old == files:
            return "unchanged", None
    elif target.exists() or target.is_symlink():
        raise CollectError(f"{target} exists but is not a folder; move it away and collect again")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{assignment}.collecting-", dir=target.parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        (staging / TIMESTAMP_FILE).write_text(format_timestamp(when), encoding="utf-8")
        archived = _archive(course, student, assignment, target) if target.exists() else None
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ("replaced" if archived else "new"), archived


# ---------------------------------------------------------------- the command


def collect(
    course: Path,
    assignment: str,
    source: Path,
    *,
    now: datetime | None = None,
    pattern: str | None = None,
) -> CollectReport:
    """Take every submission of ``assignment`` found in ``source`` into ``course/submitted/``.

    ``source`` is a folder (of student folders, of files named by ``pattern``, of zips) or a zip
    file; ``pattern`` is a regular expression with the named groups ``student_id`` and
    ``file_id`` (optionally ``timestamp``); None tries :data:`DEFAULT_PATTERNS`. ``now`` is the
    time written to ``timestamp.txt`` when the source gives none (default: the current time).

    Raises CourseError for an unknown assignment and CollectError when the source is missing,
    the pattern is bad, or no submission at all could be taken.
    """
    course, source = Path(course), Path(source)
    notebooks = {p.name for p in assignment_dir(course, assignment).glob("*.ipynb")}
    if not source.exists():
        raise CollectError(f"the source {source} does not exist")
    if not source.is_dir() and source.suffix.lower() != ".zip":
        raise CollectError(f"the source {source} is neither a folder nor a .zip file")
    patterns = _compile_patterns(pattern, assignment)
    now = now or datetime.now(timezone.utc)
    report = CollectReport(course, assignment, source)

    def skip(origin: str, reason: str) -> None:
        report.skipped.append(Skipped(_show(origin), reason))

    with contextlib.ExitStack() as stack:
        scanner = _Scanner(stack, report.skipped)
        if source.is_dir():
            entries = list(scanner.folder(source))
        else:
            entries = list(scanner.archive(source, str(source), (), 1))
        stamps, notebook_entries = [], []
        for e in entries:
            name = e.parts[-1]
            if any(p in _SYSTEM_PARTS or p.startswith("._") for p in e.parts):
                skip(e.origin, "system file (macOS or Jupyter metadata)")
            elif name == TIMESTAMP_FILE:
                stamps.append(e)
            elif not name.lower().endswith(".ipynb"):
                skip(e.origin, "not a notebook")
            else:
                notebook_entries.append(e)
        folder_times = _timestamp_files(stamps, skip)

        claims = []
        for e in notebook_entries:
            if e.size > MAX_FILE_BYTES:
                skip(e.origin, f"too large ({e.size} bytes)")
                continue
            found = _claim(e, assignment, patterns, notebooks, folder_times)
            if isinstance(found, str):
                skip(e.origin, found)
                continue
            try:
                data = e.data()
            except _Unreadable as err:
                skip(e.origin, str(err))
                continue
            except OSError as err:
                skip(e.origin, f"unreadable file ({err.strerror or err})")
                continue
            if not data:
                skip(e.origin, "empty file")
                continue
            claims.append(found)

        for student, picks in sorted(_resolve(claims, skip).items()):
            files = {name: c.entry.data() for name, c in sorted(picks.items())}
            when = (
                max((c.timestamp for c in picks.values() if c.timestamp), default=None)
                or max((c.folder_time for c in picks.values() if c.folder_time), default=None)
                or max((c.entry.mtime for c in picks.values() if c.entry.mtime), default=None)
                or now
            )
            status, archived = _write(course, assignment, student, files, when)
            if status == "unchanged":
                when = _old_time(course / "submitted" / student / assignment)
            origin = ", ".join(_show(c.entry.origin) for _, c in sorted(picks.items()))
            report.taken.append(Taken(student, sorted(files), origin, status, archived, when))

    if not report.taken:
        detail = ""
        if report.skipped:
            detail = f": all {len(report.skipped)} file(s) were skipped:\n" + "\n".join(
                f"  {s.origin}: {s.reason}" for s in report.skipped
            )
            if any("does not match the pattern" in s.reason for s in report.skipped):
                detail += f"\n{PATTERN_HINT}"
        raise CollectError(f"no submissions of {assignment} found in {source}{detail}")
    return report
