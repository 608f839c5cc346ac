"""The simulated world's physics behaves sensibly: distance, power, neighbours, channels, walls, OBSS-PD."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from radio_domain.radio import ConfigChange

pytestmark = pytest.mark.unit


def _radio(band: str = "2g", channel: int = 1, width: int = 20, power: float = 20.0, **extra: Any) -> dict[str, Any]:
    return {"band": band, "channel": channel, "width_mhz": width, "tx_power_dbm": power, **extra}


def _world(aps: list[dict[str, Any]], clients: list[dict[str, Any]], **top: Any) -> SimWorld:
    """A quiet world: no shadowing, fixed demands, a long thin floor."""
    data = {
        "format": "rrm-scenario",
        "version": 1,
        "seed": 1,
        "region": "FCC",
        "area_m": [300, 40],
        "duration_s": 600,
        "shadowing_db": 0,
        "demand_variation": 0,
        "aps": aps,
        "clients": clients,
        **top,
    }
    world = SimWorld(parse_scenario(data, "test"))
    world.step(1.0)
    return world


def _client(cid: str, x: float, y: float = 20.0, demand: float = 5.0, band: str = "2g") -> dict[str, Any]:
    return {"id": cid, "x": x, "y": y, "band": band, "demand_mbps": demand}


def test_rssi_and_sinr_fall_and_rate_never_rises_with_distance() -> None:
    """A client further from its AP hears it less and gets no better a rate."""
    distances = [2, 8, 15, 30, 50, 70]
    world = _world(
        [{"id": "a", "x": 10, "y": 20, "radios": [_radio()]}],
        [_client(f"c{d}", 10 + d) for d in distances],
    )
    links = [world.client_link(f"c{d}") for d in distances]
    assert all(link.radio_id == "a/2g" for link in links)
    rssi = [link.rssi_dbm for link in links]
    sinr = [link.sinr_db for link in links]
    rates = [link.phy_rate_mbps for link in links]
    assert rssi == sorted(rssi, reverse=True)
    assert len(set(rssi)) == len(rssi)
    assert sinr == sorted(sinr, reverse=True)
    assert rates == sorted(rates, reverse=True)
    assert rates[0] > rates[-1]


def test_more_tx_power_means_more_rssi_and_no_lower_rate() -> None:
    """Raising the AP's power raises its client's RSSI by the same amount, and the rate does not drop."""
    world = _world([{"id": "a", "x": 10, "y": 20, "radios": [_radio(power=5)]}], [_client("c", 60)])
    seen = []
    for power in (5.0, 10.0, 15.0, 20.0):
        world.apply("a/2g", ConfigChange(tx_power_dbm=power))
        world.step(1.0)
        link = world.client_link("c")
        seen.append((link.rssi_dbm, link.phy_rate_mbps))
    assert [round(b[0] - a[0], 6) for a, b in itertools.pairwise(seen)] == [5.0, 5.0, 5.0]
    assert [s[1] for s in seen] == sorted(s[1] for s in seen)
    assert seen[-1][1] > seen[0][1]


def _victim_with_neighbour(neighbour_x: float, **top: Any) -> SimWorld:
    return _world(
        [
            {"id": "a", "x": 10, "y": 20, "radios": [_radio()]},
            {"id": "b", "x": neighbour_x, "y": 20, "radios": [_radio()]},
        ],
        [_client("victim", 14, demand=150.0), _client("other", neighbour_x + 2, demand=150.0)],
        **top,
    )


def test_a_closer_co_channel_neighbour_hurts_more_than_a_far_one() -> None:
    """Near: the two BSSs share the air; mid: the neighbour is hidden and drags SINR down; far: no effect."""
    near, mid, far = (_victim_with_neighbour(x) for x in (30.0, 170.0, 290.0))
    airtime = {name: w.radio_state("a/2g").tx_airtime for name, w in (("near", near), ("mid", mid), ("far", far))}
    qoe = {name: w.client_link("victim").qoe for name, w in (("near", near), ("mid", mid), ("far", far))}
    sinr = {name: w.client_link("victim").sinr_db for name, w in (("near", near), ("mid", mid), ("far", far))}
    assert any(n.neighbor_id == "b/2g" for n in near.radio_state("a/2g").neighbors)
    assert airtime["near"] < airtime["far"]
    assert qoe["near"] < qoe["far"]
    assert sinr["mid"] < sinr["far"]


def _hidden_pair(neighbour_channel: int) -> SimWorld:
    """Two APs that cannot hear each other (a thick wall on the line between them), a client both reach."""
    return _world(
        [
            {"id": "a", "x": 10, "y": 10, "radios": [_radio(channel=1)]},
            {"id": "b", "x": 40, "y": 10, "radios": [_radio(channel=neighbour_channel)]},
        ],
        [_client("victim", 20, 20, demand=40.0), _client("other", 38, 12, demand=60.0)],
        walls=[{"x1": 25, "y1": 8, "x2": 25, "y2": 12, "loss_db": 60}],
    )


def test_channel_separation_helps_co_channel_worst_then_overlapping_then_clear() -> None:
    """The victim's SINR: co-channel < partially overlapping (1 vs 3) < non-overlapping (1 vs 6)."""
    worlds = {ch: _hidden_pair(ch) for ch in (1, 3, 6)}
    assert all(not w.radio_state("a/2g").neighbors for w in worlds.values())  # hidden from each other
    sinr = {ch: w.client_link("victim").sinr_db for ch, w in worlds.items()}
    throughput = {ch: w.client_link("victim").throughput_mbps for ch, w in worlds.items()}
    assert sinr[1] < sinr[3] < sinr[6]
    assert throughput[1] <= throughput[3] <= throughput[6]
    assert throughput[1] < throughput[6]


