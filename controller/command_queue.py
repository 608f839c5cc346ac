"""Commands on their way to agents, kept until the agent acknowledges them (invariant 8).

A command is stored before it is sent; it is sent on the agent's current stream if there is one
and again on every reconnect until acknowledged. A command whose deadline passed while its
agent was away is marked expired instead of being sent late.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from rrm.v1 import agent_link_pb2 as pb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_commands (
    message_id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    radio_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_commands_pending ON agent_commands (agent_id, state);
"""


class CommandState(StrEnum):
    PENDING = "pending"
    ACKED = "acked"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class QueuedCommand:
    message_id: str
    agent_id: str
    radio_id: str
    state: CommandState
    message: pb.ControllerMessage


def _radio_and_deadline(msg: pb.ControllerMessage) -> tuple[str, int]:
    body = msg.WhichOneof("body")
    if body == "config_command":
        return msg.config_command.radio_id, msg.config_command.deadline_ms
    if body == "rollback_command":
        return msg.rollback_command.radio_id, msg.rollback_command.deadline_ms
    if body == "policy_update":
        return ",".join(msg.policy_update.radio_ids), 0
    raise ValueError(f"not a durable controller message: {body!r}")


class CommandQueue:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)

    def enqueue(self, agent_id: str, msg: pb.ControllerMessage, now_ms: int) -> None:
        radio_id, deadline = _radio_and_deadline(msg)
        self._conn.execute(
            "INSERT OR IGNORE INTO agent_commands "
            "(message_id, agent_id, radio_id, kind, created_at_ms, deadline_ms, state, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                msg.message_id,
                agent_id,
                radio_id,
                msg.WhichOneof("body"),
                now_ms,
                deadline,
                CommandState.PENDING.value,
                msg.SerializeToString(),
            ),
        )

    def pending_for(self, agent_id: str, now_ms: int) -> list[pb.ControllerMessage]:
        """Commands to (re)send to an agent, oldest first; late ones are marked expired instead."""
        self._conn.execute(
            "UPDATE agent_commands SET state = ?, detail = 'deadline passed before the agent connected' "
            "WHERE agent_id = ? AND state = ? AND deadline_ms > 0 AND deadline_ms < ?",
            (CommandState.EXPIRED.value, agent_id, CommandState.PENDING.value, now_ms),
        )
        rows = self._conn.execute(
            "SELECT payload FROM agent_commands WHERE agent_id = ? AND state = ? ORDER BY created_at_ms, rowid",
            (agent_id, CommandState.PENDING.value),
        ).fetchall()
        return [pb.ControllerMessage.FromString(r[0]) for r in rows]

    def settle(self, message_id: str, state: CommandState, detail: str = "") -> None:
        self._conn.execute(
            "UPDATE agent_commands SET state = ?, detail = ? WHERE message_id = ? AND state = ?",
            (state.value, detail, message_id, CommandState.PENDING.value),
        )

    def get(self, message_id: str) -> QueuedCommand | None:
        row = self._conn.execute(
            "SELECT agent_id, radio_id, state, payload FROM agent_commands WHERE message_id = ?",
            (message_id,),
        ).fetchone()
        if row is None:
            return None
        return QueuedCommand(
            message_id,
            str(row[0]),
            str(row[1]),
            CommandState(row[2]),
            pb.ControllerMessage.FromString(row[3]),
        )
