"""The interference graph of a simulated site, as the controller would build it from telemetry.

Every radio's ``RadioState`` (configuration, clients, load, neighbour scans) goes through
``build_graph``; DFS facts come from the world's radios: the channels in their non-occupancy
period (with the timestamp it ends), the channels radar has hit since the run began (kept by the
caller in ``RadarHistory``) and the channels a CAC has cleared.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from controller.slow_loop.interference_graph import InterferenceGraph, build_graph
from controller.slow_loop.non_wifi_sightings import NonWifiSighting
from drivers.sim.world import SimWorld


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


def observe_graph(world: SimWorld, radar: RadarHistory) -> InterferenceGraph:
    """The graph of ``world`` as of its last step (module docstring)."""
    radar.update(world)
    return graph_of_world(world, radar.frozen())


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
