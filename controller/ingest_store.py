"""The controller's store of everything agents send, written by one thread with group commits.

Streams hand decoded messages to IngestWriter.submit(); a dedicated thread drains whatever has
queued up, stores it in one transaction (deduplicating by (agent, message id), so a resent
message is stored once), commits, and only then reports the ids back so the streams can
acknowledge them. An acknowledged message is therefore always on disk.

Telemetry history is bounded by age (``retention_s``); events, action reports and audit
records are kept.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rrm.sqlite_files import open_database
from rrm.v1 import agent_link_pb2 as pb

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS received (
    agent_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (agent_id, message_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS radio_samples (
    radio_id TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    agent_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sample BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS radio_samples_radio_ts ON radio_samples (radio_id, ts_ms);
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

MAX_BATCH = 4000


@dataclass(frozen=True, slots=True)
class IngestItem:
    """One durable message from one agent. ``session`` is whatever the caller needs to reply."""

    agent_id: str
    message: pb.AgentMessage
    received_at_ms: int
    session: object


@dataclass(frozen=True, slots=True)
class IngestResult:
    item: IngestItem
    stored: bool  # False: a duplicate, stored earlier


Completion = Callable[[Sequence[IngestResult]], None]


def open_ingest_database(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    conn = open_database(path, check_same_thread=check_same_thread)
    conn.executescript(SCHEMA)
    return conn


def store_batch(conn: sqlite3.Connection, items: Sequence[IngestItem]) -> list[IngestResult]:
    """Store items in one transaction; returns which were new."""
    results: list[IngestResult] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for item in items:
            msg = item.message
            body = msg.WhichOneof("body") or ""
            cur = conn.execute(
                "INSERT OR IGNORE INTO received (agent_id, message_id, kind, received_at_ms) VALUES (?, ?, ?, ?)",
                (item.agent_id, msg.message_id, body, item.received_at_ms),
            )
            stored = cur.rowcount == 1
            if stored:
                _store_body(conn, item.agent_id, msg)
            results.append(IngestResult(item, stored))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return results


def _store_body(conn: sqlite3.Connection, agent_id: str, msg: pb.AgentMessage) -> None:
    body = msg.WhichOneof("body")
    if body == "telemetry":
        conn.executemany(
            "INSERT INTO radio_samples (radio_id, ts_ms, agent_id, message_id, sample) VALUES (?, ?, ?, ?, ?)",
            [
                (s.radio_id, s.timestamp_ms, agent_id, msg.message_id, s.SerializeToString())
                for s in msg.telemetry.samples
            ],
        )
    elif body == "event":
        e = msg.event
        conn.execute(
            "INSERT OR IGNORE INTO radio_events (event_id, agent_id, radio_id, type, ts_ms, event)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                msg.message_id,
                agent_id,
                e.radio_id,
                pb.EventType.Name(e.type),
                e.timestamp_ms,
                e.SerializeToString(),
            ),
        )
    elif body == "action_report":
        r = msg.action_report
        conn.execute(
            "INSERT OR IGNORE INTO action_reports"
            " (action_id, agent_id, radio_id, origin, status, change_id, ts_ms, report)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                msg.message_id,
                agent_id,
                r.radio_id,
                pb.ActionOrigin.Name(r.origin),
                pb.ActionStatus.Name(r.status),
                r.change_id,
                r.completed_at_ms,
                r.SerializeToString(),
            ),
        )
    elif body == "audit":
        conn.execute(
            "INSERT OR IGNORE INTO agent_audit (record_id, agent_id, ts_ms, record) VALUES (?, ?, ?, ?)",
            (msg.message_id, agent_id, msg.audit.timestamp_ms, msg.audit.SerializeToString()),
        )


class IngestWriter:
    """The single writer thread; ``on_stored`` is called on the event loop after each commit."""

    def __init__(self, path: Path, on_stored: Completion, call_soon: Callable[[Callable[[], None]], object]) -> None:
        self._path = path
        self._on_stored = on_stored
        self._call_soon = call_soon
        self._queue: queue.SimpleQueue[IngestItem | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.retention_s = 24 * 3600.0
        self.commits = 0

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def submit(self, item: IngestItem) -> None:
        self._queue.put(item)

    def stop(self) -> None:
        """Store everything already submitted, then end the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        try:
            conn = open_ingest_database(self._path, check_same_thread=False)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop(conn)
        finally:
            conn.close()

    def _loop(self, conn: sqlite3.Connection) -> None:
        stopping = False
        last_prune_ms = 0
        while not stopping:
            first = self._queue.get()
            items: list[IngestItem] = []
            if first is None:
                stopping = True
            else:
                items.append(first)
            while len(items) < MAX_BATCH and not stopping:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                else:
                    items.append(nxt)
            if not items:
                continue
            try:
                results = store_batch(conn, items)
            except sqlite3.Error:
                # Not acknowledged, so the agents still hold these and will resend them.
                log.exception("cannot store %d messages in %s; they stay unacknowledged", len(items), self._path)
                continue
            self.commits += 1
            self._call_soon(lambda r=results: self._on_stored(r))  # type: ignore[misc]
            newest = max(
                (s.timestamp_ms for i in items for s in i.message.telemetry.samples[-1:]),
                default=last_prune_ms,
            )
            if newest - last_prune_ms > 60_000:
                last_prune_ms = newest
                conn.execute("DELETE FROM radio_samples WHERE ts_ms < ?", (newest - int(self.retention_s * 1000),))
