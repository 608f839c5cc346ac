"""Channels a radio must not use after radar (30-minute non-occupancy), kept on the agent's disk.

Invariant 1 and 3: the agent never moves a radio, and never rolls a change back, onto a channel in
its non-occupancy period, whatever the driver would accept, and an agent restart does not forget a
radar hit. Fed by DFS_RADAR events: the channels the radio occupied (``nop_channels`` in the event,
else the event's channel) are blocked for ``nop_s`` seconds (else the regulatory 30 minutes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from radio_domain.regulatory import NOP_SECONDS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS non_occupancy (
    radio_id TEXT NOT NULL,
    channel INTEGER NOT NULL,
    until REAL NOT NULL,
    PRIMARY KEY (radio_id, channel)
);
"""


def radar_channels(channel: int, metadata: Mapping[str, str]) -> tuple[list[int], float]:
    """The channels a radar hit blocks and for how long, from a DFS_RADAR event."""
    listed = metadata.get("nop_channels", "")
    channels = [int(c) for c in listed.split(",") if c.strip()] or [channel]
    seconds = float(metadata.get("nop_s", NOP_SECONDS))
    return channels, max(seconds, NOP_SECONDS)


class NonOccupancyTimers:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)

    def block(self, radio_id: str, channels: Iterable[int], until: float) -> None:
        """Block channels until ``until``; a later radar hit extends, never shortens, a block."""
        self._conn.executemany(
            "INSERT INTO non_occupancy (radio_id, channel, until) VALUES (?, ?, ?) "
            "ON CONFLICT(radio_id, channel) DO UPDATE SET until = max(until, excluded.until)",
            [(radio_id, c, until) for c in channels],
        )

    def blocked(self, radio_id: str, now: float) -> dict[int, float]:
        """Channel -> end of its non-occupancy period, for the channels still blocked at ``now``."""
        rows = self._conn.execute(
            "SELECT channel, until FROM non_occupancy WHERE radio_id = ? AND until > ?", (radio_id, now)
        ).fetchall()
        return {int(c): float(u) for c, u in rows}

    def all_blocked(self, now: float) -> dict[str, dict[int, float]]:
        """Radio -> channel -> end of its non-occupancy period, for every block still running at ``now``."""
        out: dict[str, dict[int, float]] = {}
        for radio_id, channel, until in self._conn.execute(
            "SELECT radio_id, channel, until FROM non_occupancy WHERE until > ?", (now,)
        ):
            out.setdefault(str(radio_id), {})[int(channel)] = float(until)
        return out
