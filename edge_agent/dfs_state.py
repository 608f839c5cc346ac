"""What the agent remembers about DFS per radio: non-occupancy, CAC clearance, radar history.

Kept on the agent's disk (write-through, read once at start), so an agent restart forgets
neither a radar hit nor a finished CAC (issue "edge event loop" point 2, invariant 1):
- non-occupancy: the channels a radar hit blocks, for at least 30 minutes (NonOccupancyTimers);
- clearance: the DFS channels a completed CAC has cleared; the radio may go there without a new
  CAC until radar hits them (hostapd's DFS_AVAILABLE state);
- radar history: when radar hit each channel, so that a channel with frequent (even false)
  radar becomes less attractive to the emergency selector. The history is bounded in age.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from edge_agent.non_occupancy import NonOccupancyTimers

RADAR_HISTORY_S = 7 * 24 * 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dfs_cleared (
    radio_id TEXT NOT NULL,
    channel INTEGER NOT NULL,
    cleared_at REAL NOT NULL,
    PRIMARY KEY (radio_id, channel)
);
CREATE TABLE IF NOT EXISTS radar_hits (
    radio_id TEXT NOT NULL,
    channel INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS radar_hits_at ON radar_hits (at);
"""


class DfsState:
    def __init__(self, conn: sqlite3.Connection, now: float) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)
        self._timers = NonOccupancyTimers(conn)
        self._nop = self._timers.all_blocked(now)
        self._cleared: dict[str, set[int]] = {}
        for radio_id, channel in conn.execute("SELECT radio_id, channel FROM dfs_cleared"):
            self._cleared.setdefault(str(radio_id), set()).add(int(channel))
        self._hits: dict[str, list[tuple[int, float]]] = {}
        conn.execute("DELETE FROM radar_hits WHERE at < ?", (now - RADAR_HISTORY_S,))
        for radio_id, channel, at in conn.execute("SELECT radio_id, channel, at FROM radar_hits ORDER BY at"):
            self._hits.setdefault(str(radio_id), []).append((int(channel), float(at)))

    def record_radar(self, radio_id: str, channels: Iterable[int], at: float, until: float) -> None:
        """Radar on ``channels`` at ``at``: blocked until ``until`` (never shortened), clearance lost."""
        group = sorted(set(channels))
        self._timers.block(radio_id, group, until)
        blocked = self._nop.setdefault(radio_id, {})
        for channel in group:
            blocked[channel] = max(blocked.get(channel, 0.0), until)
        self._cleared.get(radio_id, set()).difference_update(group)
        self._conn.executemany(
            "DELETE FROM dfs_cleared WHERE radio_id = ? AND channel = ?", [(radio_id, c) for c in group]
        )
        self._conn.executemany(
            "INSERT INTO radar_hits (radio_id, channel, at) VALUES (?, ?, ?)", [(radio_id, c, at) for c in group]
        )
        history = self._hits.setdefault(radio_id, [])
        history.extend((c, at) for c in group)
        while history and history[0][1] < at - RADAR_HISTORY_S:
            history.pop(0)

    def record_cac_completed(self, radio_id: str, channels: Iterable[int], at: float) -> None:
        """A CAC ran its course on ``channels``: they may be used without another until radar."""
        group = sorted(set(channels))
        self._cleared.setdefault(radio_id, set()).update(group)
        self._conn.executemany(
            "INSERT OR REPLACE INTO dfs_cleared (radio_id, channel, cleared_at) VALUES (?, ?, ?)",
            [(radio_id, c, at) for c in group],
        )

    def blocked(self, radio_id: str, now: float) -> Mapping[int, float]:
        """Channel -> end of its non-occupancy period, for the radio's channels still blocked at ``now``."""
        blocked = self._nop.get(radio_id)
        if not blocked:
            return {}
        expired = [c for c, until in blocked.items() if until <= now]
        for channel in expired:
            del blocked[channel]
        return dict(blocked)

    def cleared(self, radio_id: str) -> frozenset[int]:
        return frozenset(self._cleared.get(radio_id, ()))

    def radar_hits(self, radio_id: str, since: float) -> dict[int, int]:
        """Channel -> radar hits at or after ``since``."""
        counts: dict[int, int] = {}
        for channel, at in self._hits.get(radio_id, ()):
            if at >= since:
                counts[channel] = counts.get(channel, 0) + 1
        return counts
