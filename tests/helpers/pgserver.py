"""A real, throwaway PostgreSQL server on loopback, for the tests of the PostgreSQL gradebook.

:class:`PgServer` runs ``initdb`` and ``pg_ctl`` (PostgreSQL's own server binaries, found on
``PATH``, through ``pg_config --bindir`` or in Debian's ``/usr/lib/postgresql/<version>/bin``) in a
new folder under the system's temporary folder, serves on ``127.0.0.1`` at a free port (TCP only,
no Unix socket) with password authentication, and removes everything when stopped.
:meth:`PgServer.create_database` gives each test a database of its own and its SQLAlchemy URL,
``postgresql+psycopg://USER:PASSWORD@127.0.0.1:PORT/NAME``.

PostgreSQL refuses to run as root: a root test run starts the server as an unprivileged system
user (``postgres`` if the machine has one, else ``nobody``), which owns the folder. The server is
tuned for tests (no fsync), not for keeping data.

The fixture ``pg_server`` of ``conftest.py`` is session-scoped, so every pytest-xdist worker (its
own process) starts one server of its own and shares it between its tests. Missing server
binaries are an error that says how to install them, never a skip. No name here starts with
``test``, so pytest collects nothing from it.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

#: The server's superuser, and the owner of every database the tests create.
SUPERUSER = "adcourse"
#: System users a root test run may start the server as, in order of preference.
SERVICE_USERS = ("postgres", "nobody")
#: What to do when the server binaries are missing.
INSTALL_HINT = (
    "install PostgreSQL's server (Debian: apt-get install postgresql, which puts initdb and pg_ctl "
    "in /usr/lib/postgresql/<version>/bin) or put its bin folder on PATH"
)
# Loopback only, TCP only, and quick rather than durable.
_SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off "
    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
)
_START_ATTEMPTS = 3  # a free port may be taken by another process before the server binds it
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PgServerError(RuntimeError):
    """The PostgreSQL server cannot be found, started or used."""


def find_bindir() -> Path:
    """The folder holding PostgreSQL's ``initdb``, ``pg_ctl`` and ``postgres``.

    Looked for in this order: ``PATH``, ``pg_config --bindir``, ``/usr/lib/postgresql/*/bin``
    (Debian; the newest version). Raises PgServerError, saying how to install them, if none has all three.
    """
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(d) for d in debian), key=_version, reverse=True)
    for folder in candidates:
        if all(os.access(folder / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PgServerError(f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: {INSTALL_HINT}")


def _version(bindir: Path) -> tuple[int, ...]:
    """``(15,)`` for ``/usr/lib/postgresql/15/bin``; ``()`` when the folder name is not a version."""
    name = bindir.parent.name
    return tuple(int(p) for p in name.split(".")) if re.fullmatch(r"\d+(\.\d+)*", name) else ()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_user() -> pwd.struct_passwd | None:
    """The unprivileged user to run the server as when this process is root; ``None`` when it is not."""
    if os.geteuid() != 0:
        return None
    for name in SERVICE_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PgServerError(
        f"PostgreSQL refuses to run as root and none of the users {', '.join(SERVICE_USERS)} exists"
    )


class PgServer:
    """One PostgreSQL server in its own temporary folder; use as a context manager.

    Attributes:
        port: the TCP port on 127.0.0.1 it listens on.
        password: the superuser's password (random).
        folder: the temporary folder (data directory, log, password file).
    """

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.user = service_user()
        self.password = secrets.token_hex(12)
        self.folder = Path(tempfile.mkdtemp(prefix="adcourse-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = 0
        self._running = False
        self._databases = 0

    # ---------------------------------------------------------------- life cycle

    def start(self) -> PgServer:
        """Create the cluster and start the server; raises PgServerError with the server's log if it fails."""
        try:
            if self.user is not None:
                os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
            pwfile = self.folder / "pwfile"
            pwfile.write_text(self.password + "\n", encoding="utf-8")
            if self.user is not None:
                os.chown(pwfile, self.user.pw_uid, self.user.pw_gid)
            self._run(
                "initdb",
                f"--pgdata={self.data}",
                f"--username={SUPERUSER}",
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            )
            pwfile.unlink()
            for _ in range(_START_ATTEMPTS):
                self.port = free_port()
                options = f"{_SERVER_OPTIONS} -p {self.port}"
                start = ["start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log), "-o", options]
                if self._run("pg_ctl", *start, check=False).returncode == 0:
                    self._running = True
                    atexit.register(self.stop)
                    return self
                # a server that came up too late to count must not outlive this attempt
                self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data), check=False)
            raise PgServerError(f"the PostgreSQL server did not start:\n{self._log_tail()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (if it runs) and delete its folder; safe to call twice."""
        if self._running:
            self._running = False
            self._run("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", str(self.data), check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- databases

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        """The SQLAlchemy URL of ``database`` on this server (``password`` instead of the real one)."""
        secret = self.password if password is None else password
        return f"postgresql+psycopg://{SUPERUSER}:{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create a new, empty database (``name``, default a fresh ``gradebook_N``); its SQLAlchemy URL."""
        import psycopg

        if not self._running:
            raise PgServerError("the PostgreSQL server is not running")
        self._databases += 1
        name = name or f"gradebook_{self._databases}"
        if not _NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a plain database name (lower case letters, digits, _)")
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=SUPERUSER,
            password=self.password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    # ---------------------------------------------------------------- helpers

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one server binary as the service user, in the server's folder."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}
        env["HOME"] = str(self.folder)
        ids = {}
        if self.user is not None:
            ids = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        proc = subprocess.run(
            [str(self.bindir / tool), *args],
            cwd=self.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **ids,
        )
        if check and proc.returncode != 0:
            raise PgServerError(f"{tool} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
        return proc

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def copy_gradebook(src: str, dest: str) -> None:
    """Every row of the nbgrader gradebook at the SQLAlchemy URL ``src`` into the empty database at
    ``dest`` (nbgrader makes its tables; the ids are kept): a released course's gradebook, on
    PostgreSQL, without running ``nbgrader generate_assignment`` again."""
    from nbgrader.api import Base, Gradebook
    from sqlalchemy import create_engine, insert, select

    Gradebook(dest).close()  # nbgrader's tables, its alembic version and the default course
    source, target = create_engine(src), create_engine(dest)
    try:
        with source.connect() as read, target.begin() as write:
            for table in Base.metadata.sorted_tables:
                if table.name == "course":
                    write.execute(table.delete())
                found = [dict(r._mapping) for r in read.execute(select(table))]
                if found:
                    write.execute(insert(table), found)
    finally:
        source.dispose()
        target.dispose()
