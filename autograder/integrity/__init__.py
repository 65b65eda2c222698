"""The tamper check: flag submissions that patch what the tests rely on, reach outside their folder
or call the reference implementation where they must write their own.

A static scan reads every student cell (:mod:`.scan`); a monitor in the kernel reports the files
student code opens (:mod:`.monitor`). Findings go to the report; they never change a grade.
"""

from .findings import KINDS, Finding
from .policy import POLICY_FILE, IntegrityPolicy, read_policy
from .scan import scan_cells, scan_module, scan_notebook
