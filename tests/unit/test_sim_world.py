"""The simulated world as a whole: determinism, events, failures, spikes and how apply behaves."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from drivers.protocol import CapabilityRefused, ChangeRejected, DriverEvent, DriverUnavailable
from drivers.sim.scenario import load_scenario, parse_scenario, shipped_scenario
from drivers.sim.world import SimWorld
from radio_domain.events import EventType
from radio_domain.radio import Band, ConfigChange, RadioConfig

pytestmark = pytest.mark.unit


def _two_ap_world(**top: Any) -> SimWorld:
    data = {
        "format": "rrm-scenario",
        "version": 1,
        "seed": 9,
        "region": "FCC",
        "area_m": [60, 30],
        "duration_s": 600,
        "aps": [
            {
                "id": "a",
                "x": 10,
                "y": 15,
                "radios": [
                    {"band": "2g", "channel": 1, "width_mhz": 20, "tx_power_dbm": 17},
                    {"band": "5g", "channel": 36, "width_mhz": 40, "tx_power_dbm": 20},
                ],
            },
            {
                "id": "b",
                "x": 40,
                "y": 15,
                "radios": [{"band": "5g", "channel": 149, "width_mhz": 80, "tx_power_dbm": 20}],
            },
        ],
        "clients": [
            {"id": f"c{i}", "x": 8 + 2 * i, "y": 12, "band": "5g", "demand_mbps": 5, "traffic": t}
            for i, t in enumerate(["best_effort", "video", "voice", "best_effort"])
        ]
        + [{"id": "iot", "x": 12, "y": 18, "band": "2g", "demand_mbps": 0.5}],
        **top,
    }
    return SimWorld(parse_scenario(data, "world-test"))


def _types(events: list[DriverEvent]) -> list[EventType]:
    return [e.type for e in events]


def _snapshot(world: SimWorld) -> tuple[object, ...]:
    return (tuple(world.radio_state(r) for r in world.radio_ids()), tuple(sorted(world.client_qoe().items())))


def test_same_seed_same_calls_same_world_and_another_seed_differs() -> None:
    scenario = load_scenario(shipped_scenario("small_office"))
    worlds = [SimWorld(scenario), SimWorld(scenario), SimWorld(replace(scenario, seed=scenario.seed + 1))]
    for world in worlds:
        world.apply("ap-3/5g", ConfigChange(channel=100))
        for _ in range(5):
            world.step(1.0)
        world.apply("ap-1/2g", ConfigChange(tx_power_dbm=10))
        world.step(1.0)
    assert _snapshot(worlds[0]) == _snapshot(worlds[1])
    assert _snapshot(worlds[0]) != _snapshot(worlds[2])


def test_timestamps_follow_epoch_plus_world_time() -> None:
    world = SimWorld(load_scenario(shipped_scenario("small_office")), epoch=1000.0)
    world.step(2.5)
    assert world.time == 2.5
    assert world.radio_state("ap-1/5g").timestamp == 1002.5


def test_applying_the_config_in_effect_or_the_same_change_twice_is_a_no_op() -> None:
    world = _two_ap_world()
    current = world.config("a/5g")
    same = world.apply("a/5g", ConfigChange(channel=36, width_mhz=40, tx_power_dbm=20.0))
    assert same.before == same.after == current
    first = world.apply("a/5g", ConfigChange(tx_power_dbm=14))
    second = world.apply("a/5g", ConfigChange(tx_power_dbm=14))
    assert first.after == second.before == second.after == world.config("a/5g")
    assert world.config("a/5g") == RadioConfig(36, 40, 14.0)
    assert world.step(1.0) == []


@pytest.mark.parametrize(
    ("radio", "change", "error", "match"),
    [
        (
            "a/2g",
            ConfigChange(channel=14),
            ChangeRejected,
            r"a/2g: apply channel: channel 14 is not a legal 2g channel in FCC",
        ),
        ("a/2g", ConfigChange(width_mhz=80), CapabilityRefused, r"a/2g: apply width_mhz: .*cannot use 80 MHz"),
        ("a/5g", ConfigChange(channel=165, width_mhz=80), ChangeRejected, r"a/5g: apply channel: channel 165"),
        ("a/5g", ConfigChange(tx_power_dbm=24), ChangeRejected, r"a/5g: apply tx_power_dbm: tx power 24 dBm"),
        ("a/5g", ConfigChange(tx_power_dbm=0.5), ChangeRejected, r"apply tx_power_dbm"),
        ("a/5g", ConfigChange(obss_pd_dbm=-90), ChangeRejected, r"a/5g: apply obss_pd_dbm: OBSS-PD -90"),
        ("a/5g", ConfigChange(obss_pd_dbm=-60), ChangeRejected, r"apply obss_pd_dbm"),
        ("nope/5g", ConfigChange(channel=36), DriverUnavailable, r"nope/5g"),
    ],
)
def test_apply_refuses_what_a_real_ap_would(
    radio: str, change: ConfigChange, error: type[Exception], match: str
) -> None:
    world = _two_ap_world()
    before = world.config(radio) if radio != "nope/5g" else None
    with pytest.raises(error, match=match):
        world.apply(radio, change)
    if before is not None:
        assert world.config(radio) == before


def test_a_radio_failure_disables_the_radio_moves_its_clients_and_recovers() -> None:
    world = _two_ap_world(events=[{"kind": "radio_failure", "ap": "a", "band": "5g", "at_s": 5, "duration_s": 10}])
    assert all(world.client_link(f"c{i}").radio_id == "a/5g" for i in range(4))
    events: list[DriverEvent] = []
    for _ in range(5):
        events += world.step(1.0)
    assert _types(events) == [EventType.HW_FAILURE]
    assert events[0].radio_id == "a/5g"
    assert events[0].config is not None
    assert not events[0].config.enabled
    assert not world.config("a/5g").enabled
    assert all(world.client_link(f"c{i}").radio_id == "b/5g" for i in range(4))
    with pytest.raises(DriverUnavailable, match="a/5g"):
        world.apply("a/5g", ConfigChange(tx_power_dbm=10))
    events = []
    for _ in range(10):
        events += world.step(1.0)
    assert _types(events) == [EventType.RADIO_RECOVERED]
    assert world.config("a/5g").enabled
    assert world.client_link("c0").radio_id == "a/5g"  # the stronger radio is back, beyond the hysteresis


def test_a_density_spike_adds_clients_for_its_duration_and_is_reported() -> None:
    spike = {
        "kind": "density_spike",
        "x": 40,
        "y": 15,
        "band": "5g",
        "clients": 12,
        "demand_mbps": 3,
        "start_s": 5,
        "stop_s": 10,
    }
    world = _two_ap_world(events=[spike])
    assert len(world.client_qoe()) == 5
    events: list[DriverEvent] = []
    for _ in range(5):
        events += world.step(1.0)
    assert _types(events) == [EventType.DENSITY_SPIKE]
    assert events[0].radio_id == "b/5g"
    assert events[0].metadata["clients_gained"] == "12"
    assert 0.5 <= events[0].confidence <= 0.99
    assert len(world.client_qoe()) == 17
    assert len(world.radio_state("b/5g").clients) == 12
    for _ in range(5):
        world.step(1.0)
    assert len(world.client_qoe()) == 5


def test_a_non_wifi_burst_is_reported_when_it_starts_reaching_a_radio() -> None:
    oven = {"kind": "microwave", "x": 25, "y": 15, "start_s": 3, "stop_s": 8}
    world = _two_ap_world(interferers=[oven], shadowing_db=0)
    world.apply("a/2g", ConfigChange(channel=9))
    events = [e for _ in range(3) for e in world.step(1.0)]
    assert _types(events) == [EventType.NON_WIFI_BURST]
    burst = events[0]
    assert burst.radio_id == "a/2g"
    assert burst.channel == 9
    assert burst.metadata["kind"] == "microwave"
    assert burst.metadata["duty_cycle"] == "0.5"
    assert 0.5 <= burst.confidence <= 0.99
    assert world.radio_state("a/2g").non_wifi_duty == pytest.approx(0.5)
    assert world.step(1.0) == []  # still on: no repeat
    world.apply("a/2g", ConfigChange(channel=1))
    world.step(1.0)
    world.apply("a/2g", ConfigChange(channel=10))
    assert _types(world.step(1.0)) == [EventType.NON_WIFI_BURST]  # moved back onto the affected channel
    for _ in range(4):
        world.step(1.0)
    assert world.radio_state("a/2g").non_wifi_duty == 0.0


def test_an_unmanaged_neighbour_bss_is_reported_and_takes_airtime() -> None:
    quiet = _two_ap_world()
    busy = _two_ap_world(interferers=[{"kind": "neighbor_bss", "x": 44, "y": 20, "freq_mhz": 5745, "duty_cycle": 0.4}])
    quiet.step(1.0)
    busy.step(1.0)
    neighbours = [n for n in busy.radio_state("b/5g").neighbors if not n.managed]
    assert len(neighbours) == 1
    assert neighbours[0].channel == 149
    assert ":" in neighbours[0].neighbor_id
    assert busy.radio_state("b/5g").cca_busy >= 0.4 > quiet.radio_state("b/5g").cca_busy


def test_queries_describe_radios_clients_and_qoe() -> None:
    world = _two_ap_world()
    assert world.ap_ids() == ["a", "b"]
    assert [r.radio_id for r in world.radios()] == ["a/2g", "a/5g", "b/5g"]
    assert [r.radio_id for r in world.radios(["b"])] == ["b/5g"]
    caps = {r.band: r.capabilities for r in world.radios()}
    assert caps[Band.G5].reports_radar
    assert not caps[Band.G2].reports_radar
    assert caps[Band.G5].max_tx_power_dbm == 23.0
    assert caps[Band.G5].min_tx_power_dbm == 1.0
    assert 165 in caps[Band.G5].channels
    assert 160 in caps[Band.G5].widths_mhz
    qoe = world.client_qoe()
    assert set(qoe) == {"c0", "c1", "c2", "c3", "iot"}
    assert all(0.0 <= q <= 1.0 for q in qoe.values())
    assert world.network_qoe() == pytest.approx(sum(qoe.values()) / 5)
    assert world.qoe_percentile(0) == min(qoe.values())
    assert world.qoe_percentile(100) == max(qoe.values())
    state = world.radio_state("a/5g")
    assert {c.client_id for c in state.clients} == {"c0", "c1", "c2", "c3"}
    assert all(c.snr_db > 0 and c.tx_rate_mbps > 0 for c in state.clients)
    assert state.noise_floor_dbm == pytest.approx(-91.0, abs=0.1)
    with pytest.raises(KeyError):
        world.client_link("nobody")


def test_a_fork_is_independent() -> None:
    world = _two_ap_world()
    trial = world.fork()
    trial.apply("a/5g", ConfigChange(channel=149, width_mhz=80))
    trial.step(1.0)
    assert world.config("a/5g").channel == 36
    assert trial.config("a/5g").channel == 149
    assert world.time == 0.0
    assert trial.time == 1.0


def test_radio_client_qoe_sums_each_serving_radios_present_clients() -> None:
    world = SimWorld(load_scenario(shipped_scenario("small_office")))
    world.step(60.0)
    per_radio: dict[str, list[float]] = {}
    for client_id, qoe in world.client_qoe().items():
        serving = world.client_link(client_id).radio_id
        if serving is not None:
            per_radio.setdefault(serving, []).append(qoe)
    found = world.radio_client_qoe()
    assert found and set(found) == set(per_radio)
    for radio_id, values in per_radio.items():
        total, count = found[radio_id]
        assert total == pytest.approx(sum(values)) and count == len(values)
