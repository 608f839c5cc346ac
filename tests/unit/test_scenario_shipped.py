"""The shipped scenarios load, run, and hold what they promise (regions, DFS, spikes, failures)."""

from __future__ import annotations

from collections import Counter

import pytest

from drivers.sim.scenario import InterfererKind, ScenarioError, list_shipped_scenarios, load_scenario, shipped_scenario
from drivers.sim.world import SimWorld
from radio_domain import regulatory
from radio_domain.events import EventType
from radio_domain.radio import Band

pytestmark = pytest.mark.unit

SHIPPED = ("small_office", "dense_floor", "multi_floor")


def test_the_three_scenarios_are_shipped_and_two_are_fcc_one_etsi() -> None:
    shipped = list_shipped_scenarios()
    assert set(SHIPPED) <= set(shipped)
    assert shipped_scenario("dense_floor") == shipped["dense_floor"]
    regions = Counter(load_scenario(shipped[name]).region for name in SHIPPED)
    assert regions == Counter({regulatory.Region.FCC: 2, regulatory.Region.ETSI: 1})
    with pytest.raises(ScenarioError, match="no shipped scenario"):
        shipped_scenario("nowhere")


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_scenario_loads_and_steps(name: str) -> None:
    scenario = load_scenario(shipped_scenario(name))
    world = SimWorld(scenario)
    for _ in range(3):
        world.step(1.0)
    assert len(world.radio_ids()) == sum(len(ap.radios) for ap in scenario.aps)
    assert 0.0 < world.network_qoe() < 1.0  # deliberately imperfect, so RRM has work to do
    assert world.qoe_percentile(5) <= world.network_qoe()


def test_small_office_has_its_radar_burst_on_a_dfs_channel_an_ap_uses() -> None:
    scenario = load_scenario(shipped_scenario("small_office"))
    assert 5 <= len(scenario.aps) <= 7
    assert 30 <= len(scenario.clients) <= 50
    radar = next(i for i in scenario.interferers if i.kind is InterfererKind.RADAR)
    assert any(i.kind is InterfererKind.MICROWAVE for i in scenario.interferers)
    world = SimWorld(scenario)
    while world.time < radar.start_s + 1:
        events = world.step(10.0)
        if any(e.type is EventType.DFS_RADAR for e in events):
            break
    hit = [e for e in events if e.type is EventType.DFS_RADAR]
    assert hit
    assert all(regulatory.needs_dfs(scenario.region, Band.G5, e.channel, e.config.width_mhz) for e in hit if e.config)


def test_dense_floor_has_its_crowd_and_its_failure() -> None:
    scenario = load_scenario(shipped_scenario("dense_floor"))
    assert 20 <= len(scenario.aps) <= 28
    assert 250 <= len(scenario.clients) <= 350
    kinds = {i.kind for i in scenario.interferers}
    assert {InterfererKind.NEIGHBOR_BSS, InterfererKind.VIDEO_CAMERA, InterfererKind.RADAR} <= kinds
    camera = next(i for i in scenario.interferers if i.kind is InterfererKind.VIDEO_CAMERA)
    assert camera.freq_mhz == regulatory.center_mhz(Band.G2, 1)
    world = SimWorld(scenario)
    seen: Counter[EventType] = Counter()
    while world.time < 1300:
        seen.update(e.type for e in world.step(10.0))
    assert seen[EventType.DENSITY_SPIKE] >= 1
    assert seen[EventType.HW_FAILURE] == 1
    assert seen[EventType.RADIO_RECOVERED] == 1


def test_multi_floor_is_tri_band_on_three_floors_with_a_weather_radar_channel() -> None:
    scenario = load_scenario(shipped_scenario("multi_floor"))
    assert scenario.floors == 3
    assert scenario.region is regulatory.Region.ETSI
    assert {ap.floor for ap in scenario.aps} == {0, 1, 2}
    assert all({r.band for r in ap.radios} == {Band.G2, Band.G5, Band.G6} for ap in scenario.aps)
    assert {w.floor for w in scenario.walls} == {0, 1, 2}
    weather = [
        r
        for ap in scenario.aps
        for r in ap.radios
        if regulatory.cac_seconds(scenario.region, r.band, r.channel, r.width_mhz) == regulatory.WEATHER_CAC_SECONDS
    ]
    assert weather


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_scenario_has_legacy_stubborn_and_dual_band_clients(name: str) -> None:
    """A few clients without DFS or 802.11v and many dual-band ones, so steering and client
    compatibility have something to work with."""
    scenario = load_scenario(shipped_scenario(name))
    n = len(scenario.clients)
    no_dfs = [c for c in scenario.clients if not c.supports_dfs]
    no_btm = [c for c in scenario.clients if not c.supports_btm]
    assert 0.05 <= len(no_dfs) / n <= 0.10
    assert all(Band.G5 in c.usable_bands for c in no_dfs)
    assert 0.05 <= len(no_btm) / n <= 0.10
    kinds = Counter(frozenset(c.usable_bands) for c in scenario.clients if len(c.usable_bands) > 1)
    assert kinds[frozenset({Band.G2, Band.G5})] >= 0.2 * n / 3
    if name == "multi_floor":
        assert kinds[frozenset({Band.G5, Band.G6})] >= 10
    world = SimWorld(scenario)
    observed = [c for r in world.radio_ids() for c in world.radio_state(r).clients]
    assert {c.client_id for c in observed if not c.supports_dfs} <= {c.id for c in no_dfs}
    assert any(not c.supports_btm for c in observed)
