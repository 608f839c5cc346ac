"""Array views of the world's emitters for one evaluation: radios, neighbour BSSs, non-Wi-Fi sources.

The spectrum of a radio (primary centre, occupied edges) comes from radio_domain.regulatory's
channel tables (rf-model.md section 5: 20 MHz channel centres). Under OBSS-PD a radio transmits at
most TX_PWRmax = 21 − (OBSS_PD + 82) dBm (rf-model 4), whatever its configured power.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from drivers.sim.airtime import obss_pd_tx_power_cap_dbm
from drivers.sim.medium import NonWifiSources, Transmitters
from drivers.sim.scenario_model import Interferer
from drivers.sim.sim_radio import SimRadio
from drivers.sim.spectrum import band_of_frequency, channel_at_frequency
from drivers.sim.world_layout import BAND_CODES
from radio_domain import regulatory
from radio_domain.radio import OBSS_PD_OFF_DBM, Band
from radio_domain.regulatory import Region

FloatArray = NDArray[np.float64]


@lru_cache(maxsize=4096)
def radio_spectrum(region: Region, band: Band, channel: int, width_mhz: int) -> tuple[float, float, float]:
    """(primary 20 MHz centre, lower edge, upper edge) in MHz of a radio on (channel, width)."""
    low, high = regulatory.span_mhz(region, band, channel, width_mhz)
    return regulatory.center_mhz(band, channel), low, high


@lru_cache(maxsize=4096)
def _needs_dfs(region: Region, band: Band, channel: int, width_mhz: int) -> bool:
    return regulatory.needs_dfs(region, band, channel, width_mhz)


def radios_on_dfs(region: Region, radios: Sequence[SimRadio]) -> NDArray[np.bool_]:
    """(R,) whether each radio's configured occupied channels need DFS (regulatory.needs_dfs)."""
    return np.array(
        [_needs_dfs(region, r.band, r.setting.channel, r.setting.width_mhz) for r in radios], dtype=np.bool_
    )


def neighbour_channel(item: Interferer) -> tuple[int, int]:
    """(primary channel, width) of an unmanaged neighbour BSS from its centre frequency."""
    band = band_of_frequency(item.freq_mhz)
    assert band is not None
    channel = channel_at_frequency(band, item.freq_mhz)
    assert channel is not None
    return channel, int(item.bandwidth_mhz)


def transmitters(
    region: Region,
    radios: Sequence[SimRadio],
    neighbours: Sequence[Interferer],
    neighbour_sites: Sequence[int],
    t: float,
) -> Transmitters:
    """Managed radios (active while operating) followed by unmanaged neighbour BSSs (active while scheduled)."""
    rows: list[tuple[float, ...]] = []
    for radio in radios:
        s = radio.setting
        primary, low, high = radio_spectrum(region, radio.band, s.channel, s.width_mhz)
        rows.append(
            (radio.ap_index, BAND_CODES[radio.band], primary, low, high, s.width_mhz, s.tx_power_dbm, s.obss_pd_dbm,
             float(radio.operating), np.nan)
        )  # fmt: skip
    for item, site in zip(neighbours, neighbour_sites, strict=True):
        band = band_of_frequency(item.freq_mhz)
        assert band is not None
        channel, width = neighbour_channel(item)
        primary, low, high = radio_spectrum(region, band, channel, width)
        rows.append(
            (site, BAND_CODES[band], primary, low, high, width, item.power_dbm, OBSS_PD_OFF_DBM,
             float(item.active_at(t)), item.duty_cycle)
        )  # fmt: skip
    table = np.array(rows, dtype=np.float64).reshape(-1, 10)
    obss = table[:, 7]
    return Transmitters(
        site=table[:, 0].astype(np.int64),
        band=table[:, 1].astype(np.int64),
        primary_mhz=table[:, 2].copy(),
        low_mhz=table[:, 3].copy(),
        high_mhz=table[:, 4].copy(),
        width_mhz=table[:, 5].copy(),
        tx_dbm=np.minimum(table[:, 6], obss_pd_tx_power_cap_dbm(obss)),
        obss_pd_dbm=obss.copy(),
        active=table[:, 8] > 0.5,
        fixed_airtime=table[:, 9].copy(),
        n_radios=len(radios),
    )


def non_wifi_sources(sources: Sequence[Interferer], sites: Sequence[int], t: float) -> NonWifiSources:
    """Microwave ovens and video senders, active while scheduled (rf-model 7)."""
    return NonWifiSources(
        site=np.array(sites, dtype=np.int64),
        centre_mhz=np.array([s.freq_mhz for s in sources], dtype=np.float64),
        width_mhz=np.array([s.bandwidth_mhz for s in sources], dtype=np.float64),
        power_dbm=np.array([s.power_dbm for s in sources], dtype=np.float64),
        duty=np.array([s.duty_cycle for s in sources], dtype=np.float64),
        active=np.array([s.active_at(t) for s in sources], dtype=np.bool_),
    )
