"""Reading the course's nbgrader_config.py the way nbgrader does, for the settings adcourse needs."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


def load_config(course: Path) -> Config:
    """The config that ``nbgrader_config.py`` in ``course`` builds."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def db_url(course: Path) -> str:
    """The gradebook's SQLAlchemy URL (nbgrader's default: ``gradebook.db`` in the course root)."""
    cfg = load_config(course)
    url = cfg.get("CourseDirectory", {}).get("db_url")
    return str(url) if url else f"sqlite:///{course / 'gradebook.db'}"


def cell_timeout(course: Path, default: int = 120) -> int:
    """Seconds a cell may run when autograding (``ExecutePreprocessor.timeout`` or ``Execute.timeout``)."""
    cfg = load_config(course)
    for section in ("Execute", "ExecutePreprocessor"):
        value = cfg.get(section, {}).get("timeout")
        if value:
            return int(value)
    return default


def cluster_address(course: Path) -> str | None:
    """The Dask scheduler to grade on (``c.AdCourse.cluster = "tcp://HOST:PORT"``), or ``None``."""
    value = load_config(course).get("AdCourse", {}).get("cluster")
    return str(value) if value else None
