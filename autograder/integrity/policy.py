"""Per-assignment settings of the tamper check: where the reference library is allowed.

By default no answer may use ``adlib`` (the reference implementation) except its test helpers,
``adlib.grading``. An assignment whose exercises may use parts of it says so in
``assignments/<name>/integrity.toml`` (never released to students)::

    # assignments/a6_activations_sgd/integrity.toml
    adlib_cells = ["gradient-norms"]   # solution cells that may use all of adlib
    adlib_modules = ["adlib.data"]     # modules every answer may use
    # monitor = false                  # no file monitor in the kernel (the static scan still runs)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..settings_file import read_settings

#: The per-assignment policy file, next to the assignment's notebooks.
POLICY_FILE = "integrity.toml"

#: adlib modules every answer may use: the test helpers.
ALWAYS_ALLOWED = ("adlib.grading",)

_MODULE = re.compile(r"^adlib(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class IntegrityPolicy:
    """What the tamper check allows in one assignment.

    Attributes:
        adlib_cells: grade ids of solution cells whose answers may use all of adlib.
        adlib_modules: adlib modules (``"adlib.data"``) any student cell may import and use;
            :data:`ALWAYS_ALLOWED` are always allowed.
        monitor: watch, in the kernel, which files student code opens (an audit hook reporting
            to the grader); the static scan runs either way.
    """

    adlib_cells: tuple[str, ...] = ()
    adlib_modules: tuple[str, ...] = ()
    monitor: bool = True

    def __post_init__(self) -> None:
        for name in ("adlib_cells", "adlib_modules"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
                raise TypeError(f"{name} must be a list of non-empty strings, got {value!r}")
        bad = [m for m in self.adlib_modules if not _MODULE.match(m)]
        if bad:
            raise ValueError(f"adlib_modules must name adlib modules ('adlib.data'), got {bad}")
        if type(self.monitor) is not bool:
            raise TypeError(f"monitor must be true or false, got {self.monitor!r}")

    @property
    def allowed_modules(self) -> tuple[str, ...]:
        """Every adlib module any answer may use."""
        return ALWAYS_ALLOWED + self.adlib_modules

    def module_allowed(self, dotted: str) -> bool:
        """True when ``dotted`` (``adlib.data.load_digits``) lies in an allowed module."""
        return any(dotted == m or dotted.startswith(m + ".") for m in self.allowed_modules)


def read_policy(path: Path) -> IntegrityPolicy:
    """The policy an ``integrity.toml`` sets (the defaults when the file is missing).

    An unknown key, a value of the wrong type or a file that is not TOML is a
    :class:`~autograder.paths.CourseError` naming the file and the problem.
    """
    return read_settings(path, IntegrityPolicy())
