"""Radar, non-occupancy, CAC and fallback in the simulated world, like hostapd on a real AP."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.protocol import ChangeRejected, DriverEvent
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from radio_domain import regulatory
from radio_domain.events import EventType
from radio_domain.radio import Band, ConfigChange
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

RADIO = "a/5g"


def _world(
    channel: int,
    width: int,
    *,
    region: str = "FCC",
    radar_mhz: float | None = None,
    radar_at: float = 10.0,
    seed: int = 3,
) -> SimWorld:
    interferers: list[dict[str, Any]] = []
    if radar_mhz is not None:
        interferers.append(
            {"kind": "radar", "x": 30, "y": 10, "freq_mhz": radar_mhz, "start_s": radar_at, "stop_s": radar_at + 2}
        )
    data = {
        "format": "rrm-scenario",
        "version": 1,
        "seed": seed,
        "region": region,
        "area_m": [60, 20],
        "duration_s": 4000,
        "shadowing_db": 0,
        "aps": [
            {
                "id": "a",
                "x": 10,
                "y": 10,
                "radios": [{"band": "5g", "channel": channel, "width_mhz": width, "tx_power_dbm": 20}],
            }
        ],
        "clients": [{"id": "c", "x": 14, "y": 10, "band": "5g", "demand_mbps": 10}],
        "interferers": interferers,
    }
    return SimWorld(parse_scenario(data, "dfs-test"))


def _run_until(world: SimWorld, t: float, dt: float = 1.0) -> list[DriverEvent]:
    events: list[DriverEvent] = []
    while world.time < t - 1e-9:
        events += world.step(min(dt, t - world.time))
    return events


def _types(events: list[DriverEvent]) -> list[EventType]:
    return [e.type for e in events]


def test_radar_moves_the_radio_off_the_channel_within_one_step() -> None:
    """Radar on 52: DFS_RADAR then CHANNEL_SWITCHED in the same step, landing on a non-DFS channel."""
    world = _world(52, 20, radar_mhz=5262)
    events = _run_until(world, 10.0)
    assert _types(events) == [EventType.DFS_RADAR, EventType.CHANNEL_SWITCHED]
    radar, switch = events
    assert radar.channel == 52
    assert radar.metadata["freq_mhz"] == "5262"
    assert float(radar.metadata["rssi_dbm"]) >= -64.0
    assert switch.metadata["reason"] == "radar"
    assert switch.config is not None
    assert switch.config.channel != 52
    assert not regulatory.needs_dfs(
        world.region, world.radio(RADIO).band, switch.config.channel, switch.config.width_mhz
    )
    assert world.config(RADIO) == switch.config
    assert world.config(RADIO).enabled
    assert world.radio_state(RADIO).clients  # the client followed on the new channel
    assert _types(_run_until(world, 20.0)) == []  # radar still on for a moment, but not on our channel


def test_the_radar_channel_stays_closed_for_the_non_occupancy_period_then_needs_a_cac() -> None:
    world = _world(52, 20, radar_mhz=5262)
    _run_until(world, 10.0)
    assert world.non_occupancy(RADIO) == {52: world.epoch + 10.0 + regulatory.NOP_SECONDS}
    with pytest.raises(ChangeRejected, match=r"a/5g: apply channel: .*non-occupancy"):
        world.apply(RADIO, ConfigChange(channel=52))
    _run_until(world, 10.0 + regulatory.NOP_SECONDS - 1.0, dt=60.0)
    with pytest.raises(ChangeRejected, match="non-occupancy"):
        world.apply(RADIO, ConfigChange(channel=52))
    _run_until(world, 10.0 + regulatory.NOP_SECONDS, dt=1.0)
    assert world.non_occupancy(RADIO) == {}
    result = world.apply(RADIO, ConfigChange(channel=52))
    assert result.after.channel == 52
    assert not result.after.enabled
    events = _run_until(world, world.time + regulatory.CAC_SECONDS)
    assert _types(events) == [EventType.CAC_STARTED, EventType.CAC_COMPLETED]
    assert world.config(RADIO).enabled
    assert world.config(RADIO).channel == 52


def test_the_radio_lands_on_a_usable_listed_channel_keeping_its_width_before_narrowing() -> None:
    """List [56, 165, 44] at 40 MHz: 56 is in NOP with 52, 165 has no 40 MHz group, 44 does -> 44/40."""
    world = _world(52, 40, radar_mhz=5262)
    world.set_fallback_channels(RADIO, [56, 165, 44])
    events = _run_until(world, 10.0)
    switch = events[-1]
    assert switch.type is EventType.CHANNEL_SWITCHED
    assert switch.metadata["choice"] == "fallback"
    assert (world.config(RADIO).channel, world.config(RADIO).width_mhz) == (44, 40)


def test_outside_etsi_a_listed_channel_that_needs_a_cac_is_passed_over() -> None:
    """FCC: hostapd only lands on available channels, so an uncleared DFS channel in the list is skipped."""
    world = _world(52, 20, radar_mhz=5262)
    world.set_fallback_channels(RADIO, [100])
    events = _run_until(world, 10.0)
    assert events[-1].metadata["choice"] == "random"
    assert not regulatory.needs_dfs(Region.FCC, Band.G5, world.config(RADIO).channel, 20)
    assert world.config(RADIO).enabled


def test_only_when_no_listed_channel_fits_the_width_does_the_radio_narrow() -> None:
    """List [56, 165]: nothing fits 40 MHz, 165 fits 20 MHz -> 165/20."""
    world = _world(52, 40, radar_mhz=5262)
    world.set_fallback_channels(RADIO, [56, 165])
    _run_until(world, 10.0)
    assert (world.config(RADIO).channel, world.config(RADIO).width_mhz) == (165, 20)


def test_like_hostapd_the_list_is_a_filter_and_the_pick_among_it_random() -> None:
    """hostapd's chanlist does not order: over many radar hits, both usable listed channels are picked."""
    landings = set()
    for seed in range(12):
        world = _world(52, 20, radar_mhz=5262, seed=seed)
        world.set_fallback_channels(RADIO, [36, 149])
        _run_until(world, 10.0)
        landings.add(world.config(RADIO).channel)
    assert landings == {36, 149}


