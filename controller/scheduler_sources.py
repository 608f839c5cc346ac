"""What a scheduler tick reads in the controller process: the network view, its graph, the QoE.

One ``ControllerSources`` per tick, at the tick's time: the frozen snapshot (read once), the
site policy in force, the slow loop's interference graph (network_graph.py, built only when the
slow loop plans), each radio's worst hour of client QoE since a given time (from ingest.db; the
slow loop's quality gate, read only when the window plans or an operator's dry run asks) and the network QoE over the
telemetry window: the mean client QoE of every radio's window, weighted by its stations (None
before any client was seen). The fast loop in the
controller reads its own telemetry (controller/fast_loop/service.py), so ``readings`` is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.client_columns import unpack_f32
from controller.guardrails import NetworkSnapshot
from controller.network_graph import network_graph
from controller.network_view import NetworkView
from controller.site_policy import SitePolicy
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.quality_gate import QoeReading, worst_hour_qoe
from controller.telemetry_window import TelemetryWindows
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import ms

if TYPE_CHECKING:
    from controller.fast_loop.planner import RadioReading


@dataclass
class ControllerSources:
    now: float
    view: NetworkView
    telemetry: TelemetryWindows | None
    policy: Callable[[], SitePolicy]
    hellos: Callable[[], Mapping[str, pb.Hello]]
    _network: NetworkSnapshot | None = field(default=None, init=False)

    def network(self) -> NetworkSnapshot:
        if self._network is None:
            self._network = self.view.snapshot(self.now)
        return self._network

    def site(self) -> SitePolicy:
        return self.policy()

    def graph(self) -> InterferenceGraph:
        return network_graph(self.view, self.hellos(), self.now)

    def readings(self, radio_ids: Sequence[str]) -> Mapping[str, RadioReading]:
        return {}

    def network_qoe(self) -> float | None:
        if self.telemetry is None:
            return None
        weighted = stations = 0.0
        for radio_id in sorted(self.network().radios):
            agg = self.telemetry.aggregate(radio_id, ms(self.now))
            if agg is None or agg.qoe_mean is None or agg.station_count <= 0:
                continue
            weighted += agg.qoe_mean * agg.station_count
            stations += agg.station_count
        return weighted / stations if stations else None

    def radio_qoe(self, since: float) -> Mapping[str, float]:
        """Each radio's worst hour of client QoE since ``since``, from the agents' samples in ingest.db."""
        readings = [
            QoeReading(sample.radio_id, sample.timestamp_ms / 1000.0, float(qoe.sum()), int(qoe.size))
            for agent_id in sorted(self.hellos())
            for sample in self.view.samples(agent_id, since, self.now)
            for qoe in [unpack_f32(sample.client_readings.qoe)]
        ]
        return worst_hour_qoe(readings)
