"""Per-channel evidence a cold model can trust: an ACS-like score from the radio's neighbour scan.

hostapd's ACS (../shared/facts/rrm-landscape.md section 2) scores each channel by how busy its
survey found it, summing the 20 MHz members of a wide channel; the lowest score wins. The
controller has the same kind of evidence without a survey: every radio reports the BSSs it hears
on any channel of its band (the AP's off-channel neighbour scan: channel, width, RSSI), and the
controller knows the airtime of every managed one from its own telemetry. ``busy(channel,
width)`` is the share of the medium the radio would expect others to take there:

- a heard BSS whose occupied spectrum covers the candidate's primary 20 MHz and is heard at the
  preamble-detect level (-82 dBm) takes its whole airtime (the radio defers to it);
- one that only overlaps the candidate's span (adjacent 2.4 GHz channels, a secondary) counts
  with twice the overlapped share of the candidate's span (at most its whole airtime), when it
  is heard at -82 dBm after that share: it cannot be decoded, so it is not deferred to and its
  frames collide with ours (hostapd weighs adjacent 2.4 GHz channels 0.85 and 0.55 for the same
  reason; the simulator measured a 0.26 reward loss from a move onto channel 9 between 6 and 11);
- the airtime of a managed BSS is its latest ``tx_airtime``; an unmanaged one's is unknown and
  taken as ``UNMANAGED_AIRTIME`` (0.3);
- the busy time the radio measures on its own channel (CCA busy, which also holds non-Wi-Fi
  energy and BSSs too weak to report) beyond what the heard BSSs explain stays with that
  spectrum: a candidate gets it in proportion to how much of its span overlaps the current one,
  so a move away from a microwave oven is seen as the gain it is, and a new primary inside the
  same bonded channel is not mistaken for a clean one.

The optimiser uses ``prior_reward`` as the GP's prior mean: ``-PRIOR_WEIGHT * busy`` (0.5 reward
units per unit of busy medium, a conservative slope: a radio squeezed to half the medium loses
more QoE than 0.25 in the simulator), so a move to a clearly cleaner channel is predicted as a
gain before it was ever tried, and the GP learns the rest from what is observed. OBSS-PD and
power are left out of the prior on purpose: their effect depends on the clients' SINR, which a
scan does not show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from radio_domain.radio import Band
from radio_domain.regulatory import Region, center_mhz, is_legal, span_mhz

PREAMBLE_DETECT_DBM = -82.0
UNMANAGED_AIRTIME = 0.3
PRIOR_WEIGHT = 0.5
PARTIAL_OVERLAP_WEIGHT = 2.0
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class HeardBss:
    """One BSS in the radio's neighbour scan; ``airtime`` None when it is not ours (unknown)."""

    channel: int
    width_mhz: int
    rssi_dbm: float
    airtime: float | None = None


@dataclass(frozen=True, slots=True)
class ChannelEvidence:
    """What one radio's scan and measurements say about each channel of its band (module docstring)."""

    region: Region
    band: Band
    channel: int  # the radio's channel and width when the evidence was taken
    width_mhz: int
    measured_busy: float  # CCA busy on that channel (median over the window)
    heard: tuple[HeardBss, ...] = ()

    def busy(self, channel: int, width_mhz: int) -> float:
        """The share of the medium others are expected to take on (channel, width), in [0, 1]."""
        if not is_legal(self.region, self.band, channel, width_mhz):
            return 1.0
        low, high = span_mhz(self.region, self.band, channel, width_mhz)
        primary = center_mhz(self.band, channel)
        total = sum(self._share(bss, low, high, primary) for bss in self.heard)
        return min(1.0, total + self._unexplained() * self._overlap_with_current(low, high))

    def _unexplained(self) -> float:
        """Busy time measured on the current channel that no heard BSS explains."""
        low, high = span_mhz(self.region, self.band, self.channel, self.width_mhz)
        primary = center_mhz(self.band, self.channel)
        explained = sum(self._share(bss, low, high, primary) for bss in self.heard)
        return max(0.0, self.measured_busy - explained)

    def _overlap_with_current(self, low: float, high: float) -> float:
        c_low, c_high = span_mhz(self.region, self.band, self.channel, self.width_mhz)
        return max(0.0, min(high, c_high) - max(low, c_low)) / (high - low)

    def _share(self, bss: HeardBss, low: float, high: float, primary: float) -> float:
        if not is_legal(self.region, self.band, bss.channel, bss.width_mhz):
            return 0.0
        b_low, b_high = span_mhz(self.region, self.band, bss.channel, bss.width_mhz)
        overlap = min(high, b_high) - max(low, b_low)
        if overlap <= 0.0:
            return 0.0
        airtime = UNMANAGED_AIRTIME if bss.airtime is None else min(1.0, max(0.0, bss.airtime))
        if b_low <= primary - 10.0 + 1e-6 and primary + 10.0 - 1e-6 <= b_high:
            return airtime if bss.rssi_dbm >= PREAMBLE_DETECT_DBM else 0.0
        fraction = overlap / (high - low)
        heard = bss.rssi_dbm + 10.0 * math.log10(fraction) >= PREAMBLE_DETECT_DBM
        return airtime * min(1.0, PARTIAL_OVERLAP_WEIGHT * fraction) if heard else 0.0

    def prior_reward(self, channel: npt.ArrayLike, width_mhz: npt.ArrayLike) -> FloatArray:
        """The prior mean of the reward per row: ``-PRIOR_WEIGHT * busy`` (constant offsets cancel).

        Busy is taken at the radio's current width (``width_mhz`` only shapes the rows): a wider
        channel hears more BSSs but also carries more per unit of airtime, and a scan says nothing
        about that trade (the simulator measured 0.2-0.28 reward losses from 40 -> 20 MHz moves a
        width-aware busy figure called cleaner), so width is left to the GP and its observations.
        """
        ch = np.asarray(channel, dtype=np.int64).ravel()
        np.asarray(width_mhz, dtype=np.int64).ravel()  # validated, not used
        memo: dict[int, float] = {}
        out = np.empty(ch.size, dtype=np.float64)
        for i, c in enumerate(ch.tolist()):
            if c not in memo:
                memo[c] = -PRIOR_WEIGHT * self.busy(c, self.width_mhz) if self._legal(c) else -PRIOR_WEIGHT
            out[i] = memo[c]
        return out

    def _legal(self, channel: int) -> bool:
        return is_legal(self.region, self.band, channel, self.width_mhz)


def heard_from_scan(
    scan: Iterable[tuple[str, bool, int, int, float]], airtimes: Mapping[str, float]
) -> tuple[HeardBss, ...]:
    """``HeardBss`` from scan entries (neighbour id, managed, channel, width, RSSI) and our radios' airtime."""
    return tuple(
        HeardBss(channel, width, rssi, airtimes.get(neighbour_id) if managed else None)
        for neighbour_id, managed, channel, width, rssi in scan
    )
