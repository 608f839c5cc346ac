"""The controller's audit trail: append-only, hash-chained, signed at checkpoints, on SQLite.

The trail lives in ``audit.db`` in the controller's state directory (``rrm audit`` reads
``<state-dir>/controller/audit.db``), its keys beside it (controller/audit_keys.py). The chain,
the canonical form and verification are in controller/audit_chain.py; this module stores them.

Writes use group commit: :meth:`AuditTrail.append` chains a record at once and buffers it; the
buffer is committed every ``commit_every`` appends, whenever a checkpoint is due, and on
:meth:`AuditTrail.flush`. A checkpoint (an Ed25519 signature over the chain head) is signed every
``checkpoint_every`` records or ``checkpoint_interval_s`` seconds (checked on each commit and
flush), and always at :meth:`AuditTrail.close`. The owner calls ``flush()`` on a timer
(:meth:`AuditTrail.flush_periodically` does that on the injected clock), so a quiet trail still
commits and gets signed; records still in the buffer at a crash are lost (WAL with
synchronous=NORMAL, rrm/sqlite_files.py).

Reopening resumes the chain head and seq, and first re-walks the records after the last
checkpoint (verifying that checkpoint with the signing key's public half): the controller never
signs a head over records someone changed while it was down.

The schema is portable SQL (PostgreSQL accepts it as it is): BIGINT, TEXT, CHAR/VARCHAR, plain
indexes, hashes and signatures as hex text. Only the ``?`` placeholders are the SQLite driver's.
Nothing updates or deletes a record; tampering is what verification detects.
"""

from __future__ import annotations

import csv
import json
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from controller.audit_chain import (
    CHECKPOINT_COLUMNS,
    GENESIS,
    RECORD_COLUMNS,
    AuditDraft,
    AuditEntry,
    AuditRefused,
    ChainVerifier,
    Checkpoint,
    StoredRow,
    VerifyReport,
    entry_from_row,
    radio_ap_id,
    seal_draft,
)
from rrm.clock import Clock
from rrm.sqlite_files import StateFileError, open_database

__all__ = [
    "AUDIT_DB_FILE",
    "AuditQuery",
    "AuditRefused",
    "AuditTrail",
    "AuditTrailError",
    "AuditTrailReader",
    "ChainHead",
    "ExportFormat",
]

AUDIT_DB_FILE = "audit.db"
READ_BATCH = 8192

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit_records (
    seq BIGINT NOT NULL PRIMARY KEY,
    record_id VARCHAR(64) NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    record_type TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    reason TEXT NOT NULL,
    ap_id TEXT NOT NULL,
    radio_id TEXT NOT NULL,
    change_id TEXT NOT NULL,
    rollback_token_id TEXT NOT NULL,
    approver TEXT NOT NULL,
    outcome TEXT NOT NULL,
    inputs_json TEXT NOT NULL,
    inputs_digest CHAR(64) NOT NULL,
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL,
    predicted_effect_json TEXT NOT NULL,
    observed_effect_json TEXT NOT NULL,
    prev_hash CHAR(64) NOT NULL,
    record_hash CHAR(64) NOT NULL,
    hmac CHAR(64)
)""",
    """CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq BIGINT NOT NULL PRIMARY KEY,
    head_hash CHAR(64) NOT NULL,
    signed_at_ms BIGINT NOT NULL,
    signature CHAR(128) NOT NULL,
    key_id VARCHAR(32) NOT NULL
)""",
    # Three indexes: each one costs appends (a random-order index dirties a page per record per
    # group commit). Radio queries use the AP index (a radio id names its AP, see AuditQuery);
    # record-type queries filter whatever the other terms select.
    "CREATE INDEX IF NOT EXISTS audit_records_by_time ON audit_records (timestamp_ms)",
    "CREATE INDEX IF NOT EXISTS audit_records_by_ap ON audit_records (ap_id, seq)",
    "CREATE INDEX IF NOT EXISTS audit_records_by_change ON audit_records (change_id)",
)
# Connection settings, not schema: a bigger page cache keeps the index pages in memory, and
# checkpointing the WAL every 10,000 pages (40 MB) rather than 1,000 spends fewer fsyncs per record.
_PRAGMAS = ("PRAGMA cache_size = -65536", "PRAGMA wal_autocheckpoint = 10000")
_RECORD_SELECT = f"SELECT {', '.join(RECORD_COLUMNS)} FROM audit_records"
_INSERT_RECORD = (
    f"INSERT INTO audit_records ({', '.join(RECORD_COLUMNS)}) VALUES ({', '.join('?' * len(RECORD_COLUMNS))})"
)
_INSERT_CHECKPOINT = f"INSERT INTO audit_checkpoints ({', '.join(CHECKPOINT_COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
_CHECKPOINT_SELECT = f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM audit_checkpoints"


class AuditTrailError(StateFileError):
    """The audit trail cannot be read or written as asked; the message names the file."""


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last record of the chain (seq 0 and GENESIS when empty) and how far it is signed."""

    seq: int
    record_hash: bytes
    signed_through_seq: int


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which records to read; every given filter must match. Times are the records' timestamp_ms."""

    ap_id: str | None = None
    radio_id: str | None = None
    record_type: str | None = None
    change_id: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int | None = None

    def sql(self) -> tuple[str, list[object]]:
        """The SELECT (in seq order) and its parameters. ``since`` is inclusive, ``until`` exclusive."""
        terms: list[str] = []
        params: list[object] = []
        for column, value in (
            ("ap_id", self.ap_id),
            ("radio_id", self.radio_id),
            ("record_type", self.record_type),
            ("change_id", self.change_id),
        ):
            if value is not None:
                terms.append(f"{column} = ?")
                params.append(value)
        radio_ap = radio_ap_id(self.radio_id) if self.radio_id is not None and self.ap_id is None else None
        if radio_ap is not None:  # a record of this radio has this AP or none (seal_draft checks): use its index
            terms.append("ap_id IN (?, '')")
            params.append(radio_ap)
        if self.since_ms is not None:
            terms.append("timestamp_ms >= ?")
            params.append(self.since_ms)
        if self.until_ms is not None:
            terms.append("timestamp_ms < ?")
            params.append(self.until_ms)
        sql = _RECORD_SELECT + (" WHERE " + " AND ".join(terms) if terms else "") + " ORDER BY seq"
        if self.limit is not None:
            sql += " LIMIT ?"
            params.append(self.limit)
        return sql, params


