"""One change at a time in a neighbourhood (controller/fast_loop/settling.py) and the planner's use of it."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from controller.fast_loop.channel_evidence import ChannelEvidence
from controller.fast_loop.optimizer import Keep, Proposal
from controller.fast_loop.planner import (
    ChangePlanner,
    KeepConfig,
    PlannerSettings,
    RadioReading,
    SendChange,
    config_change,
)
from controller.fast_loop.settling import neighbour_radios, unsettled_neighbour
from controller.fast_loop.telemetry import LoopTelemetry, RadioSnapshot
from controller.guardrails import NetworkSnapshot, PastChange, RadioView
from controller.site_policy import SitePolicy
from drivers.sim.sim_radio import radio_capabilities
from radio_domain.radio import RadioConfig, split_radio_id
from radio_domain.regulatory import Region

T0 = 2_000_000.0
CONFIG_5G = RadioConfig(36, 80, 20.0, -82)
CONFIG_2G = RadioConfig(1, 20, 20.0, -82)


def view(radio_id: str, config: RadioConfig, hears: frozenset[str] = frozenset()) -> RadioView:
    ap_id, band = split_radio_id(radio_id)
    return RadioView(radio_id, ap_id, band, radio_capabilities(Region.FCC, band), config, hears)


def site_snapshot(now: float, changes: tuple[PastChange, ...] = ()) -> NetworkSnapshot:
    """ap-1 hears ap-2 (so each is the other's neighbour); ap-3 is out of earshot."""
    radios = {
        "ap-1/5g": view("ap-1/5g", CONFIG_5G, frozenset({"ap-2"})),
        "ap-1/2g": view("ap-1/2g", CONFIG_2G),
        "ap-2/5g": view("ap-2/5g", CONFIG_5G),
        "ap-2/2g": view("ap-2/2g", CONFIG_2G),
        "ap-3/5g": view("ap-3/5g", CONFIG_5G),
    }
    return NetworkSnapshot(now, Region.FCC, radios, changes)


def changed(radio_id: str, at: float, change_id: str = "fast-000001", parameter: str = "channel") -> PastChange:
    return PastChange(radio_id, split_radio_id(radio_id)[0], parameter, at, change_id)


def test_neighbours_are_the_same_band_radios_of_aps_heard_either_way() -> None:
    snapshot = site_snapshot(T0)
    assert neighbour_radios(snapshot, "ap-2/5g") == {"ap-1/5g"}  # ap-1 hears ap-2
    assert neighbour_radios(snapshot, "ap-1/5g") == {"ap-2/5g"}
    assert neighbour_radios(snapshot, "ap-1/2g") == {"ap-2/2g"}
    assert neighbour_radios(snapshot, "ap-3/5g") == frozenset()
    assert neighbour_radios(snapshot, "ap-9/5g") == frozenset()  # unknown radio


def test_a_recent_neighbour_change_makes_the_radio_wait_until_it_settles() -> None:
    snapshot = site_snapshot(T0 + 30.0, (changed("ap-1/5g", T0, "fast-000007"),))
    found = unsettled_neighbour(snapshot, "ap-2/5g", T0 + 30.0, 120.0, {})
    assert found is not None
    assert (found.neighbour_radio_id, found.change_id, found.settles_at_s) == ("ap-1/5g", "fast-000007", T0 + 120.0)
    assert "ap-1/5g" in found.explain(T0 + 30.0) and "90 s" in found.explain(T0 + 30.0)
    assert unsettled_neighbour(snapshot, "ap-2/5g", T0 + 120.0, 120.0, {}) is None  # settled
    assert unsettled_neighbour(snapshot, "ap-2/2g", T0 + 30.0, 120.0, {}) is None  # other band
    assert unsettled_neighbour(snapshot, "ap-3/5g", T0 + 30.0, 120.0, {}) is None  # not a neighbour
    assert unsettled_neighbour(snapshot, "ap-2/5g", T0 + 30.0, 0.0, {}) is None  # rule off
    width = site_snapshot(T0 + 30.0, (changed("ap-1/5g", T0, "fast-000008", "width_mhz"),))
    assert unsettled_neighbour(width, "ap-2/5g", T0 + 30.0, 120.0, {}) is not None
    power = site_snapshot(T0 + 30.0, (changed("ap-1/5g", T0, "fast-000009", "tx_power_dbm"),))
    assert unsettled_neighbour(power, "ap-2/5g", T0 + 30.0, 120.0, {}) is None  # moves no BSS in the spectrum


def test_an_open_watch_counts_until_its_window_closes_and_the_latest_settling_change_is_named() -> None:
    snapshot = site_snapshot(T0 + 100.0, (changed("ap-1/5g", T0, "event-1"),))
    watches = {"ap-1/5g": ("fast-000009", T0 + 300.0)}
    found = unsettled_neighbour(snapshot, "ap-2/5g", T0 + 100.0, 120.0, watches)
    assert found is not None and (found.change_id, found.settles_at_s) == ("fast-000009", T0 + 300.0)
    assert unsettled_neighbour(site_snapshot(T0 + 300.0), "ap-2/5g", T0 + 300.0, 120.0, watches) is None


def telemetry(qoe: float) -> LoopTelemetry:
    return LoopTelemetry(-50.0, -40.0, -60.0, 40.0, 0.0, 0.0, 0.2, 0.2, 5, qoe)


@dataclass
class OneStepOptimiser:
    """Proposes a channel move once (``power=True``: a 3 dB power cut); counts how often it decided."""

    power: bool = False

    decisions: int = 0
    applied_at: list[float] = field(default_factory=list)

    def observe(
        self, config: RadioConfig, load: float, reward: float, now_s: float, evidence: ChannelEvidence | None = None
    ) -> None:
        return None

    def decide(self, snapshot: RadioSnapshot) -> Proposal | Keep:
        self.decisions += 1
        if self.applied_at:
            return Keep(snapshot.radio_id, "no_confident_gain", "nothing better")
        config = snapshot.config
        target = (
            RadioConfig(config.channel, config.width_mhz, 17.0, config.obss_pd_dbm)
            if self.power
            else RadioConfig(40, config.width_mhz, config.tx_power_dbm, config.obss_pd_dbm)
        )
        return Proposal(
            radio_id=snapshot.radio_id,
            kind="improve",
            baseline=snapshot.config,
            target=target,
            change=config_change(snapshot.config, target),
            load=0.25,
            measured_reward=0.8,
            current_mean=0.8,
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

    def applied(self, proposal: Proposal, now_s: float) -> None:
        self.applied_at.append(now_s)

    def rolled_back(self, target: RadioConfig, now_s: float) -> None:
        return None

    def changed_recently(self, now_s: float, within_s: float = 600.0) -> bool:
        return bool(self.applied_at) and now_s - self.applied_at[-1] < within_s


def two_neighbours(settle_s: float, power: bool = False) -> tuple[ChangePlanner, OneStepOptimiser, OneStepOptimiser]:
    planner = ChangePlanner(Region.FCC, PlannerSettings(observation_s=120.0, settle_s=settle_s), start_s=T0)
    first, second = OneStepOptimiser(power), OneStepOptimiser(power)
    planner.add_radio("ap-1/5g", first)
    planner.add_radio("ap-2/5g", second)
    return planner, first, second


def step(
    planner: ChangePlanner, now: float, configs: dict[str, RadioConfig], changes: tuple[PastChange, ...]
) -> list[object]:
    readings = {r: RadioReading(r, c, telemetry(0.8)) for r, c in configs.items()}
    snapshot = site_snapshot(now, changes)
    return list(planner.iterate(now, readings, snapshot, SitePolicy()))


def test_planner_holds_a_neighbour_until_the_first_change_is_judged() -> None:
    planner, _, second = two_neighbours(settle_s=120.0)
    sent = [i for i in step(planner, T0, {"ap-1/5g": CONFIG_5G}, ()) if isinstance(i, SendChange)]
    assert [s.radio_id for s in sent] == ["ap-1/5g"]
    after = {"ap-1/5g": sent[0].target, "ap-2/5g": CONFIG_5G}
    history = (changed("ap-1/5g", T0, sent[0].change_id),)

    waiting = step(planner, T0 + 60.0, after, history)
    held = [i for i in waiting if isinstance(i, KeepConfig) and i.radio_id == "ap-2/5g"]
    assert [k.code for k in held] == ["neighbour_settling"]
    assert sent[0].change_id in held[0].reason and "ap-1/5g" in held[0].reason
    assert second.decisions == 0  # it was not even asked
    assert planner.next_due("ap-2/5g") == T0 + 120.0

    later = step(planner, T0 + 120.0, after, history)  # ap-1's window closes and is judged; ap-2 decides
    assert second.decisions == 1
    assert [i.radio_id for i in later if isinstance(i, SendChange)] == ["ap-2/5g"]


@pytest.mark.parametrize(("settle_s", "power"), [(0.0, False), (120.0, True)])
def test_without_the_rule_or_for_a_power_step_the_neighbour_changes_inside_the_first_window(
    settle_s: float, power: bool
) -> None:
    planner, _, _ = two_neighbours(settle_s, power)
    sent = [i for i in step(planner, T0, {"ap-1/5g": CONFIG_5G}, ()) if isinstance(i, SendChange)]
    after = {"ap-1/5g": sent[0].target, "ap-2/5g": CONFIG_5G}
    parameter = "tx_power_dbm" if power else "channel"
    history = (changed("ap-1/5g", T0, sent[0].change_id, parameter),)
    assert [i.radio_id for i in step(planner, T0 + 60.0, after, history) if isinstance(i, SendChange)] == ["ap-2/5g"]
