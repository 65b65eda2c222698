"""Parallel, fault-tolerant autograding on top of nbgrader's own preprocessors.

Workers (processes, later cluster tasks) sanitize and execute one submission each against a
private snapshot of the assignment's definition and never touch the course gradebook; the
parent is the one writer, recording each result with nbgrader's ``SaveAutoGrades``. So grades
are exactly stock nbgrader's, and no "database is locked" can happen.
"""

from .bundle import AssignmentBundle, build_bundle
from .limits import LIMITS_FILE, Limits, read_limits
from .run import AutogradeRun, autograde
from .sandbox import SandboxUnavailable
from .status import STATUSES, SubmissionStatus
from .worker import NotebookResult, SubmissionResult, grade_submission