class AuditTrailReader:
    """Reading an existing trail: queries, exports, verification. Needs no secret."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path) -> AuditTrailReader:
        """Open an existing trail; AuditTrailError when there is none at ``path``."""
        if not path.is_file():
            raise AuditTrailError(f"{path}: no audit trail here")
        conn = open_database(path)
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"audit_records", "audit_checkpoints"} <= tables:
            conn.close()
            raise AuditTrailError(f"{path}: not an audit trail (no audit_records and audit_checkpoints tables)")
        return cls(conn, path)

    def iter_query(self, query: AuditQuery = AuditQuery()) -> Iterator[AuditEntry]:
        """The matching records in seq order, read in batches."""
        sql, params = query.sql()
        cursor = self._execute(sql, params)
        while rows := cursor.fetchmany(READ_BATCH):
            yield from (entry_from_row(row) for row in rows)

    def query(
        self,
        *,
        ap_id: str | None = None,
        radio_id: str | None = None,
        record_type: str | None = None,
        change_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """The matching records in seq order (``since_ms`` inclusive, ``until_ms`` exclusive)."""
        return list(self.iter_query(AuditQuery(ap_id, radio_id, record_type, change_id, since_ms, until_ms, limit)))

    def checkpoints(self) -> list[Checkpoint]:
        """The stored checkpoints in seq order (raises AuditTrailError on a malformed one)."""
        rows = self._execute(_CHECKPOINT_SELECT + " ORDER BY seq", []).fetchall()
        try:
            return [Checkpoint.from_row(row) for row in rows]
        except ValueError as exc:
            raise AuditTrailError(f"{self.path}: a malformed checkpoint: {exc}") from None

    def export(self, fmt: ExportFormat | str, out: TextIO, query: AuditQuery = AuditQuery()) -> int:
        """Write the records (all, or those matching ``query``) as JSONL or CSV; returns how many.

        JSONL: one object per record with every field (JSON fields as objects, hashes as hex).
        CSV: a header of the stored column names, then the stored rows (JSON fields as JSON text).
        """
        fmt = ExportFormat(fmt)
        count = 0
        if fmt is ExportFormat.CSV:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(RECORD_COLUMNS)
            sql, params = query.sql()
            cursor = self._execute(sql, params)
            while rows := cursor.fetchmany(READ_BATCH):
                writer.writerows(rows)
                count += len(rows)
            return count
        for entry in self.iter_query(query):
            out.write(json.dumps(entry.to_json(), sort_keys=True, separators=(",", ":")) + "\n")
            count += 1
        return count

    def verify(self, public_key: Ed25519PublicKey, *, hmac_key: bytes | None = None) -> VerifyReport:
        """Walk the whole chain and its checkpoints with the public key (and the HMAC key if given)."""
        try:
            self._conn.execute("BEGIN")  # one snapshot: checkpoints and records as of the same moment
            checkpoint_rows = self._conn.execute(_CHECKPOINT_SELECT).fetchall()
            verifier = ChainVerifier(public_key, checkpoint_rows, hmac_key=hmac_key)
            cursor = self._conn.execute(_RECORD_SELECT + " ORDER BY seq")
            while (rows := cursor.fetchmany(READ_BATCH)) and verifier.feed(rows):
                pass
            cursor.close()
        except sqlite3.Error as exc:
            raise AuditTrailError(f"{self.path}: cannot read the audit trail: {exc}") from None
        finally:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        return self.named(verifier.finish())

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> AuditTrailReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _execute(self, sql: str, params: list[object]) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise AuditTrailError(f"{self.path}: cannot read the audit trail: {exc}") from None

    def named(self, report: VerifyReport) -> VerifyReport:
        """Fill in the record id of the first bad record when the verifier could not see it."""
        bad = report.first_bad
        if bad is None or bad.record_id:
            return report
        row = self._conn.execute("SELECT record_id FROM audit_records WHERE seq = ?", (bad.seq,)).fetchone()
        return report if row is None else replace(report, first_bad=replace(bad, record_id=str(row[0])))


class AuditTrail:
    """The writing side, owned by one controller process. Open it with :meth:`AuditTrail.open`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        signing_key: Ed25519PrivateKey,
        *,
        checkpoint_every: int,
        checkpoint_interval_s: float,
        commit_every: int,
        hmac_key: bytes | None,
        clock: Clock,
    ) -> None:
        self._conn = conn
        self.path = path
        self._reader = AuditTrailReader(conn, path)
        if checkpoint_every < 1 or commit_every < 1 or checkpoint_interval_s <= 0:
            raise ValueError("checkpoint_every, commit_every and checkpoint_interval_s must be positive")
        self._key = signing_key
        self._checkpoint_every = checkpoint_every
        self._checkpoint_interval_s = checkpoint_interval_s
        self._commit_every = commit_every
        self._hmac_key = hmac_key
        self._clock = clock
        self._pending: list[tuple[object, ...]] = []
        self._closed = False
        self._seq, self._head, self._signed_seq = self._resume()
        self._last_checkpoint_at = clock.now()

    @classmethod
    def open(
        cls,
        path: Path,
        signing_key: Ed25519PrivateKey,
        *,
        checkpoint_every: int = 1000,
        checkpoint_interval_s: float = 10.0,
        commit_every: int = 256,
        hmac_key: bytes | None = None,
        clock: Clock,
    ) -> AuditTrail:
        """Open (creating) the trail at ``path`` and resume its chain.

        Raises AuditTrailError when the records after the last checkpoint do not verify, or the
        trail has per-record HMACs and no ``hmac_key`` was given.
        """
        conn = open_database(path)
        try:
            for statement in (*_PRAGMAS, *_SCHEMA):
                conn.execute(statement)
            return cls(
                conn,
                path,
                signing_key,
                checkpoint_every=checkpoint_every,
                checkpoint_interval_s=checkpoint_interval_s,
                commit_every=commit_every,
                hmac_key=hmac_key,
                clock=clock,
            )
        except sqlite3.Error as exc:
            conn.close()
            raise AuditTrailError(f"{path}: cannot open the audit trail: {exc}") from None
        except BaseException:
            conn.close()
            raise

    def append(self, draft: AuditDraft) -> AuditEntry:
        """Chain a record at once and buffer it for the next group commit.

        Raises AuditRefused (a ValueError naming the field) for a draft that is malformed or holds
        anything that looks like a MAC address; nothing is written then.
        """
        self._check_open()
        seq = self._seq + 1
        entry, row = seal_draft(
            draft, seq=seq, record_id=secrets.token_hex(16), prev_hash=self._head, hmac_key=self._hmac_key
        )
        self._pending.append(row)
        self._seq, self._head = seq, entry.record_hash
        if len(self._pending) >= self._commit_every or seq - self._signed_seq >= self._checkpoint_every:
            self.flush()
        return entry

    def flush(self) -> Checkpoint | None:
        """Commit the buffered records, with a checkpoint when one is due; returns that checkpoint."""
        self._check_open()
        return self._commit(force_checkpoint=False)

    def checkpoint(self) -> Checkpoint | None:
        """Commit and sign the head now (None when it is signed already)."""
        self._check_open()
        return self._commit(force_checkpoint=True)

    async def flush_periodically(self, every_s: float = 1.0) -> None:
        """Flush every ``every_s`` seconds of the trail's clock, until cancelled (run it as a task)."""
        while True:
            await self._clock.sleep(every_s)
            if self._closed:
                return
            self.flush()

    def head(self) -> ChainHead:
        return ChainHead(self._seq, self._head, self._signed_seq)

    @property
    def pending(self) -> int:
        """Records chained but not committed yet."""
        return len(self._pending)

    def iter_query(self, query: AuditQuery = AuditQuery()) -> Iterator[AuditEntry]:
        """The matching committed records (the buffer is flushed first), in seq order."""
        self.flush()
        return self._reader.iter_query(query)

    def query(
        self,
        *,
        ap_id: str | None = None,
        radio_id: str | None = None,
        record_type: str | None = None,
        change_id: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """As :meth:`AuditTrailReader.query`, after flushing the buffer."""
        return list(self.iter_query(AuditQuery(ap_id, radio_id, record_type, change_id, since_ms, until_ms, limit)))

    def export(self, fmt: ExportFormat | str, out: TextIO, query: AuditQuery = AuditQuery()) -> int:
        """As :meth:`AuditTrailReader.export`, after flushing the buffer."""
        self.flush()
        return self._reader.export(fmt, out, query)

    def checkpoints(self) -> list[Checkpoint]:
        self.flush()
        return self._reader.checkpoints()

    def verify(self, public_key: Ed25519PublicKey | None = None, *, hmac_key: bytes | None = None) -> VerifyReport:
        """Verify the whole trail (with the signing key's public half unless another key is given)."""
        self.flush()
        return self._reader.verify(public_key or self._key.public_key(), hmac_key=hmac_key)

    def close(self) -> None:
        """Commit what is buffered, sign a final checkpoint over the head, close the database."""
        if self._closed:
            return
        try:
            self._commit(force_checkpoint=True)
        finally:
            self._closed = True
            self._conn.close()

    def __enter__(self) -> AuditTrail:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise AuditTrailError(f"{self.path}: the audit trail is closed")

    def _commit(self, *, force_checkpoint: bool) -> Checkpoint | None:
        now = self._clock.now()
        checkpoint = None
        if self._seq > self._signed_seq and (
            force_checkpoint
            or self._seq - self._signed_seq >= self._checkpoint_every
            or now - self._last_checkpoint_at >= self._checkpoint_interval_s
        ):
            checkpoint = Checkpoint.sign(self._key, self._seq, self._head, int(now * 1000))
        if not self._pending and checkpoint is None:
            return None
        try:
            self._conn.execute("BEGIN")
            self._conn.executemany(_INSERT_RECORD, self._pending)
            if checkpoint is not None:
                self._conn.execute(_INSERT_CHECKPOINT, checkpoint.to_row())
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise AuditTrailError(
                f"{self.path}: cannot write {len(self._pending)} audit records (kept in memory, retried "
                f"on the next flush): {exc}"
            ) from None
        self._pending.clear()
        if checkpoint is not None:
            self._signed_seq, self._last_checkpoint_at = checkpoint.seq, now
        return checkpoint

    def _resume(self) -> tuple[int, bytes, int]:
        """(seq, head hash, signed seq) from the database, after checking the unsigned tail."""
        last = self._conn.execute(
            "SELECT seq, record_hash, hmac FROM audit_records ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if last is None:
            return 0, GENESIS, 0
        if last[2] is not None and self._hmac_key is None:
            raise AuditTrailError(f"{self.path}: this trail has per-record HMACs; open it with its HMAC key")
        start_seq, start_hash = self._last_good_checkpoint()
        verifier = ChainVerifier(
            self._key.public_key(), hmac_key=self._hmac_key, start_seq=start_seq, start_hash=start_hash
        )
        cursor = self._conn.execute(_RECORD_SELECT + " WHERE seq > ? ORDER BY seq", (start_seq,))
        while (rows := cursor.fetchmany(READ_BATCH)) and verifier.feed(rows):
            pass
        cursor.close()
        report = self._reader.named(verifier.finish())
        if report.first_bad is not None:
            raise AuditTrailError(
                f"{self.path}: the audit chain after its last checkpoint (seq {start_seq}) is broken at "
                f"{report.first_bad}; refusing to sign over it (see rrm audit verify)"
            )
        return report.head_seq, bytes.fromhex(last[1]), start_seq

    def _last_good_checkpoint(self) -> tuple[int, bytes]:
        row = self._conn.execute(_CHECKPOINT_SELECT + " ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return 0, GENESIS
        try:
            checkpoint = Checkpoint.from_row(row)
        except ValueError as exc:
            raise AuditTrailError(f"{self.path}: the last checkpoint is malformed: {exc}") from None
        if not checkpoint.verify(self._key.public_key()):
            raise AuditTrailError(
                f"{self.path}: the last checkpoint (seq {checkpoint.seq}) does not verify with this signing key"
            )
        signed: StoredRow | None = self._conn.execute(
            "SELECT record_hash FROM audit_records WHERE seq = ?", (checkpoint.seq,)
        ).fetchone()
        if signed is None or signed[0] != checkpoint.head_hash.hex():
            raise AuditTrailError(
                f"{self.path}: record seq {checkpoint.seq} is not the head its checkpoint signed (truncated or "
                "rewritten; see rrm audit verify)"
            )
        return checkpoint.seq, checkpoint.head_hash
