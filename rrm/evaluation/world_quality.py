"""Each radio's client QoE as a SimWorld steps: what the slow loop's quality gate reads in the evaluations.

``QoeHistory.add(world)`` after every step keeps one reading per radio with clients (the sum of
their QoE and how many there were) for the last 24 h; ``radio_qoe(since)`` is each radio's worst
hour since then (controller/slow_loop/quality_gate.py), as the controller computes it from the
agents' samples.
"""

from __future__ import annotations

from collections import deque

from controller.slow_loop.quality_gate import LOOKBACK_S, QoeReading, worst_hour_qoe
from drivers.sim.world import SimWorld


class QoeHistory:
    def __init__(self) -> None:
        self._readings: deque[QoeReading] = deque()

    def add(self, world: SimWorld) -> None:
        now = world.timestamp
        for radio_id, (qoe_sum, clients) in world.radio_client_qoe().items():
            self._readings.append(QoeReading(radio_id, now, qoe_sum, clients))
        while self._readings and self._readings[0].ts_s < now - LOOKBACK_S:
            self._readings.popleft()

    def radio_qoe(self, since: float) -> dict[str, float]:
        return worst_hour_qoe(r for r in self._readings if r.ts_s > since)
