"""The fast-loop evaluation's view of a SimWorld: telemetry windows, the guardrails' snapshot, a ledger.

The controller reads agents' samples through ``TelemetryWindows``; here each radio's
``RadioState`` is turned into the same wire sample (``edge_agent.telemetry.TelemetrySampler``)
and the same ``CompactSample``, and a window is aggregated by the controller's own
``controller.telemetry_window.aggregate``: one aggregation, the controller's.

``ChangeLedger`` is what the controller learns from action reports (applied changes and
rollbacks, per parameter), so the guardrails' cooldowns, rate limits and hold-downs see the
changes the loop made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.fast_loop.telemetry import LoopTelemetry
from controller.guardrails import NetworkSnapshot, PastChange, PastRollback, RadioView
from controller.telemetry_window import CompactSample, aggregate
from drivers.sim.world import SimWorld
from edge_agent.telemetry import TelemetrySampler
from radio_domain.identifiers import IdentifierHasher
from radio_domain.radio import RadioConfig, split_radio_id
from rrm.v1 import agent_link_pb2 as pb

PARAMETERS = ("channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm")
NEIGHBOUR_RSSI_DBM = -75.0  # ChangeLimits.neighbour_rssi_dbm
_HASH_KEY = b"fast-loop-eval-key!"


class WorldTelemetry:
    """Every radio's samples, one per world step, kept from the oldest window still needed."""

    def __init__(self, world: SimWorld) -> None:
        self._world = world
        self._sampler = TelemetrySampler(IdentifierHasher(_HASH_KEY))
        self._samples: dict[str, list[CompactSample]] = {r: [] for r in world.radio_ids()}
        self._neighbours: dict[str, frozenset[str]] = {r: frozenset() for r in world.radio_ids()}
        self.latest: dict[str, pb.RadioSample] = {}  # the newest wire sample of each radio

    def record(self) -> None:
        """Sample every radio as of the world's last step."""
        for radio_id, samples in self._samples.items():
            state = self._world.radio_state(radio_id)
            sample = self._sampler.sample(state)
            self.latest[radio_id] = sample
            samples.append(CompactSample.from_pb(sample))
            self._neighbours[radio_id] = frozenset(
                split_radio_id(n.neighbor_id)[0]
                for n in state.neighbors
                if n.managed and n.rssi_dbm >= NEIGHBOUR_RSSI_DBM
            )

    def window(self, radio_id: str, since_s: float) -> LoopTelemetry | None:
        """The radio's figures over the samples after ``since_s`` (a timestamp); older ones are dropped."""
        since_ms = int(since_s * 1000)
        samples = [s for s in self._samples[radio_id] if s.ts_ms > since_ms]
        self._samples[radio_id] = samples
        agg = aggregate(radio_id, samples)
        return None if agg is None else LoopTelemetry.from_aggregate(agg)

    def neighbours(self, radio_id: str) -> frozenset[str]:
        return self._neighbours[radio_id]


@dataclass(slots=True)
class ChangeLedger:
    """Applied changes and rollbacks, as the controller's network view derives them."""

    changes: list[PastChange] = field(default_factory=list)
    rollbacks: list[PastRollback] = field(default_factory=list)

    def record(self, radio_id: str, change_id: str, before: RadioConfig, after: RadioConfig, at: float) -> None:
        ap_id = split_radio_id(radio_id)[0]
        for parameter in PARAMETERS:
            if getattr(before, parameter) != getattr(after, parameter):
                self.changes.append(PastChange(radio_id, ap_id, parameter, at, change_id))

    def rollback(self, radio_id: str, at: float) -> None:
        self.rollbacks.append(PastRollback(radio_id, at))

    def recent(self, now: float, keep_s: float = 86_400.0) -> tuple[tuple[PastChange, ...], tuple[PastRollback, ...]]:
        self.changes = [c for c in self.changes if now - c.at < keep_s]
        self.rollbacks = [r for r in self.rollbacks if now - r.at < keep_s]
        return tuple(self.changes), tuple(self.rollbacks)


def network_snapshot(world: SimWorld, telemetry: WorldTelemetry, ledger: ChangeLedger) -> NetworkSnapshot:
    """What the controller's ``NetworkView.snapshot`` would hold for the world now."""
    now = world.timestamp
    views = {
        info.radio_id: RadioView(
            info.radio_id,
            info.ap_id,
            info.band,
            info.capabilities,
            world.config(info.radio_id),
            telemetry.neighbours(info.radio_id),
        )
        for info in world.radios()
    }
    changes, rollbacks = ledger.recent(now)
    non_occupancy = {r: world.non_occupancy(r) for r in views}
    return NetworkSnapshot(now, world.region, views, changes, rollbacks, {r: n for r, n in non_occupancy.items() if n})
