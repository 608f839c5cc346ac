from __future__ import annotations

import pytest

from controller.fast_loop.candidates import SafeValues, candidate_table
from controller.site_policy import DEFAULT_ZONES, SafeZone
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region, is_legal, max_tx_power_dbm, needs_dfs

pytestmark = pytest.mark.unit


def test_every_candidate_is_legal_and_inside_the_safe_values() -> None:
    safe = SafeValues(channels=(36, 40, 44, 48, 52, 149), widths_mhz=(20, 40, 80), tx_powers_dbm=(11.0, 14.0, 26.0))
    table = candidate_table(Region.ETSI, Band.G5, safe)
    assert len(table) > 0
    for i in range(len(table)):
        c = table.config(i)
        assert is_legal(Region.ETSI, Band.G5, c.channel, c.width_mhz)
        assert c.tx_power_dbm <= max_tx_power_dbm(Region.ETSI, Band.G5, c.channel, c.width_mhz)
        assert not needs_dfs(Region.ETSI, Band.G5, c.channel, c.width_mhz)
        assert safe.allows(c)
    channels = {int(ch) for ch in table.channel}
    assert channels == {36, 40, 44, 48}  # 52 is DFS, 149 is not an ETSI channel
    assert 26.0 not in set(table.tx_power_dbm)  # above the 23 dBm ETSI limit on 36-48


def test_dfs_channels_only_when_allowed_and_the_table_is_shared_read_only() -> None:
    with_dfs = candidate_table(Region.FCC, Band.G5, SafeValues(allow_dfs=True))
    assert len(with_dfs) == 11_214 and 100 in set(with_dfs.channel)
    assert candidate_table(Region.FCC, Band.G5, SafeValues(allow_dfs=True)) is with_dfs
    with pytest.raises(ValueError, match="read-only"):
        with_dfs.channel[0] = 1


def test_safe_values_from_policy_zones_and_pins() -> None:
    zones = dict(DEFAULT_ZONES)
    zones["tx_power_dbm"] = SafeZone("tx_power_dbm", 10, 20, 17, step=1)
    zones["channel"] = SafeZone("channel", 36, 48, 36)
    current = RadioConfig(40, 40, 17.0, -78)
    safe = SafeValues.from_zones(zones, {"width_mhz": None, "obss_pd_dbm": -70}, current)
    assert safe.tx_powers_dbm == (11.0, 14.0, 17.0, 20.0)
    assert safe.widths_mhz == (40,)  # pinned as it is
    assert safe.obss_pd_dbm == (-70,)
    table = candidate_table(Region.FCC, Band.G5, safe)
    assert {int(c) for c in table.channel} == {36, 40, 44, 48}
    assert set(table.width_mhz) == {40}
