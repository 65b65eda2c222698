"""``adcourse similarity NAME``: pairs of submissions whose solution code is alike.

What is compared: each submission's *own code*, the source of its code cells that are nbgrader
solution cells or cells the student added (code cells without nbgrader metadata whose source is
not a cell of the release), in notebook order. Test cells, the release's given code and markdown
are not the student's and are left out.

How: with copydetect's fingerprints (:class:`copydetect.CodeFingerprint`). Python code is
tokenized (pygments) with every variable, attribute and function name replaced by one letter,
every string by one letter, and comments and whitespace dropped, so renaming, reformatting and
changed comments leave the fingerprint as it was. The fingerprints are the winnowed hashes of
the k-grams of that token text (k = :data:`NOISE`, guaranteed to find every match of at least
:data:`GUARANTEE` characters), a set: reordering functions or cells changes only the few k-grams
across a boundary. The release's code (stubs, given code) is boilerplate: its fingerprints are
removed from every document first, so two blank submissions are not alike.

For a pair (A, B), copydetect gives the share of A's fingerprinted tokens that also occur in B
and the share of B's that occur in A; the pair's similarity is the larger of the two (one
submission may be a copy inside a longer one). A pair is reported when its similarity is at least
the threshold (:data:`THRESHOLD`) and the overlap is at least :data:`MIN_OVERLAP` tokens (tiny
submissions overlap by chance). The threshold is set from the planted-copy class of
``tests/test_similarity.py`` (``tests/similarity_class.py``): there the renamed and re-commented
copy scores 0.95, the reordered one 0.90 and the reformatted one split over two cells 0.79, while
no pair of independent solutions (four honest students, and a copy of the answer key against
them) exceeds 0.41; 0.6 lies between, with a margin of about 0.2 on each side.

Each submission is also compared with the kit's public reference (every module of ``adlib``,
where a student might copy from) and the assignment's answer key (the source notebooks' solution
cells), with the share of the submission found in them. A submission that *is* the answer key
(a leaked key) shows there; honest work that shares a few idioms with them scores low.

The report: :func:`similarity_report` returns the pairs, sorted most alike first, and
:func:`write_html` a self-contained page (no scripts, no CDN) with each reported pair side by
side, the shared code highlighted.
"""

from __future__ import annotations

import html
import io
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .paths import REPO_ROOT, CourseError, assignment_dir

#: copydetect's noise threshold k: matches shorter than this many token characters are ignored.
NOISE = 25
#: copydetect's guarantee threshold: every match at least this long is found (window = G - k + 1).
GUARANTEE = 30
#: The least similarity of a reported pair (see the module docstring for how it was chosen).
THRESHOLD = 0.6
#: The least number of overlapping tokens of a reported pair.
MIN_OVERLAP = 60
#: The kit's public reference library, compared with every submission.
REFERENCE_LIBRARY = REPO_ROOT / "adlib"
_SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass(frozen=True)
class Document:
    """Code to fingerprint: a submission's own code, the answer key, or a reference module."""

    name: str  # the student, "answer key", or "adlib/<module>.py"
    code: str
    origin: str = ""


@dataclass(frozen=True)
class Pair:
    """Two documents and how alike they are."""

    first: str
    second: str
    similarity: float  # max of the two shares
    shares: tuple[float, float]  # share of first found in second, of second found in first
    overlap: int  # overlapping tokens
    highlighted: tuple[str, str] = ("", "")  # each document's code as HTML, shared code marked


