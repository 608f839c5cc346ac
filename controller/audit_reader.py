"""Reading the controller's audit trail: queries, exports, verification with the public key only.

``AuditTrailReader`` needs no secret: auditors run it (``rrm audit verify|query|export``) on a copy
of ``audit.db``. Verification reads rows in batches of 8192 and splits a long trail into seq
ranges verified in parallel processes; the walk itself is controller/audit_verify.py's.

The oldest records may have been moved to archive files (controller/audit_archive.py); the
``audit_archives`` table lists them, and the live store's chain starts after the last one listed
(its last seq and record hash), which is where this reader's verification starts. Queries and
exports read the live store only.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum
from itertools import repeat
from pathlib import Path
from types import TracebackType
from typing import TextIO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.audit_chain import (
    CHECKPOINT_COLUMNS,
    GENESIS,
    RECORD_COLUMNS,
    AuditEntry,
    Checkpoint,
    StoredRow,
    entry_from_row,
    radio_ap_id,
)
from controller.audit_verify import ChainVerifier, VerifyReport, merge_reports
from rrm.sqlite_files import StateFileError, open_database

READ_BATCH = 8192
PARALLEL_MIN_RECORDS = 50_000
RECORD_SELECT = f"SELECT {', '.join(RECORD_COLUMNS)} FROM audit_records"
CHECKPOINT_SELECT = f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM audit_checkpoints"
PRAGMAS = ("PRAGMA cache_size = -65536", "PRAGMA wal_autocheckpoint = 10000")
# The archive files that hold the oldest records (controller/audit_archive.py), one row each, kept
# after the file is pruned (pruned_at_ms set) so that the live chain's start stays known.
ARCHIVES_SCHEMA = """CREATE TABLE IF NOT EXISTS audit_archives (
    last_seq BIGINT NOT NULL PRIMARY KEY,
    first_seq BIGINT NOT NULL,
    file_name VARCHAR(255) NOT NULL UNIQUE,
    prev_hash CHAR(64) NOT NULL,
    last_record_hash CHAR(64) NOT NULL,
    last_hmac SMALLINT NOT NULL,
    records BIGINT NOT NULL,
    checkpoints BIGINT NOT NULL,
    oldest_record_ms BIGINT NOT NULL,
    newest_record_ms BIGINT NOT NULL,
    sha256 CHAR(64) NOT NULL,
    archived_at_ms BIGINT NOT NULL,
    pruned_at_ms BIGINT
)"""
# fmt: off
ARCHIVE_COLUMNS: tuple[str, ...] = (
    "file_name", "first_seq", "last_seq", "prev_hash", "last_record_hash", "last_hmac", "records", "checkpoints",
    "oldest_record_ms", "newest_record_ms", "sha256", "archived_at_ms", "pruned_at_ms",
)
# fmt: on
ARCHIVE_SELECT = f"SELECT {', '.join(ARCHIVE_COLUMNS)} FROM audit_archives"


def verify_workers() -> int:
    """How many processes ``rrm audit verify`` verifies with: the usable cores, at most 4."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


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
        sql = RECORD_SELECT + (" WHERE " + " AND ".join(terms) if terms else "") + " ORDER BY seq"
        if self.limit is not None:
            sql += " LIMIT ?"
            params.append(self.limit)
        return sql, params


ALL_RECORDS = AuditQuery()


