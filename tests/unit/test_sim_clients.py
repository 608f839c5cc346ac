"""Clients' capabilities in the world: bands, DFS support, and the radios they leave."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.sim.scenario import load_scenario, parse_scenario, shipped_scenario
from drivers.sim.world import SimWorld
from radio_domain import regulatory
from radio_domain.radio import ConfigChange

pytestmark = pytest.mark.unit


def _radio(band: str, channel: int, power: float = 20.0, width: int = 20) -> dict[str, Any]:
    return {"band": band, "channel": channel, "width_mhz": width, "tx_power_dbm": power}


def _client(cid: str, x: float, band: str = "5g", **caps: Any) -> dict[str, Any]:
    return {"id": cid, "x": x, "y": 10, "band": band, "demand_mbps": 5, **caps}


def _world(aps: list[dict[str, Any]], clients: list[dict[str, Any]], **top: Any) -> SimWorld:
    """A quiet floor: no shadowing, fixed demands."""
    data = {
        "format": "rrm-scenario",
        "version": 1,
        "seed": 4,
        "region": "FCC",
        "area_m": [300, 20],
        "duration_s": 600,
        "shadowing_db": 0,
        "demand_variation": 0,
        "aps": aps,
        "clients": clients,
        **top,
    }
    return SimWorld(parse_scenario(data, "clients-test"))


def _serving(world: SimWorld, client_id: str) -> str | None:
    return world.client_link(client_id).radio_id


def _dfs_pair(**top: Any) -> SimWorld:
    """AP a on DFS channel 52 next to the clients, AP b on 36 further away."""
    return _world(
        [
            {"id": "a", "x": 10, "y": 10, "radios": [_radio("5g", 52)]},
            {"id": "b", "x": 50, "y": 10, "radios": [_radio("5g", 36)]},
        ],
        [_client("modern", 12), _client("legacy", 12, supports_dfs=False)],
        **top,
    )


def test_a_client_without_dfs_joins_a_non_dfs_radio_instead_of_the_stronger_dfs_one() -> None:
    world = _dfs_pair()
    assert _serving(world, "modern") == "a/5g"
    assert _serving(world, "legacy") == "b/5g"
    observed = {c.client_id: c for c in world.radio_state("b/5g").clients}
    assert not observed["legacy"].supports_dfs
    assert all(c.supports_dfs for c in world.radio_state("a/5g").clients)


def test_a_client_without_dfs_is_unserved_when_only_dfs_radios_are_around() -> None:
    world = _world(
        [{"id": "a", "x": 10, "y": 10, "radios": [_radio("5g", 100)]}], [_client("legacy", 12, supports_dfs=False)]
    )
    world.step(1.0)
    assert _serving(world, "legacy") is None
    assert world.client_qoe()["legacy"] == 0.0


def test_moving_a_radio_onto_dfs_drops_its_legacy_client_and_counts_it() -> None:
    world = _dfs_pair()
    world.apply("a/5g", ConfigChange(channel=36))
    world.step(1.0)
    assert _serving(world, "legacy") == "a/5g"
    assert world.radio_state("b/5g").disassociations_total == 1  # it left b for the stronger a
    world.apply("a/5g", ConfigChange(channel=52))  # cleared at start, so no CAC: on air at once
    assert _serving(world, "legacy") == "a/5g"  # nothing moves between steps
    world.step(1.0)
    assert world.config("a/5g").enabled
    assert _serving(world, "legacy") == "b/5g"
    assert _serving(world, "modern") == "a/5g"
    assert world.radio_state("a/5g").disassociations_total == 1


def test_clients_without_dfs_are_never_on_a_dfs_radio_in_the_shipped_scenarios() -> None:
    for name in ("small_office", "dense_floor", "multi_floor"):
        scenario = load_scenario(shipped_scenario(name))
        legacy = {c.id for c in scenario.clients if not c.supports_dfs}
        assert legacy, name
        world = SimWorld(scenario)
        for _ in range(5):
            world.step(2.0)
            for radio_id in world.radio_ids():
                state = world.radio_state(radio_id)
                band = world.radio(radio_id).band
                if regulatory.needs_dfs(scenario.region, band, state.config.channel, state.config.width_mhz):
                    assert not legacy & {c.client_id for c in state.clients}, (name, radio_id)


def _tri_band_ap(x: float = 10.0) -> dict[str, Any]:
    return {"id": "a", "x": x, "y": 10, "radios": [_radio("2g", 1, 18), _radio("5g", 36, 18), _radio("6g", 5, 18)]}


def test_a_dual_band_client_prefers_5_ghz_while_the_link_is_good_and_falls_back_to_2_4() -> None:
    """At equal EIRP the 5 GHz beacon is ~7 dB weaker; the band preference still picks it up close."""
    world = _world(
        [_tri_band_ap()],
        [
            _client("near", 15, "2g", bands=["2g", "5g"]),
            _client("far", 70, "5g", bands=["2g", "5g"]),
            _client("iot", 15, "2g"),
        ],
    )
    near, far = world.client_link("near"), world.client_link("far")
    assert near.radio_id == "a/5g"
    assert far.radio_id == "a/2g"
    assert world.client_link("iot").radio_id == "a/2g"
    assert far.rssi_dbm > -82.0  # 2.4 GHz still carries it where 5 GHz is weak


def test_a_5_and_6_ghz_client_prefers_6_ghz_and_reports_it() -> None:
    world = _world([_tri_band_ap()], [_client("phone", 15, "5g", bands=["5g", "6g"]), _client("laptop", 15, "5g")])
    assert world.client_link("phone").radio_id == "a/6g"
    assert world.client_link("laptop").radio_id == "a/5g"
    (phone,) = world.radio_state("a/6g").clients
    (laptop,) = world.radio_state("a/5g").clients
    assert phone.supports_6g
    assert not laptop.supports_6g
    assert phone.supports_btm and phone.supports_dfs


def test_a_dual_band_client_moves_to_its_other_band_when_its_radio_fails_and_sticks_there() -> None:
    """Back on air, the 5 GHz radio scores only ~1 dB more at equal EIRP: inside the hysteresis,
    so the client stays on 2.4 GHz, as sticky real clients do (what band steering is for)."""
    failure = {"kind": "radio_failure", "ap": "a", "band": "5g", "at_s": 2, "duration_s": 5}
    world = _world([_tri_band_ap()], [_client("near", 15, "2g", bands=["2g", "5g"])], events=[failure])
    assert _serving(world, "near") == "a/5g"
    world.step(2.0)
    assert _serving(world, "near") == "a/2g"
    assert world.radio_state("a/5g").disassociations_total == 1
    world.step(5.0)
    assert world.config("a/5g").enabled
    assert _serving(world, "near") == "a/2g"
    assert world.radio_state("a/2g").disassociations_total == 0


def _two_cells(**top: Any) -> SimWorld:
    return _world(
        [
            {"id": "a", "x": 10, "y": 10, "radios": [_radio("5g", 36)]},
            {"id": "b", "x": 40, "y": 10, "radios": [_radio("5g", 149)]},
        ],
        [_client(f"c{i}", 8 + 2 * i) for i in range(4)],
        **top,
    )


def test_a_radio_failure_counts_every_client_that_left_in_that_step() -> None:
    world = _two_cells(events=[{"kind": "radio_failure", "ap": "a", "band": "5g", "at_s": 3, "duration_s": 4}])
    assert world.radio_state("a/5g").disassociations_total == 0
    world.step(2.0)
    assert world.radio_state("a/5g").disassociations_total == 0
    world.step(1.0)
    failed = world.radio_state("a/5g")
    assert failed.clients == ()
    assert failed.disassociations_total == 4  # the counter survives while the radio is down
    assert world.radio_state("b/5g").disassociations_total == 0
    world.step(4.0)
    assert len(world.radio_state("a/5g").clients) == 4
    assert world.radio_state("b/5g").disassociations_total == 4
    assert world.radio_state("a/5g").disassociations_total == 4


def test_spike_clients_leaving_are_counted_on_their_radio() -> None:
    spike = {"kind": "density_spike", "x": 40, "y": 10, "band": "5g", "clients": 6, "demand_mbps": 1}
    world = _two_cells(events=[spike | {"start_s": 2, "stop_s": 5}])
    world.step(2.0)
    assert len(world.radio_state("b/5g").clients) == 6
    world.step(3.0)
    assert world.radio_state("b/5g").clients == ()
    assert world.radio_state("b/5g").disassociations_total == 6
