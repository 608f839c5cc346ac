"""The controller's store of everything agents send (SQLite ``ingest.db``): schema and writes.

Pure storage, no concurrency: ``ingest_record`` turns a checked message into a picklable row on
the event loop, ``store_records`` writes a batch of rows in one transaction, deduplicating by
(agent, message id) so a resent message is stored once. Telemetry is stored one row per batch,
exactly as received (one insert per message, not per sample, which is what lets one process take
tens of thousands of samples per second); readers pick a radio's samples out of its agent's recent
batches. The writer process (ingest_writer.py) is the only writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rrm.sqlite_files import open_database
from rrm.v1 import agent_link_pb2 as pb

SCHEMA = """
CREATE TABLE IF NOT EXISTS received (
    agent_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (agent_id, message_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS telemetry_batches (
    agent_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    first_ts_ms INTEGER NOT NULL,
    last_ts_ms INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    message BLOB NOT NULL   -- the rrm.v1.AgentMessage holding the batch, exactly as received
);
CREATE INDEX IF NOT EXISTS telemetry_batches_agent_ts ON telemetry_batches (agent_id, last_ts_ms);
CREATE TABLE IF NOT EXISTS radio_events (
    event_id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    radio_id TEXT NOT NULL,
    type TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    event BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS action_reports (
    action_id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    radio_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    status TEXT NOT NULL,
    change_id TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    report BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_audit (
    record_id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    record BLOB NOT NULL
);
"""

_INSERTS = {
    "telemetry": "INSERT INTO telemetry_batches (agent_id, message_id, first_ts_ms, last_ts_ms, samples, message)"
    " VALUES (?, ?, ?, ?, ?, ?)",
    "event": "INSERT OR IGNORE INTO radio_events (event_id, agent_id, radio_id, type, ts_ms, event)"
    " VALUES (?, ?, ?, ?, ?, ?)",
    "action_report": "INSERT OR IGNORE INTO action_reports"
    " (action_id, agent_id, radio_id, origin, status, change_id, ts_ms, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "audit": "INSERT OR IGNORE INTO agent_audit (record_id, agent_id, ts_ms, record) VALUES (?, ?, ?, ?)",
}


@dataclass(frozen=True, slots=True)
class IngestRecord:
    """One durable message, reduced to what the store needs (picklable, crosses to the writer)."""

    agent_id: str
    message_id: str
    kind: str
    received_at_ms: int
    row: tuple[object, ...]
    newest_ts_ms: int  # newest sample time, for telemetry retention; 0 otherwise

    def as_tuple(self) -> RecordTuple:
        """The record as a plain tuple: pickles several times faster than the dataclass."""
        return (self.agent_id, self.message_id, self.kind, self.received_at_ms, self.row, self.newest_ts_ms)


RecordTuple = tuple[str, str, str, int, tuple[object, ...], int]


def ingest_record(agent_id: str, msg: pb.AgentMessage, raw: bytes, received_at_ms: int) -> IngestRecord:
    """The row for a checked message (telemetry samples must be in time order, as checked)."""
    body = msg.WhichOneof("body") or ""
    newest = 0
    row: tuple[object, ...]
    if body == "telemetry":
        samples = msg.telemetry.samples
        newest = samples[-1].timestamp_ms
        row = (agent_id, msg.message_id, samples[0].timestamp_ms, newest, len(samples), raw)
    elif body == "event":
        e = msg.event
        row = (msg.message_id, agent_id, e.radio_id, pb.EventType.Name(e.type), e.timestamp_ms, e.SerializeToString())
    elif body == "action_report":
        r = msg.action_report
        row = (
            msg.message_id,
            agent_id,
            r.radio_id,
            pb.ActionOrigin.Name(r.origin),
            pb.ActionStatus.Name(r.status),
            r.change_id,
            r.completed_at_ms,
            r.SerializeToString(),
        )
    elif body == "audit":
        row = (msg.message_id, agent_id, msg.audit.timestamp_ms, msg.audit.SerializeToString())
    else:
        raise ValueError(f"{body!r} is not a durable message kind")
    return IngestRecord(agent_id, msg.message_id, body, received_at_ms, row, newest)


def open_ingest_database(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    conn = open_database(path, check_same_thread=check_same_thread)
    conn.executescript(SCHEMA)
    return conn


def _already_stored(conn: sqlite3.Connection, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        values = ",".join("(?, ?)" for _ in chunk)
        rows = conn.execute(
            f"SELECT agent_id, message_id FROM received WHERE (agent_id, message_id) IN (VALUES {values})",
            [v for key in chunk for v in key],
        )
        found.update((str(a), str(m)) for a, m in rows)
    return found


def store_records(conn: sqlite3.Connection, records: Sequence[IngestRecord]) -> list[bool]:
    """Store records in one transaction; returns, per record, whether it was new (False: a duplicate).

    A handful of statements per batch, not per message, so a batch costs little beyond its bytes.
    """
    keys = [(r.agent_id, r.message_id) for r in records]
    conn.execute("BEGIN IMMEDIATE")
    try:
        seen = _already_stored(conn, keys)
        stored: list[bool] = []
        received: list[tuple[str, str, str, int]] = []
        rows: dict[str, list[tuple[object, ...]]] = {}
        for record, key in zip(records, keys, strict=True):
            new = key not in seen
            seen.add(key)
            stored.append(new)
            if new:
                received.append((record.agent_id, record.message_id, record.kind, record.received_at_ms))
                rows.setdefault(record.kind, []).append(record.row)
        conn.executemany(
            "INSERT INTO received (agent_id, message_id, kind, received_at_ms) VALUES (?, ?, ?, ?)", received
        )
        for kind, kind_rows in rows.items():
            conn.executemany(_INSERTS[kind], kind_rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return stored


def prune_telemetry(conn: sqlite3.Connection, older_than_ms: int) -> int:
    """Forget telemetry batches whose newest sample is older than ``older_than_ms``."""
    return conn.execute("DELETE FROM telemetry_batches WHERE last_ts_ms < ?", (older_than_ms,)).rowcount
