"""Where the audit trail is kept: a SQLite file (the default) or a PostgreSQL database chosen by URL.

The audit code (audit_trail.py writes, audit_reader.py and audit_archive.py read, verify, archive)
talks to one small interface, :class:`AuditStore`, whichever database holds the trail
(architecture: "PostgreSQL, same schema, chosen by URL")::

    open_audit_store(Path("state/audit.db"))                      SQLite, WAL (rrm/sqlite_files.py)
    open_audit_store("postgresql://rrm@db.example:5432/audit")    PostgreSQL (audit_store_postgres.py)

The SQL is written once, portably, with ``?`` placeholders (the PostgreSQL store turns them into
``%s``; no statement holds a literal ``?``): the same tables and columns on both (BIGINT, SMALLINT,
TEXT, CHAR/VARCHAR; hashes and signatures as hex text, so no BLOB/BYTEA to map), created by
audit_store_schema.py. What differs is here: the read snapshot (:meth:`AuditStore.snapshot`),
the write lock that serialises archive runs (``begin(write=True)``), which tables exist, streamed
reads of long results (:meth:`AuditStore.batches`), and the errors: every sqlite3.Error and
psycopg.Error comes out as one :class:`AuditStoreError` naming the file or the URL, never a
password. A password is not part of the URL the operator gives: libpq reads it from ``PGPASSWORD``
or the passfile (``~/.pgpass``, ``PGPASSFILE``); one given in the URL anyway is used but never shown.

SQLite stays the default and as fast as before: the methods are thin wrappers over one
connection (autocommit mode, explicit BEGIN/COMMIT, group commit decided by the trail).
"""

from __future__ import annotations

import contextlib
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rrm.sqlite_files import StateFileError, open_database

__all__ = [
    "AuditStore",
    "AuditStoreError",
    "AuditTarget",
    "Row",
    "is_database_url",
    "open_audit_store",
    "target_name",
]

AuditTarget = Path | str
"""A SQLite file, or a ``postgresql://user@host:port/dbname`` URL (a str)."""

Row = tuple[Any, ...]
"""One row as the database returns it (untrusted: verification checks every value's type)."""

URL_SCHEMES = ("postgresql://", "postgres://")
# SQLite connection settings of the writer: a bigger page cache keeps the index pages in memory, and
# checkpointing the WAL every 10,000 pages (40 MB) rather than 1,000 spends fewer fsyncs per record.
_SQLITE_WRITER_PRAGMAS = ("PRAGMA cache_size = -65536", "PRAGMA wal_autocheckpoint = 10000")


class AuditStoreError(StateFileError):
    """The audit database cannot be opened, read or written; the message names it (never a password).

    ``detail`` is the reason alone, without the name, for callers that say what they were doing.
    """

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


def is_database_url(target: AuditTarget) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL, False for a SQLite file."""
    return isinstance(target, str) and target.lower().startswith(URL_SCHEMES)


def target_name(target: AuditTarget) -> str:
    """How messages name a trail: the file, or the URL without its password."""
    if is_database_url(target):
        from controller.audit_store_postgres import redacted_url  # noqa: PLC0415 - psycopg only for a URL

        return redacted_url(str(target))
    return str(target)


def open_audit_store(target: AuditTarget, *, create: bool = False) -> AuditStore:
    """Open the database holding a trail: a SQLite file (created when ``create``) or a PostgreSQL URL.

    A PostgreSQL database must exist already (the trail creates its tables, not the database).
    Raises AuditStoreError naming the file or the URL when it cannot be opened.
    """
    if is_database_url(target):
        from controller.audit_store_postgres import open_postgres_store  # noqa: PLC0415 - psycopg only for a URL

        return open_postgres_store(str(target))
    path = Path(target)
    if not create and not path.is_file():
        raise AuditStoreError(f"{path}: no audit trail here", "no audit trail here")
    try:
        conn = open_database(path)
    except StateFileError as exc:
        raise AuditStoreError(str(exc)) from None
    return SqliteAuditStore(conn, path)


class AuditStore(ABC):
    """One connection to the database holding a trail. Not shared between threads or processes.

    Every method raises AuditStoreError (naming the store) instead of the driver's own errors.
    """

    backend: str
    """``sqlite`` or ``postgresql``."""
    name: str
    """The file, or the URL without its password: what messages say."""
    target: AuditTarget
    """What :func:`open_audit_store` opens again (parallel verification opens one store per process)."""

    @abstractmethod
    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Every row of a (short) result."""

    def query_one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        """The first row, or None."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    @abstractmethod
    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run one statement that returns no rows."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        """Run one statement once per row (the trail's group commit)."""

    @abstractmethod
    def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        """Insert many rows at once (the trail's group commit): executemany on SQLite, COPY on PostgreSQL."""

    @abstractmethod
    def batches(self, sql: str, params: Sequence[object], size: int) -> Generator[list[Row], None, None]:
        """A long result read ``size`` rows at a time, never held whole in memory."""

    @abstractmethod
    def begin(self, *, write: bool = False) -> None:
        """Start a transaction; ``write``: one that also excludes every other ``write`` one (archive, prune)."""

    @abstractmethod
    def begin_snapshot(self) -> None:
        """Start a read-only transaction that sees the database as of one moment."""

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def rollback(self) -> None:
        """Roll back the transaction under way, if any."""

    @property
    @abstractmethod
    def in_transaction(self) -> bool: ...

    @abstractmethod
    def tables(self) -> set[str]:
        """The tables the trail's schema could use that exist (in the current schema on PostgreSQL)."""

    def tune_for_writing(self) -> None:  # noqa: B027 - a hook; only SQLite has something to tune
        """Connection settings for the process that appends."""

    @abstractmethod
    def close(self) -> None: ...

    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[None]:
        """Commit what the block does, or roll it back when it raises."""
        self.begin(write=write)
        try:
            yield
        except BaseException:
            with contextlib.suppress(AuditStoreError):
                self.rollback()
            raise
        self.commit()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read as of one moment (checkpoints and records of the same instant); rolled back afterwards."""
        self.begin_snapshot()
        try:
            yield
        finally:
            with contextlib.suppress(AuditStoreError):
                self.rollback()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SqliteAuditStore(AuditStore):
    """A trail in one SQLite file (WAL, synchronous=NORMAL, busy timeout: rrm/sqlite_files.py)."""

    backend = "sqlite"

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.target = path
        self.name = str(path)

    def _error(self, exc: sqlite3.Error) -> AuditStoreError:
        return AuditStoreError(f"{self.name}: {exc}", str(exc))

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        try:
            self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        self.executemany(sql, rows)

    def batches(self, sql: str, params: Sequence[object], size: int) -> Generator[list[Row], None, None]:
        try:
            cursor = self._conn.execute(sql, params)
            try:
                while rows := cursor.fetchmany(size):
                    yield rows
            finally:
                cursor.close()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def begin(self, *, write: bool = False) -> None:
        # BEGIN IMMEDIATE takes the write lock at once: the only writer until COMMIT.
        self.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def begin_snapshot(self) -> None:
        self.execute("BEGIN")  # deferred: the snapshot is taken at the first read

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def tables(self) -> set[str]:
        return {str(name) for (name,) in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def tune_for_writing(self) -> None:
        for pragma in _SQLITE_WRITER_PRAGMAS:
            self.execute(pragma)

    def close(self) -> None:
        self._conn.close()
