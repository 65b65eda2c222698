"""Opening the course gradebook at any SQLAlchemy URL (SQLite, PostgreSQL), with errors a person can read.

nbgrader's gradebook lives wherever ``c.CourseDirectory.db_url`` says: a SQLite file (the
default, ``course/gradebook.db``) or a database server such as PostgreSQL
(``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE``). A URL that cannot be used —
malformed, an unknown database, a driver that is not installed, a server that does not answer, a
wrong password — is a :class:`GradebookError` of one sentence naming the URL with its password
masked (:func:`mask_password`), raised before any grading starts, instead of a traceback from
deep inside SQLAlchemy.
"""

from __future__ import annotations

import re
from pathlib import Path

from .paths import CourseError

#: Seconds to wait for a database server to answer before giving up on it.
CONNECT_TIMEOUT = 10
#: A table every nbgrader gradebook has: a database without it holds no gradebook yet.
_GRADEBOOK_TABLE = "assignment"
# USER:PASSWORD@ after the scheme or a slash, up to the last @ (a password may hold one).
_PASSWORD_IN_URL = re.compile(r"(^|/)([^:/@\s]*):(?!//)\S*@")


class GradebookError(CourseError):
    """The gradebook URL cannot be used; the message names it (password masked) and the reason."""


def mask_password(url: str) -> str:
    """``url`` with its password replaced by ``***`` (also when SQLAlchemy cannot parse it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if url.count("@") > 1:  # a password with an unescaped @: SQLAlchemy would cut it short
        return _PASSWORD_IN_URL.sub(r"\1\2:***@", url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _PASSWORD_IN_URL.sub(r"\1\2:***@", url)
    return parsed.render_as_string(hide_password=True) if parsed.password else url


def _reason(exc: BaseException, password: str | None) -> str:
    """The first line of the driver's message (or the exception's), without the password."""
    from sqlalchemy.exc import DBAPIError

    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    text = " ".join(lines[0].split()) if lines else type(cause).__name__
    if password:
        text = text.replace(password, "***")
    return text.rstrip(".")


def gradebook_exists(url: str, timeout: int = CONNECT_TIMEOUT) -> bool:
    """Whether the database at ``url`` holds an nbgrader gradebook (``False``: reachable but empty).

    A SQLite file that does not exist yet counts as empty (nbgrader creates it), and is not
    created here. Raises :class:`GradebookError` when the URL cannot be used at all.
    """
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    shown = mask_password(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise GradebookError(
            f"the gradebook URL {shown!r} is not a database URL "
            "(expected e.g. sqlite:////path/gradebook.db or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.exists():
            if not path.parent.is_dir():
                folder = path.parent
                raise GradebookError(f"cannot open the gradebook {shown}: the folder {folder} does not exist")
            return False
    connect_args = {"connect_timeout": timeout} if backend == "postgresql" else {}
    try:
        engine = create_engine(url, future=True, connect_args=connect_args)
    except NoSuchModuleError:
        raise GradebookError(
            f"cannot open the gradebook {shown}: SQLAlchemy knows no database {parsed.drivername!r}"
        ) from None
    except ImportError as exc:
        hint = "; for PostgreSQL use postgresql+psycopg:// (psycopg 3)" if backend == "postgresql" else ""
        raise GradebookError(
            f"cannot open the gradebook {shown}: its database driver is not installed ({exc}){hint}"
        ) from None
    except (ArgumentError, TypeError, ValueError) as exc:
        raise GradebookError(f"cannot open the gradebook {shown}: {_reason(exc, parsed.password)}") from None
    try:
        tables = inspect(engine).get_table_names()
    except SQLAlchemyError as exc:
        raise GradebookError(f"cannot open the gradebook {shown}: {_reason(exc, parsed.password)}") from None
    finally:
        engine.dispose()
    return _GRADEBOOK_TABLE in tables


def check_gradebook(url: str, timeout: int = CONNECT_TIMEOUT) -> None:
    """Raise :class:`GradebookError` unless the database at ``url`` can be opened (it may be empty)."""
    gradebook_exists(url, timeout)
