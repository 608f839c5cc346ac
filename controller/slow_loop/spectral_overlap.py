"""How much one radio's transmissions hurt another's channel, as the slow loop's cost counts it.

``victim_fraction`` is the share of the victim's channel that the interferer's occupied spectrum
takes: 1 when the interferer covers the victim's primary 20 MHz channel (the victim's carrier
sense defers on its primary, so it loses the whole medium: rf-model.md section 4), otherwise the
overlapping MHz over the victim's width (a wide radio loses the bonded part only), and for
spectra that do not meet the transmit-mask leakage of rf-model.md section 5: about -22 dB when
the edges touch, falling to about -37 dB 20 MHz further away. On 2.4 GHz the 5 MHz channel
raster makes partial overlaps (channels 1 and 3 share 10 MHz), which the MHz count captures.
"""

from __future__ import annotations

from functools import lru_cache

from radio_domain import regulatory
from radio_domain.radio import Band
from radio_domain.regulatory import Region

ADJACENT_LEAKAGE = 10.0 ** (-22.0 / 10.0)
FAR_LEAKAGE = 10.0 ** (-37.0 / 10.0)
LEAKAGE_FADE_MHZ = 20.0


@lru_cache(maxsize=4096)
def occupied_span(region: Region, band: Band, channel: int, width_mhz: int) -> tuple[float, float]:
    """Edges (MHz) of the spectrum a radio on (channel, width) occupies; raises RegulatoryError if illegal."""
    return regulatory.span_mhz(region, band, channel, width_mhz)


@lru_cache(maxsize=65536)
def victim_fraction(region: Region, band: Band, victim: tuple[int, int], interferer: tuple[int, int]) -> float:
    """Share (0..1) of the victim's (channel, width) lost to an interferer on (channel, width)."""
    v_low, v_high = occupied_span(region, band, *victim)
    i_low, i_high = occupied_span(region, band, *interferer)
    primary = regulatory.center_mhz(band, victim[0])
    if i_low <= primary - 10.0 + 1e-6 and primary + 10.0 - 1e-6 <= i_high:
        return 1.0
    overlap = min(v_high, i_high) - max(v_low, i_low)
    if overlap > 0.0:
        return overlap / (v_high - v_low)
    gap = -overlap
    if gap >= LEAKAGE_FADE_MHZ:
        return FAR_LEAKAGE
    share = gap / LEAKAGE_FADE_MHZ
    return float(ADJACENT_LEAKAGE ** (1.0 - share) * FAR_LEAKAGE**share)
