"""A real PostgreSQL server for the tests: initdb into a temporary folder, serve on 127.0.0.1, stop at the end.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the ``postgres``
system user (``runuser -u postgres --``) in a folder chowned to it; otherwise as the current user.
The folder comes from :func:`tempfile.mkdtemp` (pytest's own tmp folders are 0700 root, closed to
``postgres``) and holds the data directory, the log and the unix socket, so nothing outside it is
touched. TCP connections on 127.0.0.1 need a password (SCRAM): the tests give it through a libpq
passfile (``PGPASSFILE``), as an operator would, so no URL ever carries it. Local socket connections
(the peer's own, to create databases) are trusted.

Every wait has a timeout: ``pg_ctl start -w -t`` and ``pg_ctl stop -m fast -w -t``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_BIN_ENV = "RRM_PG_BIN"
SUPERUSER = "rrm"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


class PostgresUnavailable(Exception):
    """No PostgreSQL server binaries here (or no way to run them); the message says what is missing."""


def find_pg_bin() -> Path:
    """The folder holding initdb, pg_ctl and postgres: $RRM_PG_BIN, Debian's newest, or the PATH."""
    candidates: list[Path] = []
    if env := os.environ.get(PG_BIN_ENV):
        candidates.append(Path(env))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if p.name.isdigit()]
        candidates.extend(p / "bin" for p in sorted(versions, key=lambda p: int(p.name), reverse=True))
    if found := shutil.which("pg_ctl"):
        candidates.append(Path(found).parent)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    raise PostgresUnavailable(
        f"no PostgreSQL server binaries (initdb, pg_ctl, postgres) in ${PG_BIN_ENV}, /usr/lib/postgresql/*/bin "
        "or the PATH"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running server: TCP on 127.0.0.1:``port``, its socket and data in ``folder``."""

    bin_dir: Path
    folder: Path
    port: int
    passfile: Path
    password: str
    run_as: list[str]

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    def url(self, dbname: str) -> str:
        """The URL of a database, without the password (libpq reads it from the passfile)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, dbname: str) -> str:
        """Create a database (over the trusted local socket) and return its URL."""
        self._admin(f'CREATE DATABASE "{dbname}"')
        return self.url(dbname)

    def drop_database(self, dbname: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        import psycopg

        socket_dir, port = str(self.folder), self.port
        with psycopg.connect(
            host=socket_dir, port=port, user=SUPERUSER, dbname="postgres", autocommit=True, connect_timeout=10
        ) as conn:
            conn.execute(statement.encode())

    def stop(self) -> None:
        """pg_ctl stop -m fast, waiting at most STOP_TIMEOUT_S; then remove the folder."""
        try:
            self._pg_ctl("stop", "-m", "fast", "-w", "-t", str(STOP_TIMEOUT_S))
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        command = [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args]
        _run(command, timeout_s=START_TIMEOUT_S + 30)


def _run(command: list[str], *, timeout_s: float, stdin: str | None = None) -> None:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{command[0]} did not finish within {timeout_s:g} s: {' '.join(command)}") from None
    if done.returncode != 0:
        output = done.stderr.strip() or done.stdout.strip()
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {output}")


def start_postgres() -> PostgresServer:
    """initdb and start a server on a free port of 127.0.0.1; raises PostgresUnavailable when it cannot."""
    bin_dir = find_pg_bin()
    run_as: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="rrm-pg-"))
    try:
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PostgresUnavailable("running as root, and no runuser to start PostgreSQL as the postgres user")
            try:
                shutil.chown(folder, "postgres", "postgres")
            except (LookupError, OSError) as exc:
                why = f"running as root, and cannot hand {folder} to a postgres user: {exc}"
                raise PostgresUnavailable(why) from None
            run_as = [runuser, "-u", "postgres", "--"]
        password = secrets.token_urlsafe(18)
        pwfile = folder / "pwfile"
        pwfile.write_text(password + "\n")
        if run_as:
            shutil.chown(pwfile, "postgres", "postgres")
        initdb = [*run_as, str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", SUPERUSER, "-E", "UTF8"]
        _run(
            [*initdb, "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"],
            timeout_s=120,
        )
        pwfile.unlink()
        passfile = folder / "client.pgpass"  # read by this (client) process: owned by it, 0600
        server = PostgresServer(bin_dir, folder, 0, passfile, password, run_as)
        for attempt in range(3):  # another process may take the free port first
            server.port = _free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {server.port} -c unix_socket_directories={folder}"
            try:
                server._pg_ctl("start", "-w", "-t", str(START_TIMEOUT_S), "-l", str(server.log_file), "-o", options)
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"127.0.0.1:{server.port}:*:{SUPERUSER}:{password}\n")
        return server
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A server for the duration of the block, stopped (fast) and removed afterwards."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
