"""The interference graph of a simulated site, as the controller would build it from telemetry.

Every radio's ``RadioState`` (configuration, clients, load, neighbour scans) goes through
``build_graph``; DFS facts come from the world's radios: the channels in their non-occupancy
period (with the timestamp it ends), the channels radar has hit since the run began (kept by the
caller in ``RadarHistory``) and the channels a CAC has cleared. The non-Wi-Fi sources the radios
reported come from the world's NON_WIFI_BURST events, the ones every agent forwards to the
controller, kept by the caller in ``NonWifiMemory``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from controller.slow_loop.interference_graph import InterferenceGraph, build_graph
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

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RadarHistory:
    """The 20 MHz channels each radio has seen radar on (a NOP began there)."""

    channels: dict[str, set[int]] = field(default_factory=dict)

    def update(self, world: SimWorld) -> None:
        for radio_id in world.radio_ids():
            hit = world.non_occupancy(radio_id)
            if hit:
                self.channels.setdefault(radio_id, set()).update(hit)

    def frozen(self) -> dict[str, frozenset[int]]:
        return {r: frozenset(c) for r, c in self.channels.items()}


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


def observe_graph(world: SimWorld, radar: RadarHistory, non_wifi: NonWifiMemory | None = None) -> InterferenceGraph:
    """The graph of ``world`` as of its last step (module docstring)."""
    radar.update(world)
    return graph_of_world(world, radar.frozen(), non_wifi.sightings if non_wifi is not None else ())


def graph_of_world(
    world: SimWorld, radar_channels: Mapping[str, frozenset[int]], non_wifi: Iterable[NonWifiSighting] = ()
) -> InterferenceGraph:
    """The graph of ``world`` as of its last step, with the radar history and sightings the caller keeps."""
    ids = world.radio_ids()
    return build_graph(
        world.region,
        world.radios(),
        {r: world.radio_state(r) for r in ids},
        radar_channels=radar_channels,
        non_occupancy={r: world.non_occupancy(r) for r in ids},
        cleared_channels={r: frozenset(world.radio(r).dfs.cleared) for r in ids},
        non_wifi=non_wifi,
    )
