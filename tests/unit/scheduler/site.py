"""A two-AP site on virtual time for the scheduler's tests: its snapshot, readings and graph as data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from controller.fast_loop.channel_evidence import ChannelEvidence
from controller.fast_loop.optimizer import Keep, Proposal
from controller.fast_loop.planner import ChangePlanner, PlannerSettings, RadioReading, config_change
from controller.fast_loop.telemetry import LoopTelemetry, RadioSnapshot
from controller.guardrails import NetworkSnapshot, PastChange, RadioView
from controller.site_policy import SitePolicy
from controller.slow_loop.interference_graph import InterferenceGraph, build_graph
from drivers.protocol import ClientObservation, NeighborObservation, RadioInfo, RadioState
from drivers.sim.sim_radio import radio_capabilities
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
RADIOS = ("ap-1/5g", "ap-2/5g")
CONFIGS = {"ap-1/5g": RadioConfig(36, 80, 20.0, -82), "ap-2/5g": RadioConfig(36, 80, 20.0, -82)}


def telemetry(qoe: float = 0.8) -> LoopTelemetry:
    return LoopTelemetry(-50.0, -40.0, -60.0, 40.0, 0.0, 0.0, 0.2, 0.2, 5, qoe)


@dataclass
class ScriptedOptimiser:
    """The fast loop's optimiser interface, proposing ``target`` with ``gain`` whenever asked."""

    target: RadioConfig
    gain: float = 0.05
    asked: list[float] = field(default_factory=list)
    applied_at: list[float] = field(default_factory=list)
    rolled_back_from: list[RadioConfig] = field(default_factory=list)

    def observe(
        self, config: RadioConfig, load: float, reward: float, now_s: float, evidence: ChannelEvidence | None = None
    ) -> None:
        return None

    def decide(self, snapshot: RadioSnapshot) -> Proposal | Keep:
        self.asked.append(snapshot.now_s)
        if snapshot.config == self.target:
            return Keep(snapshot.radio_id, "no_confident_gain", "already there")
        return Proposal(
            radio_id=snapshot.radio_id,
            kind="improve",
            baseline=snapshot.config,
            target=self.target,
            change=config_change(snapshot.config, self.target),
            load=0.25,
            measured_reward=0.8,
            current_mean=0.8,
            predicted_mean=0.8 + self.gain,
            predicted_std=0.01,
            predicted_lcb=0.8,
            predicted_gain=self.gain,
            gain_confidence=0.9,
            expected_improvement=self.gain,
            trust_radius=1,
            observations=5,
            candidates_scored=10,
        )

    def applied(self, proposal: Proposal, now_s: float) -> None:
        self.applied_at.append(now_s)

    def rolled_back(self, target: RadioConfig, now_s: float) -> None:
        self.rolled_back_from.append(target)

    def changed_recently(self, now_s: float, within_s: float = 600.0) -> bool:
        return bool(self.applied_at) and now_s - self.applied_at[-1] < within_s


def planner(
    targets: Mapping[str, RadioConfig], gain: float = 0.05
) -> tuple[ChangePlanner, dict[str, ScriptedOptimiser]]:
    fast = ChangePlanner(Region.FCC, PlannerSettings(observation_s=120.0), start_s=T0)
    optimisers = {r: ScriptedOptimiser(t, gain) for r, t in targets.items()}
    for radio_id, optimiser in optimisers.items():
        fast.add_radio(radio_id, optimiser)
    return fast, optimisers


def _info(radio_id: str) -> RadioInfo:
    return RadioInfo(radio_id, radio_id.split("/", maxsplit=1)[0], Band.G5, radio_capabilities(Region.FCC, Band.G5))


def _state(radio_id: str, config: RadioConfig, now: float) -> RadioState:
    other = next(r for r in RADIOS if r != radio_id)
    heard = (NeighborObservation(other, True, 36, 80, -60.0),)
    clients = tuple(ClientObservation(f"c{i}", -55.0, 35.0, 400.0, 20.0, 0.05) for i in range(5))
    return RadioState(radio_id, now, config, -95.0, 0.4, 0.2, 0.2, 0.05, 0.01, clients, heard)


@dataclass
class SiteSources:
    """The scheduler's ``TickSources`` for the two-AP site, as it stands at ``now``."""

    now: float
    configs: dict[str, RadioConfig] = field(default_factory=lambda: dict(CONFIGS))
    changes: tuple[PastChange, ...] = ()
    qoe: float = 0.8
    radio_qoes: dict[str, float] | None = None  # None: every radio at ``qoe``
    policy: SitePolicy = field(default_factory=SitePolicy)
    graphs_built: int = 0

    def network(self) -> NetworkSnapshot:
        caps = radio_capabilities(Region.FCC, Band.G5)
        views = {
            r: RadioView(r, r.split("/", maxsplit=1)[0], Band.G5, caps, self.configs[r], frozenset()) for r in RADIOS
        }
        return NetworkSnapshot(self.now, Region.FCC, views, self.changes)

    def site(self) -> SitePolicy:
        return self.policy

    def graph(self) -> InterferenceGraph:
        self.graphs_built += 1
        states = {r: _state(r, self.configs[r], self.now) for r in RADIOS}
        return build_graph(Region.FCC, [_info(r) for r in RADIOS], states)

    def readings(self, radio_ids: Sequence[str]) -> Mapping[str, RadioReading]:
        return {r: RadioReading(r, self.configs[r], telemetry(self.qoe)) for r in radio_ids}

    def network_qoe(self) -> float | None:
        return self.qoe

    def radio_qoe(self, since: float) -> Mapping[str, float]:
        return dict(self.radio_qoes) if self.radio_qoes is not None else dict.fromkeys(RADIOS, self.qoe)
