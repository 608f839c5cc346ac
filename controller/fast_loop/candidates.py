"""The discrete configuration space of one radio: regulatory legal set intersected with the safe zone.

A candidate is (channel, width, tx power, OBSS-PD). It is in the space when

- the channel is a legal 20 MHz primary of the band in the region and in the safe zone;
- the width is in the safe zone and the channel's bonding group at that width is legal
  (radio_domain/regulatory.py owns the tables; nothing here lists channels);
- the tx power is a step of the ladder (seed 000: 8, 11, ..., 23 dBm), in the safe zone and at or
  below the region's EIRP limit for that channel and width;
- the OBSS-PD level is in the safe zone (-82..-62 dBm, 802.11ax);
- unless ``allow_dfs``, no occupied channel needs radar detection: a move onto a DFS channel
  silences the radio for the 60-600 s CAC, a cost the reward of the next window does not show,
  so the fast loop leaves DFS moves to the DFS selector by default.

The safe zone comes in as plain data (``SafeValues``); ``SafeValues.from_zones`` reads anything
with ``minimum``, ``maximum`` and ``step`` (controller.site_policy.SafeZone fits) plus pins, so this
module does not depend on the policy machinery. ``candidate_table`` is cached per
(region, band, safe values): radios with the same zone share one table (a few hundred kB at the
full 9,450-point 5 GHz FCC space).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol

import numpy as np
import numpy.typing as npt

from radio_domain.radio import OBSS_PD_MAX_DBM, OBSS_PD_OFF_DBM, Band, RadioConfig
from radio_domain.regulatory import Region, channels, is_legal, max_tx_power_dbm, needs_dfs, widths

TX_POWER_LADDER_DBM: tuple[float, ...] = (8.0, 11.0, 14.0, 17.0, 20.0, 23.0)
OBSS_PD_LEVELS_DBM: tuple[int, ...] = tuple(range(OBSS_PD_OFF_DBM, OBSS_PD_MAX_DBM + 1))
PARAMETERS = ("channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm")


class ZoneBounds(Protocol):
    """The part of a safe zone the candidate space needs (site_policy.SafeZone has it)."""

    @property
    def minimum(self) -> float: ...
    @property
    def maximum(self) -> float: ...
    @property
    def step(self) -> float: ...


@dataclass(frozen=True, slots=True)
class SafeValues:
    """The values the safe zone allows per parameter; None means every legal value."""

    channels: tuple[int, ...] | None = None
    widths_mhz: tuple[int, ...] | None = None
    tx_powers_dbm: tuple[float, ...] = TX_POWER_LADDER_DBM
    obss_pd_dbm: tuple[int, ...] = OBSS_PD_LEVELS_DBM
    allow_dfs: bool = False
    # 40 MHz on 2.4 GHz overlaps two of the band's three clean channels and hurts every neighbour;
    # the loop does not explore it unless a site asks (it measured reward dips of 0.4 from it).
    allow_wide_2g: bool = False

    @staticmethod
    def from_zones(
        zones: Mapping[str, ZoneBounds],
        pins: Mapping[str, float | None],
        current: RadioConfig,
        tx_power_ladder: tuple[float, ...] = TX_POWER_LADDER_DBM,
        allow_dfs: bool = False,
    ) -> SafeValues:
        """Values inside each zone (on its step grid); a pinned parameter keeps only its pin.

        A pin of None pins the parameter as it is now (``current``).
        """

        def pinned(name: str) -> float | None:
            if name not in pins:
                return None
            value = pins[name]
            return float(getattr(current, name)) if value is None else float(value)

        def inside(name: str, values: tuple[float, ...]) -> tuple[float, ...]:
            zone = zones.get(name)
            if (pin := pinned(name)) is not None:
                return (pin,)
            if zone is None:
                return values
            return tuple(v for v in values if _in_zone(zone, v))

        legal_channels = tuple(float(c) for c in range(1, 234))
        return SafeValues(
            channels=tuple(int(c) for c in inside("channel", legal_channels)),
            widths_mhz=tuple(int(w) for w in inside("width_mhz", (20.0, 40.0, 80.0, 160.0))),
            tx_powers_dbm=inside("tx_power_dbm", tx_power_ladder),
            obss_pd_dbm=tuple(int(o) for o in inside("obss_pd_dbm", tuple(float(o) for o in OBSS_PD_LEVELS_DBM))),
            allow_dfs=allow_dfs,
        )

    def allows(self, config: RadioConfig) -> bool:
        """Whether every parameter of ``config`` is one of the allowed values (not legality)."""
        return (
            (self.channels is None or config.channel in self.channels)
            and (self.widths_mhz is None or config.width_mhz in self.widths_mhz)
            and config.tx_power_dbm in self.tx_powers_dbm
            and config.obss_pd_dbm in self.obss_pd_dbm
        )


def on_ladder(config: RadioConfig, safe: SafeValues) -> RadioConfig:
    """``config`` with its tx power snapped to the nearest allowed step (the lower on a tie).

    Operators and scenarios set powers off the ladder (18, 22 dBm). Compared as it is, such a
    config differs in power from every candidate, so a move of one parameter (a channel) would
    count as two and a cold trust region (radius 1) could never make it. The trust region
    measures distances from the snapped config instead; a proposal then carries the snap along.
    """
    steps = safe.tx_powers_dbm
    if not steps or config.tx_power_dbm in steps:
        return config
    nearest = min(steps, key=lambda p: (abs(p - config.tx_power_dbm), p))
    return replace(config, tx_power_dbm=float(nearest))


def _in_zone(zone: ZoneBounds, value: float) -> bool:
    if not zone.minimum <= value <= zone.maximum:
        return False
    if zone.step > 0:
        steps = (value - zone.minimum) / zone.step
        return abs(steps - round(steps)) <= 1e-6
    return True


@dataclass(frozen=True, slots=True)
class CandidateTable:
    """Every candidate of a space as four parallel arrays (row i is one configuration)."""

    channel: npt.NDArray[np.int64]
    width_mhz: npt.NDArray[np.int64]
    tx_power_dbm: npt.NDArray[np.float64]
    obss_pd_dbm: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.channel.size)

    def config(self, i: int, enabled: bool = True) -> RadioConfig:
        return RadioConfig(
            channel=int(self.channel[i]),
            width_mhz=int(self.width_mhz[i]),
            tx_power_dbm=float(self.tx_power_dbm[i]),
            obss_pd_dbm=int(self.obss_pd_dbm[i]),
            enabled=enabled,
        )

    def index_of(self, config: RadioConfig) -> int | None:
        hits = np.flatnonzero(
            (self.channel == config.channel)
            & (self.width_mhz == config.width_mhz)
            & (self.tx_power_dbm == config.tx_power_dbm)
            & (self.obss_pd_dbm == config.obss_pd_dbm)
        )
        return int(hits[0]) if hits.size else None

    def keys_in(self, keys: Iterable[tuple[int, int, float, int]]) -> npt.NDArray[np.bool_]:
        """Rows whose (channel, width, power, OBSS-PD) is one of ``keys``."""
        out = np.zeros(len(self), dtype=np.bool_)
        for channel, width, power, obss in keys:
            out |= (
                (self.channel == channel)
                & (self.width_mhz == width)
                & (np.abs(self.tx_power_dbm - power) < 1e-9)
                & (self.obss_pd_dbm == obss)
            )
        return out


@lru_cache(maxsize=256)
def candidate_table(region: Region, band: Band, safe: SafeValues) -> CandidateTable:
    """All legal, safe configurations of a radio on ``band`` in ``region`` (cached, shared)."""
    rows: list[tuple[int, int, float, int]] = []
    for ch in channels(region, band):
        if safe.channels is not None and ch not in safe.channels:
            continue
        for width in widths(band):
            if safe.widths_mhz is not None and width not in safe.widths_mhz:
                continue
            if band is Band.G2 and width > 20 and not safe.allow_wide_2g:
                continue
            if not is_legal(region, band, ch, width):
                continue
            if not safe.allow_dfs and needs_dfs(region, band, ch, width):
                continue
            cap = max_tx_power_dbm(region, band, ch, width)
            for power in safe.tx_powers_dbm:
                if power > cap:
                    continue
                rows.extend((ch, width, power, obss) for obss in safe.obss_pd_dbm)
    if not rows:
        return CandidateTable(
            np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(0, np.int64)
        )
    ch_a, w_a, p_a, o_a = zip(*rows, strict=True)
    table = CandidateTable(
        channel=np.asarray(ch_a, dtype=np.int64),
        width_mhz=np.asarray(w_a, dtype=np.int64),
        tx_power_dbm=np.asarray(p_a, dtype=np.float64),
        obss_pd_dbm=np.asarray(o_a, dtype=np.int64),
    )
    for array in (table.channel, table.width_mhz, table.tx_power_dbm, table.obss_pd_dbm):
        array.setflags(write=False)  # shared between radios: nobody may write into it
    return table
