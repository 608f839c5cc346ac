"""What a scheduler tick reads, taken from a SimWorld: the evaluations' ``TickSources``.

The same views the fast-loop evaluation uses (rrm/evaluation/fast_loop_world.py: the
controller's telemetry aggregation, the guardrails' snapshot with a ledger of applied changes)
and the graph the slow-loop evaluation builds (rrm/evaluation/world_graph.py), frozen at
one moment: a ``WorldSources`` is made for one tick and reads the world only when a step asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from controller.fast_loop.candidates import SafeValues
from controller.fast_loop.planner import RadioReading
from controller.guardrails import NetworkSnapshot
from controller.site_policy import SitePolicy
from controller.slow_loop.interference_graph import InterferenceGraph
from drivers.sim.world import SimWorld
from radio_domain.radio import split_radio_id
from rrm.evaluation.fast_loop_world import ChangeLedger, WorldTelemetry, network_snapshot
from rrm.evaluation.world_graph import NonWifiMemory, RadarHistory, observe_graph
from rrm.evaluation.world_quality import QoeHistory


class WindowStarts(Protocol):
    """Where each radio's telemetry window starts (the fast loop's planner says)."""

    def window_start(self, radio_id: str) -> float: ...


@dataclass(slots=True)
class WorldSources:
    world: SimWorld
    telemetry: WorldTelemetry
    ledger: ChangeLedger
    radar: RadarHistory
    policy: SitePolicy
    windows: WindowStarts | None = None
    qoe: float | None = None  # the caller's network QoE over a recent window; None: the world's now
    non_wifi: NonWifiMemory | None = None  # the sources the radios reported, kept across ticks by the caller
    quality: QoeHistory = field(default_factory=QoeHistory)  # the radios' client QoE, kept by the caller

    def network(self) -> NetworkSnapshot:
        return network_snapshot(self.world, self.telemetry, self.ledger)

    def site(self) -> SitePolicy:
        return self.policy

    def graph(self) -> InterferenceGraph:
        return observe_graph(self.world, self.radar, self.non_wifi)

    def readings(self, radio_ids: Sequence[str]) -> Mapping[str, RadioReading]:
        found = {}
        for radio_id in radio_ids:
            config = self.world.config(radio_id)
            zones = self.policy.for_ap(split_radio_id(radio_id)[0])
            safe = SafeValues.from_zones(zones.zones, zones.pins, config)
            since = self.windows.window_start(radio_id) if self.windows is not None else self.world.timestamp
            found[radio_id] = RadioReading(radio_id, config, self.telemetry.window(radio_id, since), safe)
        return found

    def network_qoe(self) -> float | None:
        return self.qoe if self.qoe is not None else self.world.network_qoe()

    def radio_qoe(self, since: float) -> Mapping[str, float]:
        return self.quality.radio_qoe(since)