@dataclass
class SimilarityReport:
    """Pairs of alike submissions, and each submission's likeness to the key and the reference."""

    assignment: str
    threshold: float
    students: list[str]
    pairs: list[Pair] = field(default_factory=list)  # every pair, most alike first
    references: list[Pair] = field(default_factory=list)  # (student, key/reference) pairs, most alike first
    skipped: dict[str, str] = field(default_factory=dict)  # student -> why not compared

    def flagged(self) -> list[Pair]:
        """The pairs at or above the threshold with enough overlap."""
        return [p for p in self.pairs if p.similarity >= self.threshold and p.overlap >= MIN_OVERLAP]

    def flagged_references(self) -> list[Pair]:
        """Submissions whose own code is mostly found in the answer key or the reference library."""
        return [p for p in self.references if p.shares[0] >= self.threshold and p.overlap >= MIN_OVERLAP]

    def summary(self) -> str:
        """A report for people: the alike pairs, then the submissions like the key or adlib."""
        lines = [
            f"similarity of {self.assignment}: {len(self.students)} submission(s) compared, "
            f"{len(self.pairs)} pair(s); threshold {self.threshold:g}"
        ]
        flagged = self.flagged()
        lines.append(f"{len(flagged)} pair(s) alike:" if flagged else "no pair of submissions is alike")
        lines += [
            f"  {p.first} ~ {p.second}: {p.similarity:.2f} ({p.overlap} tokens shared)" for p in flagged
        ]
        like_ref = self.flagged_references()
        if like_ref:
            lines.append(f"{len(like_ref)} submission(s) like the answer key or the reference library:")
            lines += [f"  {p.first} ~ {p.second}: {p.shares[0]:.2f} of its code" for p in like_ref]
        for student, why in sorted(self.skipped.items()):
            lines.append(f"  {student}: not compared ({why})")
        return "\n".join(lines)


# ---------------------------------------------------------------- what a submission's own code is


