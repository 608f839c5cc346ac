"""What a radio's DFS machinery remembers, and where it goes when radar hits (hostapd's behaviour).

Per radio: the 20 MHz channels in their 30-minute non-occupancy period (NOP) after radar and the
channels a channel availability check (CAC) has cleared (regulatory.NOP_SECONDS,
regulatory.cac_seconds; ARCHITECTURE.md invariant 1). A cleared channel stays usable until radar
hits it. The landing choice after radar follows hostapd (src/ap/dfs.c ``dfs_get_valid_channel``):
uniformly at random among the channels of the configured list (hostapd's ``chanlist``, which only
filters, it does not order) that are legal, not in NOP and available at the current width (FCC
and JP: non-DFS or cleared by a CAC, hostapd's DFS_AVAILABLE; ETSI: any, DFS_ANY_CHANNEL for
uniform spreading, so an uncleared landing means a CAC), where above 20 MHz only the first
channel of a bonding group counts; narrower widths only if none fits; with no listed channel
usable, a random legal non-DFS channel. So an agent that wants a deterministic landing lists one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from radio_domain import regulatory
from radio_domain.radio import Band
from radio_domain.regulatory import Region


@dataclass
class DfsMemory:
    """NOP deadlines and CAC-cleared channels of one radio."""

    nop_until: dict[int, float] = field(default_factory=dict)
    cleared: set[int] = field(default_factory=set)

    def blocked(self, group: Sequence[int], now: float) -> list[int]:
        """The channels of ``group`` still in their non-occupancy period at ``now``."""
        return [c for c in group if self.nop_until.get(c, -np.inf) > now]

    def nop_left_s(self, group: Sequence[int], now: float) -> float:
        return max((self.nop_until[c] - now for c in self.blocked(group, now)), default=0.0)

    def mark_radar(self, group: Sequence[int], now: float) -> None:
        """Radar seen on ``group``: every channel enters NOP and loses its clearance."""
        for c in group:
            self.nop_until[c] = now + regulatory.NOP_SECONDS
            self.cleared.discard(c)

    def mark_cleared(self, group: Sequence[int]) -> None:
        self.cleared.update(group)

    def is_cleared(self, group: Sequence[int]) -> bool:
        return all(c in self.cleared for c in group)


def needs_cac(region: Region, band: Band, channel: int, width_mhz: int, memory: DfsMemory) -> float:
    """CAC seconds needed before transmitting on (channel, width); 0 when non-DFS or already cleared."""
    seconds = regulatory.cac_seconds(region, band, channel, width_mhz)
    if seconds <= 0.0 or memory.is_cleared(regulatory.bonding_group(region, band, channel, width_mhz)):
        return 0.0
    return seconds


def _usable(region: Region, band: Band, channel: int, width_mhz: int, memory: DfsMemory, now: float) -> bool:
    if not regulatory.is_legal(region, band, channel, width_mhz):
        return False
    return not memory.blocked(regulatory.bonding_group(region, band, channel, width_mhz), now)


def choose_radar_landing(
    region: Region,
    band: Band,
    width_mhz: int,
    fallback: Sequence[int],
    memory: DfsMemory,
    now: float,
    rng: np.random.Generator,
) -> tuple[int, int]:
    """(channel, width) a radio moves to after radar (module docstring).

    The width is the current one or the widest narrower one that fits. Raises RegulatoryError when
    the band has no usable channel at all (cannot happen with the shipped regulatory tables).
    """
    widths = [w for w in sorted(regulatory.widths(band), reverse=True) if w <= width_mhz]
    for w in widths:
        listed = sorted(
            {
                c
                for c in fallback
                if _usable(region, band, c, w, memory, now)
                and regulatory.bonding_group(region, band, c, w)[0] == c
                and (region is Region.ETSI or needs_cac(region, band, c, w, memory) == 0.0)
            }
        )
        if listed:
            return listed[int(rng.integers(len(listed)))], w
    for w in widths:
        candidates = [
            c
            for c in regulatory.channels(region, band)
            if _usable(region, band, c, w, memory, now) and not regulatory.needs_dfs(region, band, c, w)
        ]
        if candidates:
            return int(candidates[int(rng.integers(len(candidates)))]), w
    raise regulatory.RegulatoryError(f"no usable non-DFS {band.value} channel in {region.value}")
