"""Reading the controller's audit trail: queries, exports, verification with the public key only.

``AuditTrailReader`` needs no secret: auditors run it (``rrm audit verify|query|export``) on a copy
of ``audit.db`` or on the PostgreSQL database the controller writes (controller/audit_store.py: the
same schema, chosen by URL). Verification reads rows in batches of 8192 and splits a long trail
into seq ranges verified in parallel processes, each with its own connection; the walk itself is
controller/audit_verify.py's.

The oldest records may have been moved to archive files (controller/audit_archive.py); the
``audit_archives`` table lists them, and the live store's chain starts after the last one listed
(its last seq and record hash), which is where this reader's verification starts. Queries and
exports read the live store only.
"""

from __future__ import annotations

import contextlib
import csv
import json
import multiprocessing
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from itertools import repeat
from types import TracebackType
from typing import TextIO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from controller.audit_chain import RECORD_COLUMNS, AuditEntry, Checkpoint, entry_from_row, radio_ap_id
from controller.audit_store import AuditStore, AuditStoreError, AuditTarget, Row, open_audit_store
from controller.audit_store_schema import (
    ARCHIVE_COLUMNS,
    ARCHIVE_SELECT,
    ARCHIVES_SCHEMA,
    CHECKPOINT_SELECT,
    RECORD_SELECT,
    TRAIL_TABLES,
    ArchivedSegment,
    _Range,
    archived_segments,
    chain_start,
)
from controller.audit_verify import ChainVerifier, VerifyReport, merge_reports

__all__ = [  # the schema's names too, where callers have always found them
    "ARCHIVES_SCHEMA",
    "ARCHIVE_COLUMNS",
    "ARCHIVE_SELECT",
    "CHECKPOINT_SELECT",
    "PARALLEL_MIN_RECORDS",
    "READ_BATCH",
    "RECORD_SELECT",
    "ArchivedSegment",
    "AuditQuery",
    "AuditTrailError",
    "AuditTrailReader",
    "ChainHead",
    "ExportFormat",
    "archived_segments",
    "chain_start",
    "describe_entry",
    "verify_workers",
]

READ_BATCH = 8192
PARALLEL_MIN_RECORDS = 50_000


