"""The agent's last check before touching a radio (invariants 1 and 2, agent side)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drivers.protocol import RadioCapabilities, RadioInfo
from edge_agent.change_admission import SafeZoneLimit, admission_violations
from radio_domain import regulatory
from radio_domain.radio import Band, ConfigChange, RadioConfig
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

RADIO = RadioInfo(
    radio_id="ap-1/5g",
    ap_id="ap-1",
    band=Band.G5,
    capabilities=RadioCapabilities(
        channels=regulatory.channels(Region.FCC, Band.G5),
        widths_mhz=(20, 40, 80),
        min_tx_power_dbm=1.0,
        max_tx_power_dbm=23.0,
        can_change_obss_pd=False,
    ),
)
CURRENT = RadioConfig(channel=36, width_mhz=20, tx_power_dbm=17.0)


def test_a_legal_change_inside_the_safe_zone_is_admitted() -> None:
    zones = [SafeZoneLimit("tx_power_dbm", 5, 20, step=1)]
    assert admission_violations(RADIO, Region.FCC, CURRENT, ConfigChange(channel=149, tx_power_dbm=20), zones) == []


def test_an_illegal_channel_for_the_region_is_refused() -> None:
    problems = admission_violations(RADIO, Region.ETSI, CURRENT, ConfigChange(channel=149))
    assert any("regulatory" in p and "149" in p for p in problems)


def test_power_above_the_legal_limit_is_refused_even_if_the_hardware_could() -> None:
    strong = replace(RADIO, capabilities=replace(RADIO.capabilities, max_tx_power_dbm=30.0))
    problems = admission_violations(strong, Region.FCC, CURRENT, ConfigChange(channel=52, tx_power_dbm=26))
    assert problems == ["regulatory: tx power 26 dBm exceeds the FCC limit of 24 dBm for 5g channel 52 at 20 MHz"]


def test_safe_zone_bounds_step_and_hourly_limit() -> None:
    zones = [SafeZoneLimit("tx_power_dbm", 5, 20, step=3, max_changes_per_hour=2)]
    assert admission_violations(RADIO, Region.FCC, CURRENT, ConfigChange(tx_power_dbm=21), zones) == [
        "tx_power_dbm 21 is outside the safe zone [5, 20]"
    ]
    assert admission_violations(RADIO, Region.FCC, CURRENT, ConfigChange(tx_power_dbm=12), zones) == [
        "tx_power_dbm 12 is not on the safe zone's 3 grid from 5"
    ]
    limited = admission_violations(
        RADIO, Region.FCC, CURRENT, ConfigChange(tx_power_dbm=11), zones, {"tx_power_dbm": 2}
    )
    assert limited == ["tx_power_dbm: 2 changes in the last hour reach the safe zone's limit of 2 per hour"]


def test_unchanged_parameters_do_not_count_against_the_safe_zone() -> None:
    zones = [SafeZoneLimit("channel", 36, 48, max_changes_per_hour=1)]
    assert admission_violations(RADIO, Region.FCC, CURRENT, ConfigChange(channel=36), zones, {"channel": 5}) == []


def test_a_capability_the_driver_lacks_is_named() -> None:
    problems = admission_violations(RADIO, Region.FCC, CURRENT, ConfigChange(obss_pd_dbm=-70))
    assert problems == ["obss_pd_dbm: this radio's driver cannot change it"]


def test_unsupported_width_is_refused() -> None:
    problems = admission_violations(RADIO, Region.FCC, CURRENT, ConfigChange(width_mhz=160))
    assert "width_mhz 160 is not supported by radio ap-1/5g" in problems
