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

import logging
from collections.abc import Iterable

from controller.guardrails import NetworkSnapshot, RadioView
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.non_wifi_sightings import (
    NonWifiSighting,
    Reading,
    ReportedBurst,
    SightingError,
    sighting_of,
    sightings_in_force,
)
from drivers.protocol import DriverEvent
from drivers.sim.world import SimWorld
from radio_domain.events import EventType
from radio_domain.regulatory import span_mhz
from rrm.evaluation.fast_loop_world import ChangeLedger
from rrm.evaluation.world_graph import graph_of_world

RADAR_MEMORY_S = 24 * 3600.0
log = logging.getLogger(__name__)


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


class NonWifiMemory:
    """The non-Wi-Fi sources the radios reported, kept as non_wifi_sightings.sightings_in_force says.

    ``add`` takes each step's events; ``refresh`` forgets what the reporting radios, checking
    with their latest reading, no longer see, so a forgotten source stays forgotten.
    """

    def __init__(self) -> None:
        self.sightings: tuple[NonWifiSighting, ...] = ()

    def add(self, world: SimWorld, events: Iterable[DriverEvent]) -> None:
        found = list(self.sightings)
        for event in events:
            if event.type is not EventType.NON_WIFI_BURST or event.config is None:
                continue
            band = world.radio(event.radio_id).band
            burst = ReportedBurst(
                event.radio_id, band, event.config.channel, event.config.width_mhz, event.timestamp, event.metadata
            )
            try:
                found.append(sighting_of(world.region, burst))
            except SightingError as exc:
                log.warning("non-Wi-Fi event not counted: %s", exc)
        self.sightings = tuple(found)

    def refresh(self, world: SimWorld) -> None:
        if not self.sightings:
            return
        readings = []
        for radio_id in sorted({s.radio_id for s in self.sightings}):
            radio = world.radio(radio_id)
            config = world.config(radio_id)
            if radio.failed or not config.enabled:
                continue  # a radio that is down cannot check
            span = span_mhz(world.region, radio.band, config.channel, config.width_mhz)
            readings.append(Reading(radio_id, world.timestamp, span, world.radio_state(radio_id).non_wifi_duty))
        self.sightings = sightings_in_force(self.sightings, readings, world.timestamp)


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