def verify_workers() -> int:
    """How many processes ``rrm audit verify`` verifies with: the usable cores, at most 4."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


class AuditTrailError(AuditStoreError):
    """The audit trail cannot be read or written as asked; the message names the file or the URL."""


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


class AuditTrailReader:
    """Reading an existing trail: queries, exports, verification. Needs no secret."""

    def __init__(self, store: AuditStore) -> None:
        self._store = store
        self.name = store.name
        self.target = store.target

    @classmethod
    def open(cls, target: AuditTarget) -> AuditTrailReader:
        """Open an existing trail (a SQLite file or a PostgreSQL URL); AuditTrailError when there is none."""
        try:
            store = open_audit_store(target)
        except AuditStoreError as exc:
            raise AuditTrailError(str(exc), exc.detail) from None
        try:
            tables = store.tables()
        except AuditStoreError as exc:
            store.close()
            raise AuditTrailError(f"{store.name}: cannot read the audit trail: {exc.detail}", exc.detail) from None
        if not tables >= TRAIL_TABLES:
            store.close()
            raise AuditTrailError(f"{store.name}: not an audit trail (no audit_records and audit_checkpoints tables)")
        return cls(store)

    def iter_query(self, query: AuditQuery = ALL_RECORDS) -> Iterator[AuditEntry]:
        """The matching records of the live store in seq order, read in batches (archived ones are in their files)."""
        sql, params = query.sql()
        for rows in self._batches(sql, params):
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
        rows = self._query(CHECKPOINT_SELECT + " ORDER BY seq", [])
        try:
            return [Checkpoint.from_row(row) for row in rows]
        except ValueError as exc:
            raise AuditTrailError(f"{self.name}: a malformed checkpoint: {exc}") from None

    def archived_segments(self) -> list[ArchivedSegment]:
        """The archived segments in seq order, pruned ones included (empty for a trail never archived)."""
        try:
            return archived_segments(self._store)
        except AuditStoreError as exc:
            raise AuditTrailError(f"{self.name}: cannot read the audit trail: {exc.detail}", exc.detail) from None
        except ValueError as exc:
            raise AuditTrailError(f"{self.name}: a malformed audit_archives row: {exc}") from None

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
            for rows in self._batches(sql, params):
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
        its range, on its own connection; a range's verdict counts only when every range before it verified.
        """
        ranges = self._ranges(workers) if workers > 1 and "fork" in multiprocessing.get_all_start_methods() else []
        if len(ranges) < 2:
            return self.named(_walk(self._store, public_key, hmac_key, None))
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(len(ranges), mp_context=context) as pool:
            parts = list(pool.map(_walk_in_worker, repeat(self.target), repeat(raw), repeat(hmac_key), ranges))
        return self.named(merge_reports(parts))

    def _ranges(self, workers: int) -> list[_Range]:
        """Consecutive seq ranges of at least PARALLEL_MIN_RECORDS records each, split at stored records."""
        try:
            base = chain_start(self._store)
        except (AuditStoreError, ValueError):
            return []  # the single walk names it
        (last,) = self._query("SELECT COALESCE(MAX(seq), 0) FROM audit_records", [])[0]
        if not isinstance(last, int):
            return []
        span = last - base.after_seq
        count = min(workers, span // PARALLEL_MIN_RECORDS)
        ranges = [base]
        for k in range(1, count):
            row = self._query(
                "SELECT seq, record_hash, hmac FROM audit_records WHERE seq <= ? ORDER BY seq DESC LIMIT 1",
                [base.after_seq + span * k // count],
            )[0]
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
        self._store.close()

    def __enter__(self) -> AuditTrailReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _query(self, sql: str, params: Sequence[object]) -> list[Row]:
        try:
            return self._store.query(sql, params)
        except AuditStoreError as exc:
            raise AuditTrailError(f"{self.name}: cannot read the audit trail: {exc.detail}", exc.detail) from None

    def _batches(self, sql: str, params: Sequence[object]) -> Iterator[list[Row]]:
        try:
            yield from self._store.batches(sql, params, READ_BATCH)
        except AuditStoreError as exc:
            raise AuditTrailError(f"{self.name}: cannot read the audit trail: {exc.detail}", exc.detail) from None

    def named(self, report: VerifyReport) -> VerifyReport:
        """Fill in the record id of the first bad record when the verifier could not see it."""
        bad = report.first_bad
        if bad is None or bad.record_id:
            return report
        rows = self._query("SELECT record_id FROM audit_records WHERE seq = ?", (bad.seq,))
        return report if not rows else replace(report, first_bad=replace(bad, record_id=str(rows[0][0])))


def _walk(store: AuditStore, public_key: Ed25519PublicKey, hmac_key: bytes | None, span: _Range | None) -> VerifyReport:
    """Verify one range of records, and the checkpoints in it, in one read snapshot.

    ``span`` None: the whole live chain, from its start as the same snapshot lists it.
    """
    try:
        with store.snapshot():  # checkpoints and records as of the same moment
            if span is None:
                try:
                    span = chain_start(store)
                except ValueError as exc:
                    raise AuditTrailError(f"{store.name}: a malformed audit_archives row: {exc}") from None
            bounds = "seq > ?" + ("" if span.through_seq is None else " AND seq <= ?")
            params = [span.after_seq] if span.through_seq is None else [span.after_seq, span.through_seq]
            verifier = ChainVerifier(
                public_key,
                store.query(f"{CHECKPOINT_SELECT} WHERE {bounds}", params),
                hmac_key=hmac_key,
                start_seq=span.after_seq,
                start_hash=span.start_hash,
                start_signed=span.start_signed,
                hmac_seen=span.hmac_seen,
            )
            with contextlib.closing(
                store.batches(f"{RECORD_SELECT} WHERE {bounds} ORDER BY seq", params, READ_BATCH)
            ) as rows:
                for batch in rows:
                    if not verifier.feed(batch):
                        break
    except AuditTrailError:
        raise
    except AuditStoreError as exc:
        raise AuditTrailError(f"{store.name}: cannot read the audit trail: {exc.detail}", exc.detail) from None
    return verifier.finish()


def _walk_in_worker(target: AuditTarget, public_raw: bytes, hmac_key: bytes | None, span: _Range) -> VerifyReport:
    try:
        store = open_audit_store(target)
    except AuditStoreError as exc:
        raise AuditTrailError(str(exc), exc.detail) from None
    with store:
        return _walk(store, Ed25519PublicKey.from_public_bytes(public_raw), hmac_key, span)


# ----------------------------------------------------------------------------- one line per record


def describe_entry(entry: AuditEntry) -> str:
    """One readable line: seq, time, type and reason code, where, who, the outcome, what changed, why."""
    parts = [f"#{entry.seq}", _iso_ms(entry.timestamp_ms), entry.record_type, entry.reason_code]
    for label, value in (
        ("ap", entry.ap_id),
        ("radio", entry.radio_id),
        ("change", entry.change_id),
        ("by", entry.actor),
        ("approved-by", entry.approver),
        ("outcome", entry.outcome),
    ):
        if value:
            parts.append(f"{label}={value}")
    if (changed := _changes(entry.before, entry.after)) is not None:
        parts.append(changed)
    line = "  ".join(parts)
    return f"{line}  - {entry.reason}" if entry.reason else line


def _changes(before: Mapping[str, object] | None, after: Mapping[str, object] | None) -> str | None:
    """``channel 52->36, width_mhz 80->40``: the parameters that differ, or None."""
    if before is None and after is None:
        return None
    before, after = before or {}, after or {}
    keys = [k for k in sorted({*before, *after}) if before.get(k) != after.get(k)]
    if not keys:
        return "no config change"
    return ", ".join(f"{k} {before.get(k, '-')}->{after.get(k, '-')}" for k in keys)


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
