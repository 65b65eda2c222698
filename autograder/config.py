"""Reading the course's nbgrader_config.py the way nbgrader does, for the settings adcourse needs."""

from __future__ import annotations

import os
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


def load_config(course: Path) -> Config:
    """The config that ``nbgrader_config.py`` in ``course`` builds (empty without one, as for nbgrader)."""
    if not (Path(course) / "nbgrader_config.py").is_file():
        return Config()
    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def db_url(course: Path, config: Config | None = None) -> str:
    """The gradebook's SQLAlchemy URL, ``c.CourseDirectory.db_url`` (nbgrader's default:
    ``gradebook.db`` in the course root).

    Any SQLAlchemy URL nbgrader accepts, e.g. ``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB``.
    A relative SQLite path is taken from the course folder, where nbgrader's commands run (so
    adcourse and nbgrader open the same file wherever adcourse is started). The URL is not checked
    here: :func:`autograder.gradebook.check_gradebook` does that. ``config``: the course's config,
    if already loaded (as for the other readers here).
    """
    cfg = load_config(course) if config is None else config
    url = cfg.get("CourseDirectory", {}).get("db_url")
    if not url:
        return f"sqlite:///{Path(course) / 'gradebook.db'}"
    return _sqlite_from_course(Path(course), str(url))


def _sqlite_from_course(course: Path, url: str) -> str:
    """``url`` with a relative SQLite path made absolute from ``course``; any other URL unchanged."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return url  # reported, with the reason, when the gradebook is opened
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return url
    if os.path.isabs(path):
        return url
    return parsed.set(database=str(course / path)).render_as_string(hide_password=False)


def cell_timeout(course: Path, default: int = 120, config: Config | None = None) -> int:
    """Seconds a cell may run when autograding (``ExecutePreprocessor.timeout`` or ``Execute.timeout``)."""
    cfg = load_config(course) if config is None else config
    for section in ("Execute", "ExecutePreprocessor"):
        value = cfg.get(section, {}).get("timeout")
        if value:
            return int(value)
    return default


def cluster_address(course: Path, config: Config | None = None) -> str | None:
    """The Dask scheduler to grade on (``c.AdCourse.cluster = "tcp://HOST:PORT"``), or ``None``."""
    value = (load_config(course) if config is None else config).get("AdCourse", {}).get("cluster")
    return str(value) if value else None
