"""The audit trail on PostgreSQL: the :class:`~controller.audit_store.AuditStore` for a ``postgresql://`` URL.

Imported only when a URL is given, so SQLite-only processes never load psycopg. The connection runs
in autocommit mode and the audit code starts its transactions itself (as on SQLite), so one
statement outside a transaction commits alone:

- ``begin()`` is READ COMMITTED (PostgreSQL's default): the trail's group commit and the archive's
  deletion; ``begin(write=True)`` also takes a transaction-scoped advisory lock
  (:data:`WRITE_LOCK_KEY`), so two archive or prune runs never interleave, while the controller
  keeps appending (SQLite's BEGIN IMMEDIATE blocks it for that moment instead);
- ``begin_snapshot()`` is REPEATABLE READ READ ONLY: one snapshot for a whole verification walk;
- ``batches()`` reads through a server-side cursor, FETCHing ``size`` rows at a time; outside a
  transaction the cursor is WITH HOLD (the server keeps the result), so the trail can go on
  committing on the same connection while a query is read.

Placeholders: ``?`` becomes ``%s`` (and a literal ``%`` is doubled). Group commits insert with
COPY (``insert_rows``). Connecting waits at most
:data:`CONNECT_TIMEOUT_S` unless the URL says otherwise. The password comes from libpq
(``PGPASSWORD``, the passfile); messages name the URL without it (:func:`redacted_url`).
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Iterable, Sequence
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import conninfo, pq

from controller.audit_store import AuditStore, AuditStoreError, Row

CONNECT_TIMEOUT_S = 10
APPLICATION_NAME = "rrm-audit"
# pg_advisory_xact_lock key of the write transactions (archive, prune): "rrmaudit" as a bigint.
WRITE_LOCK_KEY = int.from_bytes(b"rrmaudit", "big") - (1 << 63)
_SECRET_PARAMS = frozenset({"password", "sslpassword"})
_cursor_names = itertools.count(1)


def redacted_url(url: str) -> str:
    """The URL as messages show it: no password in the user part, no password parameter."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            netloc = f"{userinfo.split(':', 1)[0]}@{host}"
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k.lower() not in _SECRET_PARAMS], safe="/")
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return "postgresql://(a URL that cannot be parsed)"


def _secrets(url: str) -> list[str]:
    """The passwords a URL carries, as written and decoded: never to appear in a message."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        if "@" in parts.netloc and ":" in (userinfo := parts.netloc.rsplit("@", 1)[0]):
            found.append(userinfo.split(":", 1)[1])
        found.extend(v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_PARAMS)
    except ValueError:
        return []
    return [s for secret in found for s in {secret, unquote(secret)} if s]


def _reason(exc: psycopg.Error, secrets: Sequence[str]) -> str:
    """The driver's message on one line, without the statement excerpt (LINE 1: ...) or any secret."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    kept = [line for line in lines if not line.startswith("LINE ") and line != "^" and not line.endswith("^")]
    text = "; ".join(kept) or type(exc).__name__
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def open_postgres_store(url: str) -> PostgresAuditStore:
    """Connect to the database the URL names; AuditStoreError naming the URL (not its password) on failure."""
    name, secrets = redacted_url(url), _secrets(url)
    try:
        given = conninfo.conninfo_to_dict(url)
        extra: dict[str, object] = {}
        if "connect_timeout" not in given:
            extra["connect_timeout"] = CONNECT_TIMEOUT_S
        if "application_name" not in given:
            extra["application_name"] = APPLICATION_NAME
        conn = psycopg.connect(url, autocommit=True, **extra)  # type: ignore[arg-type]
    except psycopg.Error as exc:
        reason = _reason(exc, secrets)
        raise AuditStoreError(f"{name}: cannot open the audit database: {reason}", reason) from None
    return PostgresAuditStore(conn, url, name, secrets)


class PostgresAuditStore(AuditStore):
    """A trail in a PostgreSQL database (its tables in the connection's current schema)."""

    backend = "postgresql"

    def __init__(self, conn: psycopg.Connection[Row], url: str, name: str, secrets: Sequence[str]) -> None:
        self._conn = conn
        self.target = url
        self.name = name
        self._secrets = tuple(secrets)
        self._sql: dict[str, bytes] = {}

    def _error(self, exc: psycopg.Error) -> AuditStoreError:
        reason = _reason(exc, self._secrets)
        return AuditStoreError(f"{self.name}: {reason}", reason)

    def _translate(self, sql: str) -> bytes:
        """``?`` placeholders as ``%s`` (a literal ``%`` doubled), once per statement."""
        translated = self._sql.get(sql)
        if translated is None:
            translated = self._sql[sql] = sql.replace("%", "%%").replace("?", "%s").encode()
        return translated

    def query(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        try:
            return self._conn.execute(self._translate(sql), params).fetchall()
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        try:
            self._conn.execute(self._translate(sql), params)
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(self._translate(sql), rows)
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        # COPY is about 3x faster than a pipelined executemany of INSERTs (and as transactional).
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN".encode()
        try:
            with self._conn.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def batches(self, sql: str, params: Sequence[object], size: int) -> Generator[list[Row], None, None]:
        held = not self.in_transaction
        try:
            cursor = self._conn.cursor(name=f"rrm_audit_{next(_cursor_names)}", withhold=held)
            try:
                cursor.execute(self._translate(sql), params)
                while rows := cursor.fetchmany(size):
                    yield rows
            finally:
                if not self._conn.closed and self._conn.info.transaction_status != pq.TransactionStatus.INERROR:
                    cursor.close()
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def begin(self, *, write: bool = False) -> None:
        self.execute("BEGIN")
        if write:
            self.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK_KEY,))

    def begin_snapshot(self) -> None:
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        if self._conn.closed:
            return False
        return self._conn.info.transaction_status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)

    def tables(self) -> set[str]:
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE'"
        )
        return {str(name) for (name,) in rows}

    def close(self) -> None:
        self._conn.close()
