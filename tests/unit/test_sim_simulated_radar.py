"""Radar on demand (hwsim's dfs_simulate_radar) and the fallback list it lands on."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.protocol import CapabilityRefused, ChangeRejected, DriverEvent, DriverUnavailable
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from radio_domain import regulatory
from radio_domain.events import EventType
from radio_domain.radio import ConfigChange

pytestmark = pytest.mark.unit

RADIO = "a/5g"


def _world(channel: int = 52, width: int = 20, **top: Any) -> SimWorld:
    data = {
        "format": "rrm-scenario",
        "version": 1,
        "seed": 3,
        "region": "FCC",
        "area_m": [60, 20],
        "duration_s": 4000,
        "shadowing_db": 0,
        "aps": [
            {
                "id": "a",
                "x": 10,
                "y": 10,
                "radios": [
                    {"band": "2g", "channel": 6, "width_mhz": 20, "tx_power_dbm": 17},
                    {"band": "5g", "channel": channel, "width_mhz": width, "tx_power_dbm": 20},
                ],
            }
        ],
        "clients": [{"id": "c", "x": 14, "y": 10, "band": "5g", "demand_mbps": 10}],
        **top,
    }
    return SimWorld(parse_scenario(data, "radar-test"))


def _types(events: list[DriverEvent]) -> list[EventType]:
    return [e.type for e in events]


def test_triggered_radar_takes_the_scenario_radars_path_and_reaches_the_next_step() -> None:
    world = _world()
    world.step(5.0)
    events = world.trigger_radar(RADIO)
    assert _types(events) == [EventType.DFS_RADAR, EventType.CHANNEL_SWITCHED]
    radar, switch = events
    assert (radar.channel, radar.timestamp) == (52, world.epoch + 5.0)
    assert radar.metadata["simulated"] == "true"
    assert radar.metadata["freq_mhz"] == "5260"
    assert (radar.metadata["nop_channels"], radar.metadata["during_cac"]) == ("52", "false")
    assert switch.metadata["reason"] == "radar"
    assert switch.metadata["choice"] == "random"
    assert world.config(RADIO).channel != 52  # the AP moved at once
    assert not regulatory.needs_dfs(world.region, world.radio(RADIO).band, world.config(RADIO).channel, 20)
    assert world.non_occupancy(RADIO) == {52: world.epoch + 5.0 + regulatory.NOP_SECONDS}
    with pytest.raises(ChangeRejected, match="non-occupancy"):
        world.apply(RADIO, ConfigChange(channel=52))
    assert world.step(1.0) == events  # delivered like any step's events
    assert world.step(1.0) == []
    assert [c.client_id for c in world.radio_state(RADIO).clients] == ["c"]


def test_triggered_radar_lands_on_the_fallback_list_and_starts_a_cac_there() -> None:
    world = _world(100, 40, region="ETSI")  # ETSI: hostapd may land on an uncleared DFS channel (uniform spreading)
    world.set_fallback_channels(RADIO, [104, 116])  # 104 is in the radar group; 116 is its own group's first
    events = world.trigger_radar(RADIO)
    assert _types(events) == [EventType.DFS_RADAR, EventType.CHANNEL_SWITCHED, EventType.CAC_STARTED]
    assert events[0].metadata["nop_channels"] == "100,104"
    assert events[1].metadata["choice"] == "fallback"
    assert (world.config(RADIO).channel, world.config(RADIO).width_mhz) == (116, 40)
    assert not world.config(RADIO).enabled
    world.step(1.0)
    assert world.client_link("c").radio_id is None
    assert world.radio_state(RADIO).disassociations_total == 1
    world.set_fallback_channels(RADIO, [36])
    again = world.trigger_radar(RADIO)  # radar during the CAC aborts it, the next fallback is clear
    assert _types(again) == [EventType.DFS_RADAR, EventType.CHANNEL_SWITCHED]
    assert again[0].metadata["during_cac"] == "true"
    assert (world.config(RADIO).channel, world.config(RADIO).width_mhz) == (36, 40)
    assert world.config(RADIO).enabled
    assert set(world.non_occupancy(RADIO)) == {100, 104, 116, 120}


def test_a_wide_channel_reports_the_first_dfs_channel_it_occupies() -> None:
    world = _world(36, 160)
    event = world.trigger_radar(RADIO)[0]
    assert event.channel == 36
    assert event.metadata["freq_mhz"] == "5260"  # channel 52, the first DFS channel of 36-64
    assert event.metadata["nop_channels"] == "36,40,44,48,52,56,60,64"


@pytest.mark.parametrize(("radio", "channel"), [(RADIO, 36), ("a/2g", 52)])
def test_radar_cannot_be_triggered_where_the_radio_does_no_detection(radio: str, channel: int) -> None:
    world = _world(channel)
    with pytest.raises(ChangeRejected, match=rf"{radio}: trigger radar: channel \d+ at 20 MHz needs no DFS"):
        world.trigger_radar(radio)
    assert world.step(1.0) == []


def test_radar_cannot_be_triggered_on_a_failed_or_unknown_radio() -> None:
    world = _world(events=[{"kind": "radio_failure", "ap": "a", "band": "5g", "at_s": 1, "duration_s": 10}])
    world.step(1.0)
    with pytest.raises(DriverUnavailable, match="a/5g: trigger radar: the radio has failed"):
        world.trigger_radar(RADIO)
    with pytest.raises(DriverUnavailable, match="b/5g"):
        world.trigger_radar("b/5g")


def test_the_fallback_list_is_checked_and_only_5_ghz_radios_have_one() -> None:
    world = _world()
    world.set_fallback_channels(RADIO, [100])
    with pytest.raises(ChangeRejected, match=r"a/5g: set fallback channels: channels \[14, 200\] are not legal"):
        world.set_fallback_channels(RADIO, [36, 14, 200])
    assert world.radio(RADIO).fallback == (100,)
    with pytest.raises(CapabilityRefused, match="a/2g: set fallback channels: only a 5 GHz radio"):
        world.set_fallback_channels("a/2g", [1])
    world.set_fallback_channels(RADIO, [])
    assert world.radio(RADIO).fallback == ()
