"""Control-interface commands built from what the product asks for (pure).

``CHAN_SWITCH <cs_count> <freq> center_freq1= bandwidth= sec_channel_offset= [ht] [vht] [he]`` is
parsed by hostapd's ``hostapd_parse_csa_settings`` and checked by ``hostapd_ctrl_check_freq_params``:
at 20 MHz the centre is the primary and the offset 0; at 40/80/160 MHz the offset is +1 when the
primary is the lower channel of its 40 MHz pair and -1 when it is the upper one, and the centre is
the middle of the bonding group. ``SET chanlist`` takes channel numbers separated by spaces; an empty
list lifts the restriction. hostapd treats the list as a set and picks among it at random.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drivers.hostapd.frequencies import frequency_of_channel
from radio_domain.radio import Band
from radio_domain.regulatory import Region, bonding_group, channels

CSA_BEACONS = 5  # the count hostapd uses for its own CSA after radar (src/ap/dfs.c)

# The widest channel plan per band, for a radio whose region the driver was not told: the kernel's
# regulatory domain and hostapd still refuse what is illegal where the AP stands.
_WIDEST_PLAN: dict[Band, Region] = {Band.G2: Region.ETSI, Band.G5: Region.FCC, Band.G6: Region.FCC}


class CommandError(ValueError):
    """The request cannot be expressed for this radio; the message says why."""


@dataclass(frozen=True, slots=True)
class PhyModes:
    """What hostapd runs: 802.11n (HT), 802.11ac (VHT), 802.11ax (HE), from STATUS."""

    ht: bool
    vht: bool
    he: bool


def plan_region(band: Band, region: Region | None) -> Region:
    """The region whose channel plan applies: the one given, else the widest plan for the band."""
    return region if region is not None else _WIDEST_PLAN[band]


def band_channels(band: Band, region: Region | None) -> tuple[int, ...]:
    return channels(plan_region(band, region), band)


def chan_switch_command(
    band: Band,
    channel: int,
    width_mhz: int,
    modes: PhyModes,
    region: Region | None,
    cs_count: int = CSA_BEACONS,
) -> str:
    """The CHAN_SWITCH that moves the radio to (channel, width) with a CSA of ``cs_count`` beacons."""
    if not 1 <= cs_count <= 255:
        raise CommandError(f"cs_count {cs_count} is not 1-255")
    _check_modes(band, width_mhz, modes)
    group = bonding_group(plan_region(band, region), band, channel, width_mhz)
    freq = frequency_of_channel(band, channel)
    if width_mhz == 20:
        centre, offset = freq, 0
    else:
        centre = (frequency_of_channel(band, group[0]) + frequency_of_channel(band, group[-1])) // 2
        offset = 1 if group.index(channel) % 2 == 0 else -1
    flags = [name for name, on in (("ht", modes.ht), ("vht", modes.vht and band is Band.G5), ("he", modes.he)) if on]
    words = [
        "CHAN_SWITCH",
        str(cs_count),
        str(freq),
        f"center_freq1={centre}",
        f"bandwidth={width_mhz}",
        f"sec_channel_offset={offset}",
        *flags,
    ]
    return " ".join(words)


def _check_modes(band: Band, width_mhz: int, modes: PhyModes) -> None:
    if band is Band.G6 and not modes.he:
        raise CommandError("a 6 GHz channel needs 802.11ax, which this hostapd does not run")
    if width_mhz >= 40 and not (modes.ht or modes.he):
        raise CommandError(f"{width_mhz} MHz needs 802.11n or later; this hostapd runs without ieee80211n")
    if width_mhz >= 80 and not (modes.vht or modes.he):
        raise CommandError(f"{width_mhz} MHz needs 802.11ac or 802.11ax; this hostapd runs neither")
    if width_mhz >= 80 and band is Band.G2:
        raise CommandError(f"{width_mhz} MHz is not possible on 2.4 GHz")


def set_chanlist_command(band: Band, fallback: Sequence[int], region: Region | None) -> str:
    """``SET chanlist ...`` restricting hostapd's radar fallback (and ACS) to these channels."""
    legal = band_channels(band, region)
    wrong = [c for c in fallback if c not in legal]
    if wrong:
        plan = region.value if region is not None else "any region"
        raise CommandError(f"channels {wrong} are not {band.value} channels in {plan}")
    unique = list(dict.fromkeys(fallback))
    return "SET chanlist " + " ".join(str(c) for c in unique)
