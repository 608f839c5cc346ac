"""The agent's on-disk outbox: what must reach the controller survives outages and restarts.

Every message waits here, under its idempotent message id, until the controller acknowledges
it. Telemetry is bounded: when it is full the oldest telemetry is dropped (and counted).
Durable records (events, action reports, audit records) are never dropped: past their own,
much larger bound the outbox refuses new ones with OutboxFull, counts them, and the agent says so
in every heartbeat and in an OUTBOX_OVERFLOW event once there is room again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from rrm.v1 import agent_link_pb2 as pb


class RecordKind(StrEnum):
    TELEMETRY = "telemetry"
    EVENT = "event"
    ACTION_REPORT = "action_report"
    AUDIT = "audit"


_KIND_OF_BODY = {
    "telemetry": RecordKind.TELEMETRY,
    "event": RecordKind.EVENT,
    "action_report": RecordKind.ACTION_REPORT,
    "audit": RecordKind.AUDIT,
}


class OutboxFull(Exception):
    """A durable record was refused because the outbox holds its maximum of durable records."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int
    message_id: str
    kind: RecordKind
    payload: bytes


@dataclass(frozen=True, slots=True)
class OutboxCounters:
    depth: int
    dropped_telemetry: int
    refused_durable: int
    rejected: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    durable INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_durable_seq ON outbox (durable, seq);
CREATE TABLE IF NOT EXISTS outbox_rejected (
    message_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Outbox:
    """A durable FIFO of AgentMessages keyed by message id (SQLite table ``outbox``)."""

    def __init__(self, conn: sqlite3.Connection, *, max_telemetry: int = 20_000, max_durable: int = 200_000):
        if max_telemetry < 1 or max_durable < 1:
            raise ValueError("outbox bounds must be at least 1")
        self._conn = conn
        self.max_telemetry = max_telemetry
        self.max_durable = max_durable
        conn.executescript(_SCHEMA)
        self._counts = {True: self._count(durable=True), False: self._count(durable=False)}

    def _count(self, *, durable: bool) -> int:
        row = self._conn.execute("SELECT COUNT(*) FROM outbox WHERE durable = ?", (int(durable),)).fetchone()
        return int(row[0])

    def _counter(self, name: str) -> int:
        row = self._conn.execute("SELECT value FROM outbox_counters WHERE name = ?", (name,)).fetchone()
        return int(row[0]) if row else 0

    def _bump(self, name: str, by: int) -> None:
        self._conn.execute(
            "INSERT INTO outbox_counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (name, by),
        )

    def put(self, message: pb.AgentMessage) -> None:
        """Store a message until acknowledged. Re-putting a known message id changes nothing.

        Raises:
            ValueError: the message has no id or is not a durable kind.
            OutboxFull: a durable record arrived while the durable bound is reached.
        """
        body = message.WhichOneof("body")
        if not message.message_id or body not in _KIND_OF_BODY:
            raise ValueError(f"outbox takes telemetry, events, reports and audit with an id, not {body!r}")
        kind = _KIND_OF_BODY[body]
        durable = kind is not RecordKind.TELEMETRY
        if durable and self._counts[True] >= self.max_durable:
            self._bump("refused_durable", 1)
            raise OutboxFull(
                f"outbox holds {self._counts[True]} undelivered durable records (max {self.max_durable}); "
                f"refused {kind.value} {message.message_id}"
            )
        # A savepoint: its own transaction, or part of the caller's (an action's report and audit
        # record commit together, sqlite_files.transaction).
        self._conn.execute("SAVEPOINT outbox_put")
        try:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO outbox (message_id, kind, durable, payload) VALUES (?, ?, ?, ?)",
                (message.message_id, kind.value, int(durable), message.SerializeToString()),
            )
            self._counts[durable] += cur.rowcount
            if not durable and self._counts[False] > self.max_telemetry:
                self._drop_oldest_telemetry(self._counts[False] - self.max_telemetry)
            self._conn.execute("RELEASE outbox_put")
        except BaseException:
            self._conn.execute("ROLLBACK TO outbox_put")
            self._conn.execute("RELEASE outbox_put")
            self._counts = {True: self._count(durable=True), False: self._count(durable=False)}
            raise

    def _drop_oldest_telemetry(self, n: int) -> None:
        cur = self._conn.execute(
            "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE durable = 0 ORDER BY seq LIMIT ?)",
            (n,),
        )
        self._counts[False] -= cur.rowcount
        self._bump("dropped_telemetry", cur.rowcount)

    def pending(self, *, durable: bool, after_seq: int, limit: int) -> list[OutboxEntry]:
        """Unacknowledged messages of one class in order, after a sequence number."""
        rows = self._conn.execute(
            "SELECT seq, message_id, kind, payload FROM outbox WHERE durable = ? AND seq > ? ORDER BY seq LIMIT ?",
            (int(durable), after_seq, limit),
        ).fetchall()
        return [OutboxEntry(int(s), str(m), RecordKind(k), bytes(p)) for s, m, k, p in rows]

    def ack(self, message_ids: Iterable[str]) -> int:
        """Forget acknowledged messages; returns how many were still here."""
        removed = {True: 0, False: 0}
        self._conn.execute("BEGIN IMMEDIATE")
        for message_id in message_ids:
            row = self._conn.execute(
                "DELETE FROM outbox WHERE message_id = ? RETURNING durable", (message_id,)
            ).fetchone()
            if row is not None:
                removed[bool(row[0])] += 1
        self._conn.execute("COMMIT")
        for durable, n in removed.items():
            self._counts[durable] -= n
        return removed[True] + removed[False]

    def reject(self, message_id: str, code: str, reason: str) -> bool:
        """Move a message the controller will never accept out of the queue, keeping it for inspection."""
        self._conn.execute("BEGIN IMMEDIATE")
        row = self._conn.execute(
            "DELETE FROM outbox WHERE message_id = ? RETURNING kind, durable, payload", (message_id,)
        ).fetchone()
        if row is not None:
            self._conn.execute(
                "INSERT OR REPLACE INTO outbox_rejected (message_id, kind, code, reason, payload) "
                "VALUES (?, ?, ?, ?, ?)",
                (message_id, row[0], code, reason, row[2]),
            )
            self._counts[bool(row[1])] -= 1
        self._conn.execute("COMMIT")
        return row is not None

    def rejected(self) -> list[tuple[str, str, str]]:
        """(message id, code, reason) of every message the controller refused."""
        rows = self._conn.execute("SELECT message_id, code, reason FROM outbox_rejected").fetchall()
        return [(str(m), str(c), str(r)) for m, c, r in rows]

    def has_room_for_durable(self) -> bool:
        return self._counts[True] < self.max_durable

    def take_refused_report(self) -> int:
        """How many durable records were refused since the last call (for an OUTBOX_OVERFLOW event)."""
        refused = self._counter("refused_durable") - self._counter("refused_reported")
        if refused > 0:
            self._bump("refused_reported", refused)
        return refused

    def counters(self) -> OutboxCounters:
        return OutboxCounters(
            depth=self._counts[True] + self._counts[False],
            dropped_telemetry=self._counter("dropped_telemetry"),
            refused_durable=self._counter("refused_durable"),
            rejected=int(self._conn.execute("SELECT COUNT(*) FROM outbox_rejected").fetchone()[0]),
        )
