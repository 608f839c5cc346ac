"""The agent's own memory of radar hits: it outlives restarts and blocks moves and rollbacks alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.change_admission import admission_violations
from edge_agent.non_occupancy import NonOccupancyTimers, radar_channels
from radio_domain.radio import ConfigChange, RadioConfig
from radio_domain.regulatory import NOP_SECONDS, Region
from rrm.sqlite_files import open_database
from tests.unit.test_change_admission import RADIO

pytestmark = pytest.mark.unit


def test_a_radar_hit_is_remembered_across_an_agent_restart_until_it_expires(tmp_path: Path) -> None:
    NonOccupancyTimers(open_database(tmp_path / "a.db")).block("ap-1/5g", [52, 56], until=1000.0 + NOP_SECONDS)
    reopened = NonOccupancyTimers(open_database(tmp_path / "a.db"))
    assert reopened.blocked("ap-1/5g", now=1500.0) == {52: 2800.0, 56: 2800.0}
    assert reopened.blocked("ap-1/5g", now=2800.0) == {}
    assert reopened.blocked("ap-2/5g", now=1500.0) == {}


def test_a_second_hit_extends_a_block_and_never_shortens_it(tmp_path: Path) -> None:
    timers = NonOccupancyTimers(open_database(tmp_path / "a.db"))
    timers.block("ap-1/5g", [52], until=3000.0)
    timers.block("ap-1/5g", [52], until=2000.0)
    assert timers.blocked("ap-1/5g", now=0.0) == {52: 3000.0}


def test_radar_event_metadata_names_the_blocked_channels_and_at_least_thirty_minutes() -> None:
    assert radar_channels(52, {"nop_channels": "52,56,60,64", "nop_s": "1800"}) == ([52, 56, 60, 64], NOP_SECONDS)
    assert radar_channels(100, {}) == ([100], NOP_SECONDS)
    assert radar_channels(100, {"nop_s": "60"}) == ([100], NOP_SECONDS)


def test_no_move_onto_any_channel_of_a_blocked_group() -> None:
    current = RadioConfig(channel=36, width_mhz=20, tx_power_dbm=17.0)
    blocked = {56: 2800.0}
    assert admission_violations(
        RADIO, Region.FCC, current, ConfigChange(channel=52, width_mhz=40), non_occupancy=blocked
    ) == ["regulatory: channels [56] are in their non-occupancy period after radar (until unix time 2800)"]
    assert admission_violations(RADIO, Region.FCC, current, ConfigChange(channel=60), non_occupancy=blocked) == []
