"""The latest policy (safe zones, local limits) the controller sent, per radio, kept on disk."""

from __future__ import annotations

import sqlite3

from edge_agent.change_admission import PARAMETERS, SafeZoneLimit
from rrm.v1 import agent_link_pb2 as pb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS policies (
    scope TEXT PRIMARY KEY,   -- a radio id, or '*' for every radio
    policy BLOB NOT NULL
);
"""
ALL_RADIOS = "*"


class PolicyError(ValueError):
    """A policy update names an unknown parameter or an empty range."""


def _zone_from_pb(zone: pb.SafeZone) -> SafeZoneLimit:
    if zone.parameter not in PARAMETERS:
        raise PolicyError(f"safe zone parameter {zone.parameter!r} is unknown; expected one of {list(PARAMETERS)}")
    if zone.min > zone.max or zone.step < 0:
        raise PolicyError(f"safe zone {zone.parameter}: min {zone.min:g} > max {zone.max:g} or negative step")
    return SafeZoneLimit(zone.parameter, zone.min, zone.max, zone.step, zone.max_changes_per_hour)


class PolicyBook:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)
        self._zones: dict[str, list[SafeZoneLimit]] = {}  # read on every decision: cached until an update

    def update(self, policy: pb.PolicyUpdate) -> None:
        """Validate and store a policy; raises PolicyError and keeps the previous one when invalid."""
        for zone in policy.safe_zones:
            _zone_from_pb(zone)
        scopes = list(policy.radio_ids) or [ALL_RADIOS]
        self._conn.executemany(
            "INSERT OR REPLACE INTO policies (scope, policy) VALUES (?, ?)",
            [(scope, policy.SerializeToString()) for scope in scopes],
        )
        self._zones.clear()

    def _policy(self, radio_id: str) -> pb.PolicyUpdate | None:
        for scope in (radio_id, ALL_RADIOS):
            row = self._conn.execute("SELECT policy FROM policies WHERE scope = ?", (scope,)).fetchone()
            if row:
                return pb.PolicyUpdate.FromString(row[0])
        return None

    def zones_for(self, radio_id: str) -> list[SafeZoneLimit]:
        zones = self._zones.get(radio_id)
        if zones is None:
            policy = self._policy(radio_id)
            zones = self._zones[radio_id] = [_zone_from_pb(z) for z in policy.safe_zones] if policy else []
        return list(zones)