def test_a_wall_between_reduces_a_neighbours_impact() -> None:
    """The same neighbour behind a concrete wall no longer takes the victim's airtime."""
    open_plan = _victim_with_neighbour(30.0)
    walled = _victim_with_neighbour(30.0, walls=[{"x1": 20, "y1": 0, "x2": 20, "y2": 40, "loss_db": 40}])
    assert walled.radio_state("a/2g").tx_airtime > open_plan.radio_state("a/2g").tx_airtime
    assert walled.radio_state("a/2g").cca_busy < open_plan.radio_state("a/2g").cca_busy
    assert walled.client_link("victim").qoe > open_plan.client_link("victim").qoe


def test_obss_pd_raises_airtime_when_a_moderate_neighbour_is_heard() -> None:
    """With OBSS-PD above the neighbour's level the radio stops deferring and gets more air."""
    world = _victim_with_neighbour(90.0)
    heard = {n.neighbor_id: n.rssi_dbm for n in world.radio_state("a/2g").neighbors}
    assert -82 < heard["b/2g"] < -65
    before = world.radio_state("a/2g").tx_airtime
    world.apply("a/2g", ConfigChange(obss_pd_dbm=-64))
    world.step(1.0)
    assert world.radio_state("a/2g").tx_airtime > before


def test_a_microwave_oven_costs_airtime_only_on_channels_it_reaches() -> None:
    """An oven at 2450 MHz 15 m from the AP takes half the air on channel 9, none on channel 1."""
    oven = [{"kind": "microwave", "x": 25, "y": 20}]
    on_9 = _world([{"id": "a", "x": 10, "y": 20, "radios": [_radio(channel=9)]}], [_client("c", 14)], interferers=oven)
    on_1 = _world([{"id": "a", "x": 10, "y": 20, "radios": [_radio(channel=1)]}], [_client("c", 14)], interferers=oven)
    assert on_9.radio_state("a/2g").non_wifi_duty == pytest.approx(0.5)
    assert on_9.radio_state("a/2g").cca_busy >= 0.5
    assert on_1.radio_state("a/2g").non_wifi_duty == 0.0
    assert on_1.radio_state("a/2g").cca_busy < 0.1


def test_a_client_that_hears_no_radio_has_qoe_zero() -> None:
    """Out of range of every AP on its band: no association, QoE 0."""
    world = _world([{"id": "a", "x": 5, "y": 20, "radios": [_radio()]}], [_client("near", 10), _client("lost", 295)])
    assert world.client_link("lost").radio_id is None
    assert world.client_qoe()["lost"] == 0.0
    assert world.client_qoe()["near"] > 0.9
