"""Settings files of an assignment (``limits.toml``, ``integrity.toml``): TOML onto a dataclass."""

from __future__ import annotations

import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import TypeVar

from .paths import CourseError

T = TypeVar("T")


def read_settings(path: Path, base: T, noun: str = "setting") -> T:
    """``base`` (a dataclass instance) with the top-level ``key = value`` pairs of the TOML file
    ``path`` on top; TOML arrays become tuples. A missing file changes nothing.

    A file that is not TOML, an unknown key (``noun`` names what keys are, e.g. "limit") or a value
    the dataclass refuses is a :class:`~autograder.paths.CourseError` naming the file and the key.
    """
    if not path.is_file():
        return base
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CourseError(f"{path} is not valid TOML: {exc}") from exc
    known = {f.name for f in fields(base)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise CourseError(
            f"{path}: unknown {noun} {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}"
        )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return replace(base, **values)  # type: ignore[type-var]
    except (TypeError, ValueError) as exc:
        raise CourseError(f"{path}: {exc}") from exc
