"""Rollback tokens kept on the agent: the full prior config of every change it made (invariant 3)."""

from __future__ import annotations

import sqlite3

from rrm.v1 import agent_link_pb2 as pb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rollback_tokens (
    token_id TEXT PRIMARY KEY,
    radio_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    token BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS rollback_tokens_radio ON rollback_tokens (radio_id, created_at_ms);
"""


class RollbackTokenStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)

    def save(self, token: pb.RollbackToken) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO rollback_tokens (token_id, radio_id, created_at_ms, token) VALUES (?, ?, ?, ?)",
            (token.token_id, token.radio_id, token.created_at_ms, token.SerializeToString()),
        )

    def get(self, token_id: str) -> pb.RollbackToken | None:
        row = self._conn.execute("SELECT token FROM rollback_tokens WHERE token_id = ?", (token_id,)).fetchone()
        return pb.RollbackToken.FromString(row[0]) if row else None

    def prune(self, now_ms: int) -> int:
        """Forget tokens past their expiry; returns how many."""
        expired = [
            token_id
            for token_id, blob in self._conn.execute("SELECT token_id, token FROM rollback_tokens")
            if 0 < pb.RollbackToken.FromString(blob).expires_at_ms < now_ms
        ]
        self._conn.executemany("DELETE FROM rollback_tokens WHERE token_id = ?", [(t,) for t in expired])
        return len(expired)
