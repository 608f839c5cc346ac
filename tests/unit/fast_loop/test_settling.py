"""One change at a time in a neighbourhood (controller/fast_loop/settling.py) and the planner's use of it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from controller.fast_loop.intents import KeepConfig, SendChange
from controller.fast_loop.optimizer import Keep, Proposal
from controller.fast_loop.planner import ChangePlanner, PlannerSettings, RadioReading
from controller.fast_loop.settling import neighbour_radios, unsettled_neighbour
from controller.fast_loop.telemetry import RadioSnapshot
from controller.guardrails import NetworkSnapshot, PastChange, RadioView
from controller.site_policy import SitePolicy
from drivers.sim.sim_radio import radio_capabilities
from radio_domain.radio import RadioConfig, split_radio_id
from radio_domain.regulatory import Region
from tests.unit.fast_loop.test_planner import BASELINE, ScriptedOptimiser, telemetry

pytestmark = pytest.mark.unit

T0 = 2_000_000.0
CONFIG_5G = BASELINE
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


@dataclass
class CountingOptimiser(ScriptedOptimiser):
    """Proposes its target once from the baseline config; counts how often it was asked to decide."""

    decisions: int = 0

    def decide(self, snapshot: RadioSnapshot) -> Proposal | Keep:
        self.decisions += 1
        return super().decide(snapshot)


def two_neighbours(settle_s: float, power: bool = False) -> tuple[ChangePlanner, CountingOptimiser, CountingOptimiser]:
    planner = ChangePlanner(Region.FCC, PlannerSettings(observation_s=120.0, settle_s=settle_s), start_s=T0)
    target = RadioConfig(36, 80, 17.0, -82) if power else RadioConfig(40, 80, 20.0, -82)
    first, second = CountingOptimiser(target), CountingOptimiser(target)
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