def test_a_fallback_on_an_uncleared_dfs_channel_means_a_cac_there_in_etsi() -> None:
    """ETSI lets hostapd land on any channel not in NOP (uniform spreading): an uncleared one means a CAC."""
    world = _world(52, 20, region="ETSI", radar_mhz=5262)
    world.set_fallback_channels(RADIO, [100])
    events = _run_until(world, 10.0)
    assert _types(events) == [EventType.DFS_RADAR, EventType.CHANNEL_SWITCHED, EventType.CAC_STARTED]
    assert world.config(RADIO).channel == 100
    assert not world.config(RADIO).enabled
    assert world.radio_state(RADIO).clients == ()
    assert _types(_run_until(world, 10.0 + regulatory.CAC_SECONDS)) == [EventType.CAC_COMPLETED]
    assert world.config(RADIO).enabled


def test_moving_to_an_uncleared_dfs_channel_starts_a_cac() -> None:
    world = _world(36, 20)
    result = world.apply(RADIO, ConfigChange(channel=100))
    assert not result.after.enabled
    assert _types(_run_until(world, regulatory.CAC_SECONDS - 1.0)) == [EventType.CAC_STARTED]
    assert not world.config(RADIO).enabled
    assert _types(_run_until(world, regulatory.CAC_SECONDS)) == [EventType.CAC_COMPLETED]
    assert world.config(RADIO).enabled


def test_an_etsi_weather_radar_channel_needs_a_ten_minute_cac() -> None:
    world = _world(36, 20, region="ETSI")
    world.apply(RADIO, ConfigChange(channel=124))
    events = _run_until(world, regulatory.WEATHER_CAC_SECONDS - 1.0, dt=10.0)
    assert _types(events) == [EventType.CAC_STARTED]
    assert events[0].metadata["cac_s"] == "600"
    assert not world.config(RADIO).enabled
    assert _types(_run_until(world, regulatory.WEATHER_CAC_SECONDS)) == [EventType.CAC_COMPLETED]
    assert world.config(RADIO).enabled


def test_a_cleared_channel_is_reused_without_a_new_cac() -> None:
    world = _world(36, 20)
    world.apply(RADIO, ConfigChange(channel=100))
    _run_until(world, regulatory.CAC_SECONDS)
    world.apply(RADIO, ConfigChange(channel=36))
    assert world.apply(RADIO, ConfigChange(channel=100)).after.enabled


def test_radar_during_a_cac_aborts_it() -> None:
    world = _world(36, 20, radar_mhz=5510, radar_at=30.0)
    world.apply(RADIO, ConfigChange(channel=100))
    events = _run_until(world, 30.0)
    assert _types(events) == [EventType.CAC_STARTED, EventType.DFS_RADAR, EventType.CHANNEL_SWITCHED]
    assert events[1].metadata["during_cac"] == "true"
    assert world.config(RADIO).enabled
    assert world.config(RADIO).channel != 100
    with pytest.raises(ChangeRejected, match="non-occupancy"):
        world.apply(RADIO, ConfigChange(channel=100))


def test_radar_outside_the_radios_span_or_too_weak_is_not_detected() -> None:
    other_channel = _world(52, 20, radar_mhz=5300)  # channel 60
    assert _run_until(other_channel, 15.0) == []
    quiet = SimWorld(
        parse_scenario(
            {
                "format": "rrm-scenario",
                "version": 1,
                "seed": 3,
                "region": "FCC",
                "area_m": [60, 20],
                "duration_s": 100,
                "aps": [
                    {
                        "id": "a",
                        "x": 1,
                        "y": 1,
                        "radios": [{"band": "5g", "channel": 52, "width_mhz": 20, "tx_power_dbm": 20}],
                    }
                ],
                "clients": [],
                "interferers": [{"kind": "radar", "x": 59, "y": 19, "freq_mhz": 5262, "power_dbm": -10, "start_s": 5}],
            },
            "weak",
        )
    )
    assert _run_until(quiet, 10.0) == []


def test_the_radio_never_transmits_on_a_channel_in_non_occupancy() -> None:
    """Over a radar hit and the following half hour, an enabled radio's channels are never in NOP."""
    world = _world(52, 80, radar_mhz=5290)
    world.set_fallback_channels(RADIO, [52, 56, 60, 64, 100, 36])
    _run_until(world, 10.0)
    assert set(world.non_occupancy(RADIO)) == {52, 56, 60, 64}  # the whole 80 MHz group
    for _ in range(200):
        world.step(10.0)
        config = world.config(RADIO)
        if config.enabled:
            group = regulatory.bonding_group(world.region, world.radio(RADIO).band, config.channel, config.width_mhz)
            assert not set(group) & set(world.non_occupancy(RADIO))
