"""The regulatory tables every other part asks."""

from __future__ import annotations

import pytest

from radio_domain import regulatory as reg
from radio_domain.radio import Band
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit


def test_channel_sets_differ_by_region() -> None:
    assert 13 in reg.channels(Region.ETSI, Band.G2)
    assert 13 not in reg.channels(Region.FCC, Band.G2)
    assert 149 in reg.channels(Region.FCC, Band.G5)
    assert 149 not in reg.channels(Region.ETSI, Band.G5)
    assert max(reg.channels(Region.FCC, Band.G6)) == 233
    assert max(reg.channels(Region.ETSI, Band.G6)) == 93


@pytest.mark.parametrize(
    ("band", "channel", "width", "group"),
    [
        (Band.G5, 44, 40, (44, 48)),
        (Band.G5, 60, 80, (52, 56, 60, 64)),
        (Band.G5, 112, 160, (100, 104, 108, 112, 116, 120, 124, 128)),
        (Band.G6, 37, 80, (33, 37, 41, 45)),
        (Band.G6, 1, 160, (1, 5, 9, 13, 17, 21, 25, 29)),
        (Band.G2, 1, 40, (1, 5)),
        (Band.G2, 11, 40, (7, 11)),
    ],
)
def test_bonding_groups(band: Band, channel: int, width: int, group: tuple[int, ...]) -> None:
    assert reg.bonding_group(Region.FCC, band, channel, width) == group


def test_a_group_that_leaves_the_legal_set_is_illegal() -> None:
    with pytest.raises(reg.RegulatoryError, match="not all legal"):
        reg.bonding_group(Region.ETSI, Band.G5, 140, 80)  # needs 144, not legal in ETSI
    assert reg.is_legal(Region.FCC, Band.G5, 140, 80)
    with pytest.raises(reg.RegulatoryError, match="not a legal 2g channel"):
        reg.bonding_group(Region.FCC, Band.G2, 14, 20)


def test_dfs_and_cac_durations() -> None:
    assert not reg.needs_dfs(Region.FCC, Band.G5, 48, 20)
    assert reg.needs_dfs(Region.FCC, Band.G5, 52, 20)
    assert reg.needs_dfs(Region.FCC, Band.G5, 36, 160)  # the 160 MHz group spans 52-64
    assert reg.cac_seconds(Region.FCC, Band.G5, 120, 20) == 60.0
    assert reg.cac_seconds(Region.ETSI, Band.G5, 124, 20) == 600.0  # weather radar, 5600-5650 MHz
    assert reg.cac_seconds(Region.ETSI, Band.G5, 116, 20) == 60.0
    assert reg.cac_seconds(Region.ETSI, Band.G5, 100, 160) == 600.0
    assert reg.cac_seconds(Region.ETSI, Band.G5, 36, 20) == 0.0
    assert reg.cac_seconds(Region.FCC, Band.G6, 37, 20) == 0.0


def test_power_limits_take_the_strictest_occupied_channel_and_psd() -> None:
    assert reg.max_tx_power_dbm(Region.FCC, Band.G5, 36, 20) == 30.0
    assert reg.max_tx_power_dbm(Region.FCC, Band.G5, 36, 160) == 24.0  # the group includes UNII-2A
    assert reg.max_tx_power_dbm(Region.FCC, Band.G6, 1, 20) == pytest.approx(18.0, abs=0.1)
    assert reg.max_tx_power_dbm(Region.FCC, Band.G6, 1, 160) == pytest.approx(27.0, abs=0.1)
    assert reg.max_tx_power_dbm(Region.ETSI, Band.G2, 6, 20) == 20.0
    with pytest.raises(reg.RegulatoryError, match="exceeds the ETSI limit of 20 dBm"):
        reg.check_config(Region.ETSI, Band.G2, 6, 20, 21.0)


def test_unknown_region_is_named() -> None:
    with pytest.raises(reg.RegulatoryError, match="'XX' is unknown"):
        reg.parse_region("XX")