@dataclass(frozen=True, slots=True)
class ArchivedSegment:
    """A row of ``audit_archives``: records first_seq..last_seq, moved to the archive file ``file_name``.

    ``prev_hash`` is the hash the segment's first record links to, ``last_record_hash`` its last
    record's hash (where the next segment, or the live store, continues), ``last_hmac`` whether
    that record carries an HMAC; ``sha256`` is the file's, taken when it was written. A pruned
    segment (``pruned_at_ms``) has no file any more: the kept chain starts after it.
    """

    file_name: str
    first_seq: int
    last_seq: int
    prev_hash: bytes
    last_record_hash: bytes
    last_hmac: bool
    records: int
    checkpoints: int
    oldest_record_ms: int
    newest_record_ms: int
    sha256: str
    archived_at_ms: int
    pruned_at_ms: int | None = None

    @property
    def pruned(self) -> bool:
        return self.pruned_at_ms is not None

    def to_row(self) -> tuple[object, ...]:
        """The stored row (ARCHIVE_COLUMNS order)."""
        return (
            self.file_name,
            self.first_seq,
            self.last_seq,
            self.prev_hash.hex(),
            self.last_record_hash.hex(),
            int(self.last_hmac),
            self.records,
            self.checkpoints,
            self.oldest_record_ms,
            self.newest_record_ms,
            self.sha256,
            self.archived_at_ms,
            self.pruned_at_ms,
        )

    @classmethod
    def from_row(cls, row: StoredRow) -> ArchivedSegment:
        """Decode a stored row; raises ValueError when it is malformed."""
        name, first, last, prev, last_hash, last_hmac, records, checkpoints, oldest, newest, sha, at, pruned = row
        numbers = (first, last, last_hmac, records, checkpoints, oldest, newest, at)
        if not isinstance(name, str) or not isinstance(sha, str) or any(type(n) is not int for n in numbers):
            raise ValueError("a column has the wrong type")
        if pruned is not None and type(pruned) is not int:
            raise ValueError("pruned_at_ms is not an integer")
        try:
            prev_hash, record_hash = bytes.fromhex(prev), bytes.fromhex(last_hash)
        except (TypeError, ValueError):
            raise ValueError("prev_hash or last_record_hash is not hex") from None
        if len(prev_hash) != 32 or len(record_hash) != 32:
            raise ValueError("prev_hash or last_record_hash has the wrong length")
        return cls(
            name, first, last, prev_hash, record_hash, bool(last_hmac), records, checkpoints, oldest, newest, sha, at,
            pruned,
        )  # fmt: skip


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

    def iter_query(self, query: AuditQuery = ALL_RECORDS) -> Iterator[AuditEntry]:
        """The matching records of the live store in seq order, read in batches (archived ones are in their files)."""
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
        rows = self._execute(CHECKPOINT_SELECT + " ORDER BY seq", []).fetchall()
        try:
            return [Checkpoint.from_row(row) for row in rows]
        except ValueError as exc:
            raise AuditTrailError(f"{self.path}: a malformed checkpoint: {exc}") from None

    def archived_segments(self) -> list[ArchivedSegment]:
        """The archived segments in seq order, pruned ones included (empty for a trail never archived)."""
        try:
            return archived_segments(self._conn)
        except sqlite3.Error as exc:
            raise AuditTrailError(f"{self.path}: cannot read the audit trail: {exc}") from None
        except ValueError as exc:
            raise AuditTrailError(f"{self.path}: a malformed audit_archives row: {exc}") from None

    def export(self, fmt: ExportFormat | str, out: TextIO, query: AuditQuery = ALL_RECORDS) -> int:
        """Write the live records (all, or those matching ``query``) as JSONL or CSV; returns how many.

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

    def verify(self, public_key: Ed25519PublicKey, *, hmac_key: bytes | None = None, workers: int = 1) -> VerifyReport:
        """Walk the live chain and its checkpoints with the public key (and the HMAC key if given).

        The walk starts after the last archived segment (its last seq and record hash, as the live
        store lists it), or at GENESIS for a trail never archived; controller/audit_archive.py
        verifies the archive files up to there.

        With ``workers`` > 1 and a long trail, consecutive seq ranges are verified in that many
        forked processes (only where fork is the platform's way; meant for the ``rrm audit``
        command, not for a process with threads), each from the stored hash of the record before
        its range; a range's verdict counts only when every range before it verified.
        """
        ranges = self._ranges(workers) if workers > 1 and "fork" in multiprocessing.get_all_start_methods() else []
        if len(ranges) < 2:
            return self.named(_walk(self._conn, self.path, public_key, hmac_key, None))
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(len(ranges), mp_context=context) as pool:
            parts = list(pool.map(_walk_in_worker, repeat(str(self.path)), repeat(raw), repeat(hmac_key), ranges))
        return self.named(merge_reports(parts))

    def _ranges(self, workers: int) -> list[_Range]:
        """Consecutive seq ranges of at least PARALLEL_MIN_RECORDS records each, split at stored records."""
        try:
            base = chain_start(self._conn)
        except (sqlite3.Error, ValueError):
            return []  # the single walk names it
        (last,) = self._execute("SELECT COALESCE(MAX(seq), 0) FROM audit_records", []).fetchone()
        if not isinstance(last, int):
            return []
        span = last - base.after_seq
        count = min(workers, span // PARALLEL_MIN_RECORDS)
        ranges = [base]
        for k in range(1, count):
            row = self._execute(
                "SELECT seq, record_hash, hmac FROM audit_records WHERE seq <= ? ORDER BY seq DESC LIMIT 1",
                [base.after_seq + span * k // count],
            ).fetchone()
            try:
                if type(row[0]) is not int:
                    raise TypeError
                start = _Range(row[0], None, bytes.fromhex(row[1]), row[2] is not None)
            except (TypeError, ValueError):
                return []  # a malformed row: the single walk names it
            if start.after_seq <= ranges[-1].after_seq:
                continue
            ranges[-1] = replace(ranges[-1], through_seq=start.after_seq)
            ranges.append(start)
        return ranges

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


@dataclass(frozen=True, slots=True)
class _Range:
    """Records after_seq < seq <= through_seq (None: to the end), walked from after_seq's stored hash.

    ``start_signed``: record after_seq is covered by a signed checkpoint (the end of an archive).
    """

    after_seq: int
    through_seq: int | None
    start_hash: bytes
    hmac_seen: bool
    start_signed: bool = False


def archived_segments(conn: sqlite3.Connection) -> list[ArchivedSegment]:
    """Every row of ``audit_archives`` in seq order (none when the table is not there).

    Raises sqlite3.Error when it cannot be read and ValueError on a malformed row.
    """
    table = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_archives'").fetchone()
    if table is None:
        return []
    return [ArchivedSegment.from_row(row) for row in conn.execute(ARCHIVE_SELECT + " ORDER BY last_seq")]


def chain_start(conn: sqlite3.Connection) -> _Range:
    """Where the live chain starts: after the last archived segment, or at GENESIS.

    Raises sqlite3.Error when it cannot be read and ValueError on a malformed row.
    """
    table = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_archives'").fetchone()
    row = None if table is None else conn.execute(ARCHIVE_SELECT + " ORDER BY last_seq DESC LIMIT 1").fetchone()
    if row is None:
        return _Range(0, None, GENESIS, False)
    last = ArchivedSegment.from_row(row)
    return _Range(last.last_seq, None, last.last_record_hash, last.last_hmac, start_signed=True)


def _walk(
    conn: sqlite3.Connection, path: Path, public_key: Ed25519PublicKey, hmac_key: bytes | None, span: _Range | None
) -> VerifyReport:
    """Verify one range of records, and the checkpoints in it, in one read snapshot.

    ``span`` None: the whole live chain, from its start as the same snapshot lists it.
    """
    try:
        conn.execute("BEGIN")  # one snapshot: checkpoints and records as of the same moment
        if span is None:
            try:
                span = chain_start(conn)
            except ValueError as exc:
                raise AuditTrailError(f"{path}: a malformed audit_archives row: {exc}") from None
        bounds = "seq > ?" + ("" if span.through_seq is None else " AND seq <= ?")
        params = [span.after_seq] if span.through_seq is None else [span.after_seq, span.through_seq]
        checkpoint_rows = conn.execute(f"{CHECKPOINT_SELECT} WHERE {bounds}", params).fetchall()
        verifier = ChainVerifier(
            public_key,
            checkpoint_rows,
            hmac_key=hmac_key,
            start_seq=span.after_seq,
            start_hash=span.start_hash,
            start_signed=span.start_signed,
            hmac_seen=span.hmac_seen,
        )
        cursor = conn.execute(f"{RECORD_SELECT} WHERE {bounds} ORDER BY seq", params)
        while (rows := cursor.fetchmany(READ_BATCH)) and verifier.feed(rows):
            pass
        cursor.close()
    except sqlite3.Error as exc:
        raise AuditTrailError(f"{path}: cannot read the audit trail: {exc}") from None
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    return verifier.finish()


def _walk_in_worker(path: str, public_raw: bytes, hmac_key: bytes | None, span: _Range) -> VerifyReport:
    conn = open_database(Path(path))
    try:
        return _walk(conn, Path(path), Ed25519PublicKey.from_public_bytes(public_raw), hmac_key, span)
    finally:
        conn.close()
