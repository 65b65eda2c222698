"""Parallel, fault-tolerant autograding on top of nbgrader's own preprocessors, decided outside the
student's kernel.

Workers (processes, or cluster tasks) sanitize and execute one submission each in a sandbox,
against a private snapshot of the assignment's definition, and decide every test cell by comparing
what its checks observed with the answer key's trusted run (:mod:`.verdicts`, :mod:`.oracle`);
they never touch the course gradebook. The parent is the one writer, recording the results as
they arrive, in batches of one transaction each, with exactly the rows nbgrader's
``SaveAutoGrades`` writes (:mod:`.writer`): the gradebook, the formgrader and feedback work as with stock
nbgrader, and no "database is locked" can happen.

The modules, in the order a submission meets them: :mod:`.submission` (reading it),
:mod:`.bundle` (the assignment's definition, limits and oracle), :mod:`.backends` (serial, process
pool, Dask), :mod:`.worker` (one submission), :mod:`.prepare`, :mod:`.testcode`, :mod:`.execute`,
:mod:`.sandbox`, :mod:`.packages`, :mod:`.cgroups`, :mod:`.observations`, :mod:`.verdicts`,
:mod:`.writer`; :mod:`.pipeline` declares nbgrader's steps once.
"""

from .bundle import AssignmentBundle, build_bundle
from .limits import LIMITS_FILE, Limits, read_limits
from .results import NotebookResult, SubmissionResult
from .run import AutogradeRun, autograde, autograde_class
from .sandbox import SandboxUnavailable
from .status import STATUSES, SubmissionStatus
from .worker import grade_submission
