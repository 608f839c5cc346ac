"""Regulatory channel tables: which channels, widths and powers are legal where.

Every part of the product asks this module; nothing else lists channels. The tables are data
(``_RULES``), the functions below only read them.

Sources: channel plans of FCC 47 CFR 15.247/15.407, ETSI EN 300 328 / EN 301 893 / EN 303 687 and
Japan's MIC rules as summarised in ../shared/facts/dfs.md (CAC 60 s, 600 s on ETSI weather radar
channels overlapping 5600-5650 MHz, NOP 30 min). The power limits are EIRP figures for indoor
access points, rounded and conservative (6 GHz: low-power indoor with its PSD cap, 5 dBm/MHz FCC
and 10 dBm/MHz ETSI/JP, capped at 23 dBm EIRP in ETSI/JP); they are recalled values [M], not
re-read from the primary texts, so deployments should narrow them with safe zones.

A radio's ``channel`` is its primary 20 MHz channel; the width picks the bonding group that
contains it (5/6 GHz: the fixed 40/80/160 MHz groups; 2.4 GHz 40 MHz: secondary above the primary
when that is legal, else below).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from math import log10

from radio_domain.radio import Band

CAC_SECONDS = 60.0
WEATHER_CAC_SECONDS = 600.0
NOP_SECONDS = 30 * 60.0
WEATHER_RADAR_MHZ = (5600.0, 5650.0)


class Region(StrEnum):
    FCC = "FCC"
    ETSI = "ETSI"
    JP = "JP"


@dataclass(frozen=True, slots=True)
class _PowerRule:
    band: Band
    first: int
    last: int
    max_eirp_dbm: float
    psd_dbm_per_mhz: float | None = None


@dataclass(frozen=True, slots=True)
class _RegionRules:
    channels: dict[Band, tuple[int, ...]]
    power: tuple[_PowerRule, ...]
    weather_cac: bool


def _span(first: int, last: int, step: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1, step))


_5G_LOW = _span(36, 64, 4)
_5G_MID = _span(100, 140, 4)
_5G_HIGH = _span(149, 165, 4)

_RULES: dict[Region, _RegionRules] = {
    Region.FCC: _RegionRules(
        channels={
            Band.G2: _span(1, 11, 1),
            Band.G5: _5G_LOW + _5G_MID + (144,) + _5G_HIGH,
            Band.G6: _span(1, 233, 4),
        },
        power=(
            _PowerRule(Band.G2, 1, 11, 30.0),
            _PowerRule(Band.G5, 36, 48, 30.0),
            _PowerRule(Band.G5, 52, 144, 24.0),
            _PowerRule(Band.G5, 149, 165, 30.0),
            _PowerRule(Band.G6, 1, 233, 30.0, psd_dbm_per_mhz=5.0),
        ),
        weather_cac=False,
    ),
    Region.ETSI: _RegionRules(
        channels={
            Band.G2: _span(1, 13, 1),
            Band.G5: _5G_LOW + _5G_MID,
            Band.G6: _span(1, 93, 4),
        },
        power=(
            _PowerRule(Band.G2, 1, 13, 20.0),
            _PowerRule(Band.G5, 36, 64, 23.0),
            _PowerRule(Band.G5, 100, 140, 30.0),
            _PowerRule(Band.G6, 1, 93, 23.0, psd_dbm_per_mhz=10.0),
        ),
        weather_cac=True,
    ),
    Region.JP: _RegionRules(
        channels={
            Band.G2: _span(1, 13, 1),
            Band.G5: _5G_LOW + _5G_MID + (144,),
            Band.G6: _span(1, 93, 4),
        },
        power=(
            _PowerRule(Band.G2, 1, 13, 20.0),
            _PowerRule(Band.G5, 36, 144, 23.0),
            _PowerRule(Band.G6, 1, 93, 23.0, psd_dbm_per_mhz=10.0),
        ),
        weather_cac=False,
    ),
}

_DFS_5G = (5250.0, 5730.0)  # UNII-2A and UNII-2C: channels 52-144 need radar detection
_WIDTHS: dict[Band, tuple[int, ...]] = {
    Band.G2: (20, 40),
    Band.G5: (20, 40, 80, 160),
    Band.G6: (20, 40, 80, 160),
}
# First 20 MHz channel of each 5 GHz bonding group, per width (802.11ac/ax channelisation).
_5G_GROUP_STARTS: dict[int, tuple[int, ...]] = {
    40: (36, 44, 52, 60, 100, 108, 116, 124, 132, 140, 149, 157),
    80: (36, 52, 100, 116, 132, 149),
    160: (36, 100),
}


class RegulatoryError(ValueError):
    """A channel, width or power that is not legal; the message names what and where."""


def parse_region(value: str) -> Region:
    try:
        return Region(value)
    except ValueError:
        raise RegulatoryError(f"region {value!r} is unknown; expected one of FCC, ETSI, JP") from None


def center_mhz(band: Band, channel: int) -> float:
    """Centre frequency of a 20 MHz channel."""
    if band is Band.G2:
        return 2484.0 if channel == 14 else 2407.0 + 5.0 * channel
    if band is Band.G5:
        return 5000.0 + 5.0 * channel
    return 5950.0 + 5.0 * channel


def channels(region: Region, band: Band) -> tuple[int, ...]:
    """Every legal 20 MHz channel of a band in a region."""
    return _RULES[region].channels[band]


def is_psc(band: Band, channel: int) -> bool:
    """A 6 GHz preferred scanning channel (5, 21, 37, ... 229: every fourth 20 MHz channel from 5).

    Clients scanning 6 GHz passively look only there first; off 6 GHz every channel counts as one.
    """
    return band is not Band.G6 or (channel - 5) % 16 == 0


def widths(band: Band) -> tuple[int, ...]:
    return _WIDTHS[band]


def bonding_group(region: Region, band: Band, channel: int, width_mhz: int) -> tuple[int, ...]:
    """The 20 MHz channels a radio occupies; raises RegulatoryError when the combination is illegal."""
    legal = channels(region, band)
    if channel not in legal:
        raise RegulatoryError(f"channel {channel} is not a legal {band.value} channel in {region.value}")
    if width_mhz not in _WIDTHS[band]:
        raise RegulatoryError(
            f"width {width_mhz} MHz is not supported on {band.value}; expected one of {list(_WIDTHS[band])}"
        )
    if width_mhz == 20:
        return (channel,)
    if band is Band.G2:
        for secondary in (channel + 4, channel - 4):
            if secondary in legal:
                return tuple(sorted((channel, secondary)))
        raise RegulatoryError(f"channel {channel} has no 40 MHz secondary in {region.value}")
    group = _group(band, channel, width_mhz)
    if any(c not in legal for c in group):
        raise RegulatoryError(
            f"channel {channel} at {width_mhz} MHz needs channels {list(group)}, "
            f"not all legal on {band.value} in {region.value}"
        )
    return group


def _group(band: Band, channel: int, width_mhz: int) -> tuple[int, ...]:
    n = width_mhz // 20
    if band is Band.G6:
        start = channel - ((channel - 1) % (4 * n))
        return tuple(range(start, start + 4 * n, 4))
    for start in _5G_GROUP_STARTS[width_mhz]:
        group = tuple(range(start, start + 4 * n, 4))
        if channel in group:
            return group
    raise RegulatoryError(f"channel {channel} belongs to no {width_mhz} MHz group on {band.value}")


def occupied_mhz(band: Band, group: tuple[int, ...]) -> tuple[float, float]:
    """Lower and upper edge of the spectrum a bonding group occupies."""
    return center_mhz(band, group[0]) - 10.0, center_mhz(band, group[-1]) + 10.0


def span_mhz(region: Region, band: Band, channel: int, width_mhz: int) -> tuple[float, float]:
    """Edges of the spectrum a radio on (channel, width) occupies."""
    return occupied_mhz(band, bonding_group(region, band, channel, width_mhz))


def is_legal(region: Region, band: Band, channel: int, width_mhz: int) -> bool:
    try:
        bonding_group(region, band, channel, width_mhz)
    except RegulatoryError:
        return False
    return True


def needs_dfs(region: Region, band: Band, channel: int, width_mhz: int) -> bool:
    """Whether radar detection (CAC, in-service monitoring) applies to any occupied channel."""
    if band is not Band.G5:
        return False
    low, high = span_mhz(region, band, channel, width_mhz)
    return low < _DFS_5G[1] and high > _DFS_5G[0]


def cac_seconds(region: Region, band: Band, channel: int, width_mhz: int) -> float:
    """Channel availability check before first use: 0 on non-DFS channels."""
    if not needs_dfs(region, band, channel, width_mhz):
        return 0.0
    low, high = span_mhz(region, band, channel, width_mhz)
    weather = low < WEATHER_RADAR_MHZ[1] and high > WEATHER_RADAR_MHZ[0]
    return WEATHER_CAC_SECONDS if weather and _RULES[region].weather_cac else CAC_SECONDS


def max_tx_power_dbm(region: Region, band: Band, channel: int, width_mhz: int) -> float:
    """Highest legal EIRP for the radio: the lowest limit over its occupied channels."""
    group = bonding_group(region, band, channel, width_mhz)
    limit = float("inf")
    for c in group:
        rule = _power_rule(region, band, c)
        cap = rule.max_eirp_dbm
        if rule.psd_dbm_per_mhz is not None:
            cap = min(cap, rule.psd_dbm_per_mhz + 10.0 * log10(width_mhz))
        limit = min(limit, cap)
    return limit


def _power_rule(region: Region, band: Band, channel: int) -> _PowerRule:
    for rule in _RULES[region].power:
        if rule.band is band and rule.first <= channel <= rule.last:
            return rule
    raise RegulatoryError(f"no power rule for {band.value} channel {channel} in {region.value}")


def check_config(region: Region, band: Band, channel: int, width_mhz: int, tx_power_dbm: float) -> None:
    """Raise RegulatoryError naming the parameter if the configuration is not legal."""
    bonding_group(region, band, channel, width_mhz)
    limit = max_tx_power_dbm(region, band, channel, width_mhz)
    if tx_power_dbm > limit:
        raise RegulatoryError(
            f"tx power {tx_power_dbm:g} dBm exceeds the {region.value} limit of {limit:g} dBm "
            f"for {band.value} channel {channel} at {width_mhz} MHz"
        )
