"""The change planner: guardrails, observation window, keep or roll back, the audit record."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from controller.fast_loop.channel_evidence import ChannelEvidence
from controller.fast_loop.exploration import SafetySettings
from controller.fast_loop.intents import AwaitApproval, KeepChange, KeepConfig, ObservedReward, RollBack, SendChange
from controller.fast_loop.optimizer import FastLoopOptimizer, Keep, OptimizerSettings, Proposal
from controller.fast_loop.planner import ChangePlanner, PlannerSettings, RadioReading, config_change
from controller.fast_loop.telemetry import LoopTelemetry, RadioSnapshot
from controller.guardrails import NetworkSnapshot, RadioView
from controller.site_policy import DEFAULT_ZONES, ApPolicy, SitePolicy
from drivers.sim.sim_radio import radio_capabilities
from radio_domain.radio import Band, ConfigChange, RadioConfig
from radio_domain.regulatory import Region

RADIO = "ap-1/5g"
T0 = 1_000_000.0
BASELINE = RadioConfig(36, 80, 20.0, -82)
TARGET = RadioConfig(36, 80, 17.0, -82)


def telemetry(qoe: float) -> LoopTelemetry:
    return LoopTelemetry(
        rssi_p50=-50.0,
        rssi_p95=-40.0,
        rssi_p5=-60.0,
        snr_p95=40.0,
        per_p95=0.0,
        retry_rate_p95=0.0,
        airtime_util_p50=0.2,
        cca_busy_p50=0.2,
        station_count=5,
        qoe_mean=qoe,
    )


def proposal(snapshot: RadioSnapshot, target: RadioConfig, kind: str = "improve") -> Proposal:
    return Proposal(
        radio_id=snapshot.radio_id,
        kind=kind,
        baseline=snapshot.config,
        target=target,
        change=config_change(snapshot.config, target),
        load=0.25,
        measured_reward=float(snapshot.telemetry.qoe_mean or 0.0),
        current_mean=0.80,
        predicted_mean=0.85,
        predicted_std=0.02,
        predicted_lcb=0.81,
        predicted_gain=0.05,
        gain_confidence=0.9,
        expected_improvement=0.03,
        trust_radius=1,
        observations=5,
        candidates_scored=10,
        gain_std=0.02,
    )


@dataclass
class ScriptedOptimiser:
    """Proposes ``target`` once from the baseline config; records what it is told."""

    target: RadioConfig = TARGET
    kind: str = "improve"
    told: list[tuple[RadioConfig, float]] = field(default_factory=list)
    applied_at: list[float] = field(default_factory=list)
    rolled_back_from: list[RadioConfig] = field(default_factory=list)

    def observe(
        self, config: RadioConfig, load: float, reward: float, now_s: float, evidence: ChannelEvidence | None = None
    ) -> None:
        self.told.append((config, reward))

    def decide(self, snapshot: RadioSnapshot) -> Proposal | Keep:
        if self.applied_at or snapshot.config != BASELINE:
            return Keep(snapshot.radio_id, "no_confident_gain", "nothing better")
        return proposal(snapshot, self.target, self.kind)

    def applied(self, proposal: Proposal, now_s: float) -> None:
        self.applied_at.append(now_s)

    def rolled_back(self, target: RadioConfig, now_s: float) -> None:
        self.rolled_back_from.append(target)

    def changed_recently(self, now_s: float, within_s: float = 600.0) -> bool:
        return bool(self.applied_at) and now_s - self.applied_at[-1] < within_s


def network(config: RadioConfig, now: float) -> NetworkSnapshot:
    view = RadioView(RADIO, "ap-1", Band.G5, radio_capabilities(Region.FCC, Band.G5), config)
    return NetworkSnapshot(now, Region.FCC, {RADIO: view})


def planner_with(optimiser: ScriptedOptimiser) -> ChangePlanner:
    planner = ChangePlanner(Region.FCC, PlannerSettings(observation_s=120.0, rollback_margin=0.02), start_s=T0)
    planner.add_radio(RADIO, optimiser)
    return planner


def iterate(
    planner: ChangePlanner, now: float, config: RadioConfig, qoe: float | None, site: SitePolicy | None = None
) -> list[object]:
    reading = RadioReading(RADIO, config, None if qoe is None else telemetry(qoe))
    return list(planner.iterate(now, {RADIO: reading}, network(config, now), site or SitePolicy()))


def only(intents: list[object], kind: type) -> object:
    found = [i for i in intents if isinstance(i, kind)]
    assert len(found) == 1, f"expected one {kind.__name__} in {intents}"
    return found[0]


def send_first_change(planner: ChangePlanner) -> SendChange:
    intents = iterate(planner, T0, BASELINE, 0.80)
    sent = only(intents, SendChange)
    assert isinstance(sent, SendChange)
    return sent


def test_allowed_proposal_becomes_a_command_and_the_window_restarts() -> None:
    """An allowed proposal is sent, the optimiser told it was applied, the window starts at the change."""
    optimiser = ScriptedOptimiser()
    planner = planner_with(optimiser)
    sent = send_first_change(planner)
    assert sent.change == ConfigChange(tx_power_dbm=17.0)
    assert sent.target == TARGET
    assert optimiser.applied_at == [T0]
    assert optimiser.told == [(BASELINE, 0.80)]
    assert planner.watching(RADIO)
    assert planner.window_start(RADIO) == T0


def test_change_is_not_judged_before_the_observation_window() -> None:
    """Before observation_s the planner only watches: nothing is told, nothing rolled back."""
    optimiser = ScriptedOptimiser()
    planner = planner_with(optimiser)
    send_first_change(planner)
    assert planner.due(T0 + 60.0) == []
    intents = iterate(planner, T0 + 119.0, TARGET, 0.50)
    assert intents == []  # not due yet
    assert optimiser.told == [(BASELINE, 0.80)]


def test_planner_rolls_back_a_change_whose_observed_reward_is_worse() -> None:
    """Observed reward worse than before by more than the margin: roll back and tell the model."""
    optimiser = ScriptedOptimiser()
    planner = planner_with(optimiser)
    send_first_change(planner)
    intents = iterate(planner, T0 + 120.0, TARGET, 0.70)
    back = only(intents, RollBack)
    assert isinstance(back, RollBack)
    assert back.change.apply_to(TARGET) == BASELINE
    assert back.record.code == "rolled_back"
    assert back.record.baseline_reward == pytest.approx(0.80)
    assert back.record.observed_reward == pytest.approx(0.70)
    assert back.record.observed_effect == pytest.approx(-0.10)
    assert back.record.predicted_effect == pytest.approx(0.05)
    assert back.record.prediction_error == pytest.approx(0.15 / 0.70)
    told_config, told_reward = optimiser.told[-1]
    assert told_config == TARGET and told_reward == pytest.approx(0.70)  # the bad reward is learned
    assert optimiser.rolled_back_from == [TARGET]  # told, so it can hold the target off
    told = only(intents, ObservedReward)
    assert isinstance(told, ObservedReward) and told.config == TARGET
    assert not planner.watching(RADIO)
    assert planner.records == [back.record]


def test_planner_keeps_a_change_that_did_not_lose_more_than_the_margin() -> None:
    """A change observed at least as good (within the margin) is kept and audited."""
    optimiser = ScriptedOptimiser()
    planner = planner_with(optimiser)
    send_first_change(planner)
    intents = iterate(planner, T0 + 130.0, TARGET, 0.79)
    kept = only(intents, KeepChange)
    assert isinstance(kept, KeepChange)
    assert kept.record.code == "kept"
    assert kept.record.prediction_error == pytest.approx(abs(0.85 - 0.79) / 0.79)
    assert not any(isinstance(i, RollBack) for i in intents)


def test_guardrail_refusal_keeps_the_config_and_names_the_rule() -> None:
    """A pinned parameter: the guardrails refuse, nothing is sent, the optimiser spends no budget."""
    optimiser = ScriptedOptimiser()
    planner = planner_with(optimiser)
    site = SitePolicy(default=ApPolicy(pins={"tx_power_dbm": None}))
    intents = iterate(planner, T0, BASELINE, 0.80, site)
    keep = only(intents, KeepConfig)
    assert isinstance(keep, KeepConfig)
    assert keep.code == "guardrails"
    assert "pin" in keep.reason
    assert optimiser.applied_at == []
    assert not planner.watching(RADIO)


def test_exploratory_proposal_passes_hysteresis_on_its_optimistic_gain() -> None:
    """An exploration predicting a small mean gain is judged on gain + beta * sd by the hysteresis rule."""
    optimiser = ScriptedOptimiser(kind="explore")
    planner = planner_with(optimiser)
    sent = send_first_change(planner)
    assert sent.kind == "explore"
    assert sent.predicted_gain == pytest.approx(0.05 + 2.0 * 0.02)


def test_change_needing_approval_waits_for_the_operator() -> None:
    """A safe zone that requires approval: AwaitApproval, then sent once approved."""
    optimiser = ScriptedOptimiser()
    planner = planner_with(optimiser)
    zones = dict(DEFAULT_ZONES)
    zones["tx_power_dbm"] = replace(zones["tx_power_dbm"], requires_approval=True)
    site = SitePolicy(default=ApPolicy(zones=zones))
    intents = iterate(planner, T0, BASELINE, 0.80, site)
    waiting = only(intents, AwaitApproval)
    assert isinstance(waiting, AwaitApproval)
    assert optimiser.applied_at == []
    sent = planner.approve(waiting.change_id, BASELINE, T0 + 30.0)
    assert isinstance(sent, SendChange)
    assert optimiser.applied_at == [T0 + 30.0]
    assert planner.watching(RADIO)


def test_failed_send_stops_the_watch() -> None:
    """A change the shim could not apply is recorded as not applied and no longer watched."""
    planner = planner_with(ScriptedOptimiser())
    sent = send_first_change(planner)
    record = planner.send_failed(sent.change_id, T0 + 1.0)
    assert record is not None and record.code == "not_applied"
    assert not planner.watching(RADIO)


def test_radio_without_clients_is_kept() -> None:
    """No client in the window: nothing to optimise, nothing told."""
    optimiser = ScriptedOptimiser()
    planner = planner_with(optimiser)
    keep = only(iterate(planner, T0, BASELINE, None), KeepConfig)
    assert isinstance(keep, KeepConfig) and keep.code == "no_clients"
    assert optimiser.told == []


def test_real_optimiser_learns_the_bad_reward_and_shrinks_trust_after_a_rollback() -> None:
    """With FastLoopOptimizer: an exploration that loses is rolled back and counted as a failure."""
    # A wider safety margin than the default: a cold model's default margin now admits almost no
    # move on a flat reward, and what is tested here is the rollback, not the safety rule.
    wide = OptimizerSettings(safety=SafetySettings(margin=0.1))
    optimiser = FastLoopOptimizer(RADIO, Region.FCC, Band.G5, seed=3, settings=wide)
    planner = ChangePlanner(Region.FCC, PlannerSettings(observation_s=120.0), start_s=T0)
    planner.add_radio(RADIO, optimiser)
    now, sent = T0, None
    for _ in range(10):
        now = min(planner.next_due(RADIO), now + 3600.0)
        sent = next((i for i in iterate(planner, now, BASELINE, 0.80) if isinstance(i, SendChange)), None)
        if sent is not None:
            break
    assert isinstance(sent, SendChange), "the optimiser never proposed a change on a flat reward"
    target = sent.change.apply_to(BASELINE)
    radius = optimiser.state.radius
    now = planner.next_due(RADIO)
    back = only(iterate(planner, now, target, 0.60), RollBack)
    assert isinstance(back, RollBack) and back.change.apply_to(target) == BASELINE
    outcome = optimiser.last_outcome
    assert outcome is not None and not outcome.helped
    assert outcome.observed_reward == pytest.approx(0.60)
    assert optimiser.state.failures == 1
    assert optimiser.state.radius == max(1, radius - 1)
    assert optimiser.observations[-1].config == target  # the bad reward is in the model's window
    (held,) = optimiser.state.held_off  # the planner told it, so it is not proposed again for a day
    assert held.config_key == (target.channel, target.width_mhz, target.tx_power_dbm, target.obss_pd_dbm)
