"""The slow-loop evaluation's view of a SimWorld: the interference graph and the guardrails' snapshot.

What the controller would know: every radio's state (config, load, clients, neighbour scan),
its non-occupancy timers and CAC-cleared channels, the radar it reported over the last
``RADAR_MEMORY_S`` (from the world's DFS_RADAR events) and the non-Wi-Fi sources it reported
(NON_WIFI_BURST events, kept by ``NonWifiMemory``). The snapshot's neighbour sets come from
the same graph at the guardrails' neighbour level, so the staging and the guardrails agree on who
neighbours whom. Applied changes and rollbacks go into fast_loop_world's ``ChangeLedger``, so the
guardrails' cooldowns, rate limits and hold-downs see them.
"""

from __future__ import annotations

from collections.abc import Iterable

from controller.guardrails import NetworkSnapshot, RadioView
from controller.slow_loop.interference_graph import InterferenceGraph
from drivers.protocol import DriverEvent
from drivers.sim.world import SimWorld
from radio_domain.events import EventType
from rrm.evaluation.fast_loop_world import ChangeLedger
from rrm.evaluation.world_graph import NonWifiMemory, graph_of_world

RADAR_MEMORY_S = 24 * 3600.0


class RadarHistory:
    """The 20 MHz channels each radio saw radar on, with when."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[int, float]] = {}

    def add(self, events: Iterable[DriverEvent]) -> None:
        for event in events:
            if event.type is not EventType.DFS_RADAR:
                continue
            channels = event.metadata.get("nop_channels", str(event.channel))
            for text in channels.split(","):
                if text.strip():
                    self._seen.setdefault(event.radio_id, {})[int(text)] = event.timestamp

    def recent(self, now: float, memory_s: float = RADAR_MEMORY_S) -> dict[str, frozenset[int]]:
        return {
            radio: frozenset(c for c, at in seen.items() if now - at < memory_s) for radio, seen in self._seen.items()
        }


def world_graph(world: SimWorld, radar: RadarHistory, non_wifi: NonWifiMemory | None = None) -> InterferenceGraph:
    """The interference graph of the world as of its last step, radar remembered for ``RADAR_MEMORY_S``."""
    sightings = non_wifi.sightings if non_wifi is not None else ()
    return graph_of_world(world, radar.recent(world.timestamp), sightings)


def world_snapshot(
    world: SimWorld, graph: InterferenceGraph, ledger: ChangeLedger, neighbour_rssi_dbm: float
) -> NetworkSnapshot:
    """The guardrails' frozen view of the world now (configs as they are now, neighbours from ``graph``)."""
    now = world.timestamp
    views = {
        info.radio_id: RadioView(
            info.radio_id,
            info.ap_id,
            info.band,
            info.capabilities,
            world.config(info.radio_id),
            graph.neighbour_aps(info.radio_id, neighbour_rssi_dbm) if info.radio_id in graph.nodes else frozenset(),
        )
        for info in world.radios()
    }
    changes, rollbacks = ledger.recent(now)
    blocked = {r: world.non_occupancy(r) for r in views}
    return NetworkSnapshot(now, world.region, views, changes, rollbacks, {r: n for r, n in blocked.items() if n})
