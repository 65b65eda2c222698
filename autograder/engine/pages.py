"""Feedback pages made where the grading is done (``adcourse autograde --feedback``, ``watch``).

A page costs a few tenths of a core-second (nbconvert's rendering); made by the client after
grading, a 2,000-student class's pages take minutes on its few cores. Made by the worker right
after it grades, they cost what grading costs, spread over every worker of the pool or cluster.

The worker has no course folder and no course gradebook, so it makes the page in a scratch course
of its own (one per process and assignment, reused so that nbgrader's exporter and its compiled
templates are made once): the bundle's gradebook snapshot with this one result recorded by the
client's own writer code (:mod:`.gradebook_writes`, nbgrader's rows), the graded notebooks as the
client writes them, and the course's nbgrader configuration. It sends back the pages and the
fingerprint of what they were made from (:mod:`autograder.feedback_state`). The client keeps them
only where its own fingerprint of that student is the same (:func:`autograder.feedback.keep_pages`):
a manual grade, an extension or another nbgrader on the worker makes the fingerprints differ, and
the page is then made by ``adcourse feedback`` as before. A page the worker fails to make is
simply not sent.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .gradebook_writes import write_gradebook
from .graded_notebooks import prepare
from .writer import write_autograded

if TYPE_CHECKING:
    from ..feedback import FeedbackWriter
    from .bundle import AssignmentBundle
    from .results import SubmissionResult

#: This process's scratch courses: (assignment, config digest) -> (folder, its writer, its config).
_SCRATCH: dict[tuple[str, str], tuple[Path, FeedbackWriter, Any]] = {}


def _scratch(bundle: AssignmentBundle) -> tuple[Path, FeedbackWriter, Any]:
    from ..feedback import FeedbackWriter

    assert bundle.feedback_config is not None
    key = (bundle.assignment, bundle.feedback_config)
    if key not in _SCRATCH:
        root = Path(tempfile.mkdtemp(prefix=f"adpages-{bundle.assignment}-"))
        atexit.register(shutil.rmtree, root, True)
        config = bundle.nbgrader_config()
        config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
        _SCRATCH[key] = (root, FeedbackWriter(root, config, bundle.feedback_config), config)
    return _SCRATCH[key]


def make_pages(bundle: AssignmentBundle, result: SubmissionResult) -> tuple[dict[str, bytes], str]:
    """The student's feedback pages for ``result`` (``{path: bytes}``) and their fingerprint;
    ``({}, "")`` for a result without a graded notebook. Raises what making them raised."""
    root, writer, config = _scratch(bundle)
    for step in ("autograded", "feedback", ".adcourse"):
        shutil.rmtree(root / step, ignore_errors=True)
    (root / "gradebook.db").write_bytes(bundle.gradebook)
    prepared = prepare(result)
    write_gradebook(config.CourseDirectory.db_url, [prepared], config)
    write_autograded(root, prepared)
    inputs = writer.inputs(result.assignment, [result.student])[result.student]
    if not writer.write(result.assignment, result.student, inputs):
        return {}, ""
    folder = writer.folder(result.assignment, result.student)
    pages = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }
    return pages, inputs
