"""Collecting submissions: both source layouts, LMS zips, unsafe entries, archives, re-collects.

Expected values are written out by hand here: which student gets which bytes, the nbgrader
timestamp text of a known instant (epoch 1_700_000_000 s is 2023-11-14 22:13:20 UTC), and the
reason each bad file is skipped for.
"""

from __future__ import annotations

import io
import os
import shutil
import string
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.collect import STUDENT_ID, CollectError, collect
from autograder.paths import REPO_ROOT, CourseError

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
NOW_TEXT = "2024-05-06 07:08:09.000000 UTC"


def _nb(text: str) -> bytes:
    """A small notebook whose one cell holds ``text``: distinct bytes for each submission."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(text, id="answer")]  # a fixed id: the same text, the same bytes
    return nbformat.writes(nb).encode("utf-8")


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course whose assignment ``toy`` has the notebooks toy.ipynb and extra.ipynb."""
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy2(REPO_ROOT / "course" / "nbgrader_config.py", root)
    src = tmp_path / "assignments" / "toy"
    src.mkdir(parents=True)
    for name in ("toy.ipynb", "extra.ipynb"):
        (src / name).write_bytes(_nb(f"# source of {name}"))
    return root


def _write(path: Path, data: bytes, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _zip(path: Path, entries: dict[str, bytes], date_time: tuple[int, ...] = (2024, 1, 2, 3, 4, 6)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=date_time)
            zf.writestr(info, data)
    return path


def _submitted(course: Path, student: str) -> Path:
    return course / "submitted" / student / "toy"


def _reason_for(report, fragment: str) -> str:
    hits = [s.reason for s in report.skipped if fragment in s.origin]
    assert len(hits) == 1, f"expected one skip for {fragment!r}, got {report.skipped}"
    return hits[0]


def test_folder_of_student_folders_in_both_layouts(course: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    alice_toy = _write(src / "alice" / "toy.ipynb", _nb("alice toy"), mtime=1_700_000_000)
    alice_extra = _write(src / "alice" / "extra.ipynb", _nb("alice extra"), mtime=1_600_000_000)
    _write(src / "bob" / "toy" / "toy.ipynb", _nb("bob toy"))
    _write(src / "bob" / "toy" / "timestamp.txt", b"2024-03-01 10:00:00.000000 UTC")
    _write(src / "carol" / "notes.txt", b"not a notebook")

    report = collect(course, "toy", src, now=NOW)

    assert {t.student: t.files for t in report.taken} == {
        "alice": ["extra.ipynb", "toy.ipynb"],
        "bob": ["toy.ipynb"],
    }
    assert all(t.status == "new" for t in report.taken)
    assert (_submitted(course, "alice") / "toy.ipynb").read_bytes() == alice_toy.read_bytes()
    assert (_submitted(course, "alice") / "extra.ipynb").read_bytes() == alice_extra.read_bytes()
    assert (_submitted(course, "bob") / "toy.ipynb").read_bytes() == _nb("bob toy")
    # the newest file time of alice's notebooks; bob's own timestamp.txt
    assert (_submitted(course, "alice") / "timestamp.txt").read_text() == "2023-11-14 22:13:20.000000 UTC"
    assert (_submitted(course, "bob") / "timestamp.txt").read_text() == "2024-03-01 10:00:00.000000 UTC"
    assert _reason_for(report, "notes.txt") == "not a notebook"
    assert "carol" not in {p.name for p in (course / "submitted").iterdir()}
    summary = report.summary()
    assert "alice: extra.ipynb, toy.ipynb (new)" in summary
    assert "notes.txt: not a notebook" in summary


def test_lms_zip_with_unsafe_and_bad_entries(course: Path, tmp_path: Path, monkeypatch) -> None:
    downloads = tmp_path / "downloads.zip"
    entries = {
        "alice_toy_toy.ipynb": _nb("alice"),
        "bob_toy_extra.ipynb": _nb("bob"),
        "toy_carol_attempt_2024-02-01-09-30-00_toy.ipynb": _nb("carol"),
        "../evil.ipynb": _nb("evil"),
        "/abs.ipynb": _nb("abs"),
        "C:/drive.ipynb": _nb("drive"),
        "sub/../../deep.ipynb": _nb("deep"),
        "dave_toy_unknown.ipynb": _nb("dave"),
        "erin_toy_toy.ipynb": b"",
        "__MACOSX/._alice_toy_toy.ipynb": b"resource fork",
    }
    _zip(downloads, entries)
    with zipfile.ZipFile(downloads, "a") as zf:
        link = zipfile.ZipInfo("frank/toy.ipynb")
        link.create_system = 3
        link.external_attr = 0o120777 << 16  # a symbolic link to /etc/passwd
        zf.writestr(link, "/etc/passwd")
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # a relative write of '../evil.ipynb' would land in tmp_path

    report = collect(course, "toy", downloads, now=NOW)

    assert {t.student: t.files for t in report.taken} == {
        "alice": ["toy.ipynb"],
        "bob": ["extra.ipynb"],
        "carol": ["toy.ipynb"],
    }
    assert (_submitted(course, "alice") / "toy.ipynb").read_bytes() == _nb("alice")
    assert (_submitted(course, "carol") / "toy.ipynb").read_bytes() == _nb("carol")
    assert (_submitted(course, "alice") / "timestamp.txt").read_text() == "2024-01-02 03:04:06.000000 UTC"
    assert (_submitted(course, "carol") / "timestamp.txt").read_text() == "2024-02-01 09:30:00.000000 UTC"
    for name in ("../evil.ipynb", "/abs.ipynb", "C:/drive.ipynb", "sub/../../deep.ipynb", "frank/toy.ipynb"):
        assert _reason_for(report, "!" + name).startswith("unsafe path"), name
    assert _reason_for(report, "dave_toy_unknown").startswith("unknown notebook name 'unknown.ipynb'")
    assert _reason_for(report, "erin_toy_toy") == "empty file"
    assert _reason_for(report, "__MACOSX").startswith("system file")
    written = {p.name for p in tmp_path.rglob("*")}
    assert not written & {"evil.ipynb", "abs.ipynb", "drive.ipynb", "deep.ipynb"}
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice", "bob", "carol"]


def test_zips_inside_a_folder_read_as_folders(course: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    _zip(src / "alice.zip", {"toy.ipynb": _nb("alice")})  # a student's own zip: its name is the student
    _zip(
        src / "lms.zip", {"export/bob_toy_toy.ipynb": _nb("bob"), "export/carol/toy/toy.ipynb": _nb("carol")}
    )
    _write(src / "broken.zip", b"PK\x03\x04 this is not a zip")

    report = collect(course, "toy", src, now=NOW)

    assert {t.student for t in report.taken} == {"alice", "bob", "carol"}
    for student in ("alice", "bob", "carol"):
        assert (_submitted(course, student) / "toy.ipynb").read_bytes() == _nb(student)
    assert _reason_for(report, "broken.zip").startswith("unreadable zip")


def test_an_earlier_submission_is_archived_and_a_same_one_left_alone(course: Path, tmp_path: Path) -> None:
    first = tmp_path / "first"
    _write(first / "alice" / "toy.ipynb", _nb("v1"), mtime=1_700_000_000)
    collect(course, "toy", first, now=NOW)
    target = _submitted(course, "alice")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in target.iterdir()}

    again = collect(course, "toy", first, now=NOW)
    assert [(t.student, t.status, t.archived_to) for t in again.taken] == [("alice", "unchanged", None)]
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in target.iterdir()} == before
    assert not (course / "submitted_archive").exists()
    assert "(unchanged)" in again.summary()

    second = tmp_path / "second"
    _write(second / "alice" / "toy.ipynb", _nb("v2"), mtime=1_700_000_600)
    _write(second / "alice" / "extra.ipynb", _nb("v2 extra"), mtime=1_700_000_600)
    report = collect(course, "toy", second, now=NOW)
    (taken,) = report.taken
    assert taken.status == "replaced"
    assert taken.archived_to == course / "submitted_archive" / "alice" / "toy" / "2023-11-14T22-13-20.000000Z"
    assert (taken.archived_to / "toy.ipynb").read_bytes() == _nb("v1")
    assert (taken.archived_to / "timestamp.txt").read_text() == "2023-11-14 22:13:20.000000 UTC"
    assert (target / "toy.ipynb").read_bytes() == _nb("v2")
    assert (target / "timestamp.txt").read_text() == "2023-11-14 22:23:20.000000 UTC"
    assert str(taken.archived_to) in report.summary()

    # a third, different submission with the same old time does not overwrite the first archive
    third = tmp_path / "third"
    _write(third / "alice" / "toy.ipynb", _nb("v3"), mtime=1_700_000_600)
    (target / "timestamp.txt").write_text("2023-11-14 22:13:20.000000 UTC")
    (taken3,) = collect(course, "toy", third, now=NOW).taken
    assert taken3.archived_to.name == "2023-11-14T22-13-20.000000Z-2"
    assert (taken3.archived_to / "extra.ipynb").read_bytes() == _nb("v2 extra")
    assert (taken.archived_to / "toy.ipynb").read_bytes() == _nb("v1")
    assert sorted(p.name for p in target.iterdir()) == ["timestamp.txt", "toy.ipynb"]


def test_now_is_the_timestamp_when_the_source_has_none(course: Path, tmp_path: Path) -> None:
    _zip(tmp_path / "s.zip", {"alice/toy.ipynb": _nb("a")}, date_time=(1980, 1, 1, 0, 0, 0))
    collect(course, "toy", tmp_path / "s.zip", now=NOW)
    assert (_submitted(course, "alice") / "timestamp.txt").read_text() == NOW_TEXT


def _patched_zip(path: Path, entries: dict[str, bytes], patches: dict[bytes, bytes]) -> Path:
    """A zip whose raw name bytes are then replaced (same length), as non-UTF-8 tools write them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    raw = buf.getvalue()
    for old, new in patches.items():
        assert len(old) == len(new) and old in raw
        raw = raw.replace(old, new)
    path.write_bytes(raw)
    return path


def test_non_utf8_names_are_skipped_not_fatal(course: Path, tmp_path: Path) -> None:
    src = _patched_zip(
        tmp_path / "legacy.zip",
        {
            "bob/toy.ipynb": _nb("bob"),
            "alice/caf#.ipynb": _nb("latin-1 name"),
            "j#rg/toy.ipynb": _nb("latin-1 student"),
            "ren##e/toy.ipynb": _nb("utf-8 without the flag"),
        },
        {b"caf#": b"caf\xe9", b"j#rg": b"j\xf6rg", b"ren##e": "renée".encode()},
    )
    report = collect(course, "toy", src, now=NOW)
    # UTF-8 without the flag is read as UTF-8: renée is a valid id (é is a letter)
    assert [t.student for t in report.taken] == ["bob", "renée"]
    assert _reason_for(report, "alice/caf").startswith("unknown notebook name 'caf\ufffd.ipynb'")
    assert _reason_for(report, "rg/toy").startswith("invalid student id 'j\ufffdrg'")
    report.summary().encode("utf-8")  # printable


def test_a_zip_with_a_lying_utf8_flag_is_unreadable(course: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _patched_zip(src / "bad.zip", {"\u00fc/toy.ipynb": _nb("x")}, {"\u00fc".encode(): b"\xff\xfe"})
    _write(src / "bob" / "toy.ipynb", _nb("bob"))
    report = collect(course, "toy", src, now=NOW)
    assert [t.student for t in report.taken] == ["bob"]
    assert _reason_for(report, "bad.zip").startswith("unreadable zip")


def test_duplicates(course: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    # the same bytes twice: one is taken
    _write(src / "alice" / "toy.ipynb", _nb("alice"))
    _write(src / "alice" / "toy" / "toy.ipynb", _nb("alice"))
    # two attempts: the newer by timestamp is taken
    _write(src / "toy_bob_attempt_2024-01-01-10-00-00_toy.ipynb", _nb("bob old"))
    _write(src / "toy_bob_attempt_2024-01-02-10-00-00_toy.ipynb", _nb("bob new"))
    # different bytes and no way to choose: carol is not taken at all
    _write(src / "carol" / "toy.ipynb", _nb("carol 1"))
    _write(src / "carol" / "extra.ipynb", _nb("carol extra"))
    _write(src / "carol" / "toy" / "toy.ipynb", _nb("carol 2"))

    report = collect(course, "toy", src, now=NOW)

    assert {t.student for t in report.taken} == {"alice", "bob"}
    assert (_submitted(course, "bob") / "toy.ipynb").read_bytes() == _nb("bob new")
    assert (_submitted(course, "bob") / "timestamp.txt").read_text() == "2024-01-02 10:00:00.000000 UTC"
    assert _reason_for(report, "2024-01-01-10").startswith("duplicate (older than")
    assert _reason_for(report, "alice/toy/toy").startswith("duplicate (same content")
    carol = [s.reason for s in report.skipped if "carol" in s.origin]
    assert len(carol) == 3 and all("duplicate" in r for r in carol)
    assert not _submitted(course, "carol").exists()


def test_custom_pattern_and_ambiguous_students(course: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write(src / "group1" / "alice" / "toy.ipynb", _nb("alice"))
    _write(src / "group1" / "bob" / "extra.ipynb", _nb("bob"))
    _write(src / "ann" / "sheet-toy.ipynb", _nb("ann"))
    # the pattern takes the student from the outer folder, which contradicts the inner one
    report = collect(course, "toy", src, now=NOW, pattern=r"(?P<student_id>ann)/sheet-(?P<file_id>\w+)")
    assert [t.student for t in report.taken] == ["alice", "ann", "bob"]
    assert (_submitted(course, "ann") / "toy.ipynb").read_bytes() == _nb("ann")

    src2 = tmp_path / "src2"
    _write(src2 / "group2" / "carol" / "toy.ipynb", _nb("carol"))
    _write(src2 / "dan" / "toy.ipynb", _nb("dan"))
    report = collect(course, "toy", src2, now=NOW, pattern=r"(?P<student_id>[^/]+)/[^/]+/(?P<file_id>[^/]+)")
    assert [t.student for t in report.taken] == ["dan"]
    assert _reason_for(report, "carol/toy.ipynb") == (
        "ambiguous student: the folder says 'carol', the file name says 'group2'"
    )
    assert not _submitted(course, "group2").exists()


def test_bad_input_gets_one_clear_error(course: Path, tmp_path: Path) -> None:
    with pytest.raises(CollectError, match="does not exist"):
        collect(course, "toy", tmp_path / "nowhere")
    with pytest.raises(CourseError, match="unknown assignment 'nope'"):
        collect(course, "nope", tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CollectError, match="no submissions of toy found"):
        collect(course, "toy", empty)
    _write(empty / "readme.txt", b"hello")
    with pytest.raises(CollectError, match=r"(?s)all 1 file\(s\) were skipped:.*readme.txt: not a notebook"):
        collect(course, "toy", empty)
    with pytest.raises(CollectError, match=r"neither a folder nor a \.zip"):
        collect(course, "toy", empty / "readme.txt")
    with pytest.raises(CollectError, match="lacks the named group"):
        collect(course, "toy", empty, pattern=r"(?P<student_id>\w+)")
    with pytest.raises(CollectError, match="not a regular expression"):
        collect(course, "toy", empty, pattern=r"(?P<student_id>")


def test_student_folder_names_that_are_not_ids_are_skipped(course: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write(src / "two words" / "toy.ipynb", _nb("x"))
    _write(src / ".hidden" / "toy.ipynb", _nb("y"))
    _write(src / "ok.name@school" / "toy.ipynb", _nb("z"))
    report = collect(course, "toy", src, now=NOW)
    assert [t.student for t in report.taken] == ["ok.name@school"]
    two_words = _reason_for(report, "two words")
    assert two_words.startswith("invalid student id 'two words'")
    assert two_words.endswith("rename it to 'two_words' to take it")  # a suggested id
    assert _reason_for(report, ".hidden").startswith("invalid student id '.hidden'")
    assert "rename it to 'hidden'" in _reason_for(report, ".hidden")


def test_unicode_student_ids(course: Path, tmp_path: Path) -> None:
    """Letters of any script are letters; a decomposed é (macOS file names) is the same id as é."""
    src = tmp_path / "src"
    _write(src / "émile" / "toy.ipynb", _nb("émile"))
    _write(src / "zoë_chen" / "toy.ipynb", _nb("zoë"))
    _write(src / "李雷" / "toy.ipynb", _nb("li"))
    _zip(src / "e\u0301tienne.zip", {"toy.ipynb": _nb("étienne, decomposed")})
    report = collect(course, "toy", src, now=NOW)
    assert sorted(t.student for t in report.taken) == sorted(["émile", "zoë_chen", "李雷", "\u00e9tienne"])
    assert (_submitted(course, "\u00e9tienne") / "toy.ipynb").read_bytes() == _nb("étienne, decomposed")
    assert not report.skipped


def test_canvas_downloads_with_the_ready_pattern(course: Path, tmp_path: Path) -> None:
    """Canvas names files {student}_{user id}_{submission id}_{file}; LATE and -N re-submissions too."""
    src = tmp_path / "canvas"
    _write(src / "smithhank_12345_67890_toy.ipynb", _nb("hank"))
    _write(src / "doejane_LATE_23456_78901_toy.ipynb", _nb("jane, late"))
    _write(src / "leeann_34567_89012_extra-1.ipynb", _nb("ann, second upload"))
    with pytest.raises(CollectError) as error:
        collect(course, "toy", src, now=NOW)  # nbgrader-style default patterns do not fit
    message = str(error.value)
    for name in ("smithhank_12345_67890_toy.ipynb", "doejane_LATE", "leeann_34567"):
        assert name in message  # every skipped file, not one example
    assert message.count("does not match the pattern") == 3
    assert "--pattern canvas" in message
    report = collect(course, "toy", src, now=NOW, pattern="canvas")
    assert sorted(t.student for t in report.taken) == ["doejane", "leeann", "smithhank"]
    assert (_submitted(course, "smithhank") / "toy.ipynb").read_bytes() == _nb("hank")
    assert (_submitted(course, "leeann") / "extra.ipynb").read_bytes() == _nb("ann, second upload")


ALLOWED = set(string.ascii_letters + string.digits + "._-@")
OTHER_LETTERS = "éøß李Ж"  # letters of other scripts, allowed too


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(sorted(ALLOWED) + list("/\\ :*\x00") + list(OTHER_LETTERS)), max_size=12)
)
def test_student_id_rule(name: str) -> None:
    allowed = ALLOWED | set(OTHER_LETTERS)
    expected = 1 <= len(name) <= 128 and set(name) <= allowed and not name.startswith(".")
    assert bool(STUDENT_ID.fullmatch(name)) == expected
