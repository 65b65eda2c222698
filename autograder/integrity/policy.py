"""Per-assignment settings of what a student's kernel may import, and of the tamper check.

By default a student's kernel has no ``adlib`` (the reference implementation) except its test
helpers, ``adlib.grading``, and none of the packages that could do an exercise for the student
(:data:`autograder.engine.packages.HIDDEN_PACKAGES`: torch, sympy, scipy, ...). An assignment whose
exercises need some of them says so in ``assignments/<name>/integrity.toml`` (never released)::

    # assignments/a4_linear_layer/integrity.toml
    adlib_modules = ["adlib.data"]     # adlib modules every notebook's kernel has
    packages = ["torch"]               # hidden packages every notebook's kernel has
    # monitor = false                  # no file monitor in the kernel (the static scan still runs)

    [notebook.torch_check]             # more, for one notebook of the assignment only
    packages = ["torch"]

``adlib_cells = ["grade-id"]`` lets the tamper check's scan accept adlib in those solution cells;
the kernel still has only the modules listed above.
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
    packages: tuple[str, ...] = ()
    #: Per notebook: ``((notebook, adlib_modules, packages), ...)`` (from ``[notebook.NAME]`` tables).
    notebook: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        for name in ("adlib_cells", "adlib_modules", "packages"):
            _check_names(name, getattr(self, name))
        _check_modules(self.adlib_modules)
        if type(self.monitor) is not bool:
            raise TypeError(f"monitor must be true or false, got {self.monitor!r}")
        if isinstance(self.notebook, dict):  # as read from integrity.toml
            object.__setattr__(self, "notebook", _per_notebook(self.notebook))
        for _, modules, packages in self.notebook:
            _check_modules(modules)
            _check_names("packages", packages)

    def kernel_modules(self, notebook: str) -> tuple[str, ...]:
        """The adlib modules the kernel of ``notebook`` (its name without ``.ipynb``) has."""
        extra = [m for name, modules, _ in self.notebook if name == notebook for m in modules]
        return tuple(dict.fromkeys([*self.adlib_modules, *extra]))

    def kernel_packages(self, notebook: str) -> tuple[str, ...]:
        """The hidden packages the kernel of ``notebook`` may import."""
        extra = [p for name, _, packages in self.notebook if name == notebook for p in packages]
        return tuple(dict.fromkeys([*self.packages, *extra]))

    @property
    def allowed_modules(self) -> tuple[str, ...]:
        """Every adlib module any answer may use."""
        return ALWAYS_ALLOWED + self.adlib_modules

    def module_allowed(self, dotted: str) -> bool:
        """True when ``dotted`` (``adlib.data.load_digits``) lies in an allowed module."""
        return any(dotted == m or dotted.startswith(m + ".") for m in self.allowed_modules)


def _check_names(name: str, value: object) -> None:
    if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
        raise TypeError(f"{name} must be a list of non-empty strings, got {value!r}")


def _check_modules(modules: tuple[str, ...]) -> None:
    _check_names("adlib_modules", modules)
    bad = [m for m in modules if not _MODULE.match(m)]
    if bad:
        raise ValueError(f"adlib_modules must name adlib modules ('adlib.data'), got {bad}")


def _per_notebook(tables: dict) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    out = []
    for name, table in sorted(tables.items()):
        if not isinstance(table, dict) or set(table) - {"adlib_modules", "packages"}:
            raise ValueError(f"[notebook.{name}] may set adlib_modules and packages only, got {table!r}")
        out.append((name, tuple(table.get("adlib_modules", ())), tuple(table.get("packages", ()))))
    return tuple(out)


def read_policy(path: Path) -> IntegrityPolicy:
    """The policy an ``integrity.toml`` sets (the defaults when the file is missing).

    An unknown key, a value of the wrong type or a file that is not TOML is a
    :class:`~autograder.paths.CourseError` naming the file and the problem.
    """
    return read_settings(path, IntegrityPolicy())
