"""Which agents exist, which are connected now, and which radios each one speaks for.

Live sessions are in memory; what each agent last said in its Hello, and when it was last seen,
is kept in SQLite so the controller knows its fleet after a restart.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field

from rrm.pki import AgentIdentity
from rrm.v1 import agent_link_pb2 as pb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
    agent_id TEXT PRIMARY KEY,
    hello BLOB NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    connected INTEGER NOT NULL
);
"""


@dataclass(eq=False)
class AgentSession:
    """One live stream. ``outgoing`` holds serialized ControllerMessages for its writer."""

    agent_id: str
    identity: AgentIdentity | None
    hello: pb.Hello
    peer: str
    connected_at_ms: int
    outgoing: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    last_seen_ms: int = 0
    outbox_depth: int = 0
    outbox_dropped_telemetry: int = 0
    outbox_refused_durable: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    replaced: bool = False

    @property
    def radio_ids(self) -> frozenset[str]:
        return frozenset(r.radio_id for r in self.hello.radios)

    def send(self, msg: pb.ControllerMessage) -> None:
        self.outgoing.put_nowait(msg.SerializeToString())


class AgentRegistry:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)
        conn.execute("UPDATE agents SET connected = 0")
        self.sessions: dict[str, AgentSession] = {}
        self._radio_owner: dict[str, str] = {}
        self.peak_connected = 0

    def attach(self, session: AgentSession) -> AgentSession | None:
        """Make ``session`` the agent's live session; returns the session it replaces, if any."""
        old = self.sessions.get(session.agent_id)
        if old is not None:
            old.replaced = True
        self.sessions[session.agent_id] = session
        for radio_id in session.radio_ids:
            self._radio_owner[radio_id] = session.agent_id
        self.peak_connected = max(self.peak_connected, len(self.sessions))
        self._conn.execute(
            "INSERT INTO agents (agent_id, hello, first_seen_ms, last_seen_ms, connected) VALUES (?, ?, ?, ?, 1) "
            "ON CONFLICT(agent_id) DO UPDATE SET hello = excluded.hello, last_seen_ms = excluded.last_seen_ms, "
            "connected = 1",
            (
                session.agent_id,
                session.hello.SerializeToString(),
                session.connected_at_ms,
                session.connected_at_ms,
            ),
        )
        return old

    def detach(self, session: AgentSession, now_ms: int) -> None:
        session.closed.set()
        if self.sessions.get(session.agent_id) is session:
            del self.sessions[session.agent_id]
            self._conn.execute(
                "UPDATE agents SET connected = 0, last_seen_ms = ? WHERE agent_id = ?",
                (now_ms, session.agent_id),
            )

    def owner_of(self, radio_id: str) -> str | None:
        """The agent that last said it manages this radio (connected or not)."""
        owner = self._radio_owner.get(radio_id)
        if owner is None:
            for agent_id, blob in self._conn.execute("SELECT agent_id, hello FROM agents"):
                hello = pb.Hello.FromString(blob)
                for radio in hello.radios:
                    self._radio_owner.setdefault(radio.radio_id, str(agent_id))
            owner = self._radio_owner.get(radio_id)
        return owner

    def known_agents(self) -> dict[str, pb.Hello]:
        return {str(a): pb.Hello.FromString(h) for a, h in self._conn.execute("SELECT agent_id, hello FROM agents")}

    def connected_count(self) -> int:
        return len(self.sessions)
