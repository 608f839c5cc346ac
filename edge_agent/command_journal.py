"""What the agent did with each controller command, so a resent command is never applied twice,
and when each parameter last changed, for the safe zones' per-hour limits."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled_commands (
    message_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    handled_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS parameter_changes (
    radio_id TEXT NOT NULL,
    parameter TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS parameter_changes_radio ON parameter_changes (radio_id, at_ms);
"""

HOUR_MS = 3_600_000


class CommandJournal:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)

    def status_of(self, message_id: str) -> str | None:
        row = self._conn.execute("SELECT status FROM handled_commands WHERE message_id = ?", (message_id,)).fetchone()
        return str(row[0]) if row else None

    def record(self, message_id: str, status: str, at_ms: int) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO handled_commands (message_id, status, handled_at_ms) VALUES (?, ?, ?)",
            (message_id, status, at_ms),
        )

    @property
    def connection(self) -> sqlite3.Connection:
        return self._conn

    def record_changes(self, radio_id: str, parameters: Iterable[str], at_ms: int) -> None:
        self._conn.execute("DELETE FROM parameter_changes WHERE at_ms < ?", (at_ms - 24 * HOUR_MS,))
        self._conn.executemany(
            "INSERT INTO parameter_changes (radio_id, parameter, at_ms) VALUES (?, ?, ?)",
            [(radio_id, p, at_ms) for p in parameters],
        )

    def changes_last_hour(self, radio_id: str, now_ms: int) -> dict[str, int]:
        """Read only (it is on the path of every decision); old rows go when changes are recorded."""
        rows = self._conn.execute(
            "SELECT parameter, COUNT(*) FROM parameter_changes WHERE radio_id = ? AND at_ms > ? GROUP BY parameter",
            (radio_id, now_ms - HOUR_MS),
        ).fetchall()
        return {str(p): int(n) for p, n in rows}
