"""The agent's local audit trail: every local decision, hash-chained, kept on disk and sent up.

record_hash = SHA-256(prev_hash || deterministic serialisation of the record without its hash),
so removing, reordering or editing a record breaks the chain. Signing the chain is the
controller's audit log's job (issue: guardrails and audit); this log makes the agent's own
decisions tamper-evident while they wait in the outbox.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid

from rrm.v1 import agent_link_pb2 as pb

GENESIS = b"\x00" * 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS local_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    record BLOB NOT NULL,
    record_hash BLOB NOT NULL
);
"""


def record_digest(record: pb.AuditRecord) -> bytes:
    unsigned = pb.AuditRecord()
    unsigned.CopyFrom(record)
    unsigned.ClearField("record_hash")
    return hashlib.sha256(record.prev_hash + unsigned.SerializeToString(deterministic=True)).digest()


class LocalAuditLog:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT record_hash FROM local_audit ORDER BY seq DESC LIMIT 1").fetchone()
        self._head = bytes(row[0]) if row else GENESIS

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    def append(self, record: pb.AuditRecord) -> pb.AuditRecord:
        """Chain and store a record (its id is filled in when empty); returns the stored record."""
        chained = pb.AuditRecord()
        chained.CopyFrom(record)
        if not chained.record_id:
            chained.record_id = uuid.uuid4().hex
        chained.prev_hash = self._head
        chained.record_hash = record_digest(chained)
        self._conn.execute(
            "INSERT INTO local_audit (record_id, record, record_hash) VALUES (?, ?, ?)",
            (chained.record_id, chained.SerializeToString(), chained.record_hash),
        )
        self._head = chained.record_hash
        return chained

    def verify(self) -> int:
        """Re-walk the chain; returns the number of records, raises ValueError at the first broken link."""
        prev = GENESIS
        count = 0
        for (blob,) in self._conn.execute("SELECT record FROM local_audit ORDER BY seq"):
            record = pb.AuditRecord.FromString(blob)
            if record.prev_hash != prev or record_digest(record) != record.record_hash:
                raise ValueError(f"local audit chain broken at record {record.record_id}")
            prev = record.record_hash
            count += 1
        return count