def _marked(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def own_code(nb: nbformat.NotebookNode, given: set[str]) -> str:
    """The student's code in ``nb``: solution cells, and unmarked code cells not in ``given``."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = _marked(cell)
        source = cell.source.strip()
        if meta.get("solution") or (not meta.get("grade") and not meta.get("locked") and source not in given):
            if source:
                parts.append(source)
    return "\n\n".join(parts) + "\n"


def _key_code(nb: nbformat.NotebookNode) -> str:
    """The answer key's code: the source notebook's solution cells, without nbgrader's markers."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "code" and _marked(cell).get("solution"):
            lines = [line for line in cell.source.splitlines() if line.strip() not in _SOLUTION_MARKERS]
            parts.append("\n".join(lines).strip())
    return "\n\n".join(parts) + "\n"


def _release_code(course: Path, assignment: str) -> tuple[str, set[str]]:
    """The release's code (boilerplate) and its code cells' sources (given code)."""
    folder = course / "release" / assignment
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise CourseError(f"no release of {assignment} in {folder}: release it first (adcourse release)")
    sources: list[str] = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        sources += [c.source.strip() for c in nb.cells if c.cell_type == "code"]
    return "\n\n".join(sources) + "\n", set(sources)


def read_submissions(course: Path, assignment: str, given: set[str]) -> tuple[list[Document], dict[str, str]]:
    """Every submission's own code, and the students whose submission could not be read (why)."""
    docs, skipped = [], {}
    for folder in sorted((course / "submitted").glob(f"*/{assignment}")):
        student = folder.parent.name
        code, problems = [], []
        for path in sorted(folder.glob("*.ipynb")):
            try:
                code.append(own_code(nbformat.read(path, as_version=4), given))
            except Exception as err:  # any unreadable notebook: nbformat raises many kinds
                problems.append(f"{path.name} is not a readable notebook ({type(err).__name__})")
        if problems and not code:
            skipped[student] = "; ".join(problems)
        elif not code:
            skipped[student] = "no notebook"
        else:
            docs.append(Document(student, "\n".join(code), str(folder)))
    return docs, skipped


def reference_documents(assignment_folder: Path, library: Path = REFERENCE_LIBRARY) -> list[Document]:
    """The answer key of the assignment and every module of the reference library."""
    key = "\n".join(
        _key_code(nbformat.read(p, as_version=4)) for p in sorted(assignment_folder.glob("*.ipynb"))
    )
    docs = [Document("answer key", key, str(assignment_folder))]
    for path in sorted(library.rglob("*.py")):
        code = path.read_text(encoding="utf-8")
        if code.strip():
            docs.append(Document(f"{library.name}/{path.relative_to(library).as_posix()}", code, str(path)))
    return docs


# ---------------------------------------------------------------- fingerprints and pairs


def _fingerprint(doc: Document, boilerplate: list[int]):
    from copydetect import CodeFingerprint

    return CodeFingerprint(
        f"{doc.name}.py",
        NOISE,
        GUARANTEE - NOISE + 1,
        boilerplate,
        fp=io.StringIO(doc.code),
        language="python",
    )


def _highlight(code: str, slices) -> str:
    """``code`` as HTML with the ``slices`` (2 x N start/end offsets) wrapped in ``<mark>``."""
    out, at = [], 0
    for start, end in (
        sorted(zip(slices[0].tolist(), slices[1].tolist(), strict=True)) if len(slices[0]) else []
    ):
        start, end = max(int(start), at), int(end)
        if end <= start:
            continue
        out += [html.escape(code[at:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        at = end
    out.append(html.escape(code[at:]))
    return "".join(out)


def _compare(a, b, first: str, second: str, highlight: bool) -> Pair:
    from copydetect import compare_files

    overlap, (share_a, share_b), slices = compare_files(a, b)
    marked = (_highlight(a.raw_code, slices[0]), _highlight(b.raw_code, slices[1])) if highlight else ("", "")
    return Pair(
        first, second, float(max(share_a, share_b)), (float(share_a), float(share_b)), int(overlap), marked
    )


def compare_documents(
    submissions: list[Document], references: list[Document], boilerplate: str, threshold: float = THRESHOLD
) -> tuple[list[Pair], list[Pair], list[str]]:
    """Every pair of submissions, and every submission against every reference, most alike first;
    and the submissions with too little code of their own to compare (fewer than
    :data:`MIN_OVERLAP` fingerprinted tokens beyond the release's), which are in no pair.

    Pairs at or above ``threshold`` carry their highlighted code (for the HTML page).
    """
    from copydetect import CodeFingerprint

    base = CodeFingerprint(
        "release.py", NOISE, GUARANTEE - NOISE + 1, fp=io.StringIO(boilerplate), language="python"
    )
    bp = sorted(base.hashes)
    prints = {d.name: _fingerprint(d, bp) for d in submissions}
    too_small = sorted(name for name, fp in prints.items() if fp.token_coverage < MIN_OVERLAP)
    prints = {name: fp for name, fp in prints.items() if name not in too_small}
    refs = {d.name: _fingerprint(d, bp) for d in references}
    pairs = []
    for x, y in itertools.combinations(sorted(prints), 2):
        pair = _compare(prints[x], prints[y], x, y, highlight=False)
        if pair.similarity >= threshold and pair.overlap >= MIN_OVERLAP:
            pair = _compare(prints[x], prints[y], x, y, highlight=True)
        pairs.append(pair)
    against = []
    for student in sorted(prints):
        for name, ref in refs.items():
            pair = _compare(prints[student], ref, student, name, highlight=False)
            if pair.shares[0] >= threshold and pair.overlap >= MIN_OVERLAP:
                pair = _compare(prints[student], ref, student, name, highlight=True)
            against.append(pair)
    pairs.sort(key=lambda p: (-p.similarity, p.first, p.second))
    against.sort(key=lambda p: (-p.shares[0], p.first, p.second))
    return pairs, against, too_small


def similarity_report(
    course: Path, assignment: str, threshold: float = THRESHOLD, library: Path = REFERENCE_LIBRARY
) -> SimilarityReport:
    """Compare every submission of ``assignment`` with every other, the answer key and ``library``."""
    if not 0 < threshold <= 1:
        raise CourseError(f"the threshold must be in (0, 1], got {threshold:g}")
    source = assignment_dir(course, assignment)
    boilerplate, given = _release_code(course, assignment)
    submissions, skipped = read_submissions(course, assignment, given)
    if not submissions:
        raise CourseError(f"no readable submissions of {assignment} in {course / 'submitted'}")
    report = SimilarityReport(assignment, threshold, [d.name for d in submissions], skipped=skipped)
    report.pairs, report.references, too_small = compare_documents(
        submissions, reference_documents(source, library), boilerplate, threshold
    )
    for student in too_small:
        report.skipped[student] = "too little code of its own beyond the release's to compare"
    report.students = [s for s in report.students if s not in too_small]
    return report


# ---------------------------------------------------------------- the page

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 0.7em; overflow-x: auto; font-size: 0.85em; }
mark { background: #ffd54f; }
h2 { margin-top: 2em; border-top: 1px solid #ccc; padding-top: 1em; }
"""


def _side_by_side(pair: Pair, anchor: str, left: str, right: str) -> str:
    title = f"{html.escape(pair.first)} ~ {html.escape(pair.second)}: {pair.similarity:.2f}"
    return (
        f'<h2 id="{anchor}">{title}</h2>\n'
        f"<p>{pair.shares[0]:.0%} of {html.escape(pair.first)}'s code is in {html.escape(pair.second)}'s, "
        f"{pair.shares[1]:.0%} of {html.escape(pair.second)}'s in {html.escape(pair.first)}'s "
        f"({pair.overlap} tokens shared; shared code marked).</p>\n"
        f'<div class="side"><div><h3>{html.escape(left)}</h3><pre>{pair.highlighted[0]}</pre></div>'
        f"<div><h3>{html.escape(right)}</h3><pre>{pair.highlighted[1]}</pre></div></div>\n"
    )


def render_html(report: SimilarityReport) -> str:
    """The report as one self-contained HTML page."""
    flagged, like_ref = report.flagged(), report.flagged_references()
    rows = "".join(
        f'<tr><td><a href="#pair-{i}">{html.escape(p.first)} ~ {html.escape(p.second)}</a></td>'
        f"<td>{p.similarity:.2f}</td><td>{p.overlap}</td></tr>"
        for i, p in enumerate(flagged)
    )
    closest = "".join(
        f"<tr><td>{html.escape(p.first)} ~ {html.escape(p.second)}</td><td>{p.similarity:.2f}</td>"
        f"<td>{p.overlap}</td></tr>"
        for p in report.pairs[len(flagged) : len(flagged) + 5]
    )
    refs = "".join(
        f'<tr><td><a href="#ref-{i}">{html.escape(p.first)}</a></td><td>{html.escape(p.second)}</td>'
        f"<td>{p.shares[0]:.2f}</td></tr>"
        for i, p in enumerate(like_ref)
    )
    skipped = "".join(
        f"<li>{html.escape(s)}: {html.escape(why)}</li>" for s, why in sorted(report.skipped.items())
    )
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f"<title>Similarity of {html.escape(report.assignment)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Similarity of {html.escape(report.assignment)}</h1>",
        f"<p>{len(report.students)} submissions, {len(report.pairs)} pairs compared on the students' own "
        "code (solution cells and added cells; names, strings, comments and layout ignored). A pair is "
        f"listed when its similarity is at least {report.threshold:g}. Alike code is a reason to look, "
        "not a verdict.</p>",
        "<h2>Alike pairs</h2>",
        f"<table><tr><th>pair</th><th>similarity</th><th>tokens shared</th></tr>{rows}</table>"
        if flagged
        else "<p>No pair of submissions is alike.</p>",
        "<h3>The next closest pairs</h3>",
        f"<table><tr><th>pair</th><th>similarity</th><th>tokens shared</th></tr>{closest}</table>"
        if closest
        else "",
        "<h2>Like the answer key or the reference library</h2>",
        f"<table><tr><th>submission</th><th>like</th><th>share of its code</th></tr>{refs}</table>"
        if like_ref
        else "<p>No submission is mostly the answer key's or adlib's code.</p>",
        f"<p>Not compared:</p><ul>{skipped}</ul>" if skipped else "",
    ]
    parts += [_side_by_side(p, f"pair-{i}", p.first, p.second) for i, p in enumerate(flagged)]
    parts += [_side_by_side(p, f"ref-{i}", p.first, p.second) for i, p in enumerate(like_ref)]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html(report: SimilarityReport, path: Path) -> Path:
    """Write :func:`render_html` to ``path``; return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
