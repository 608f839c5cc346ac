"""The shared medium at one instant: who is on air where, who hears whom, what non-Wi-Fi is there.

Inputs are plain arrays (what transmits, where, on which spectrum, the precomputed geometric path
loss); the output is a ``MediumState``: received powers between transmitters (rf-model.md 1.1),
spectral overlaps (rf-model 5), the directed defer graph (rf-model 4) and, per transmitter, how
much of the medium non-Wi-Fi sources take and which of them it detects (rf-model 7).

Transmitters are the managed radios followed by the unmanaged neighbour BSSs; both kinds sit at
"sites" (APs first, then interferers) of the site-to-site loss matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drivers.sim.airtime import ENERGY_DETECT_DBM, PREAMBLE_DETECT_DBM, defer_matrix
from drivers.sim.propagation import frequency_term_db
from drivers.sim.spectrum import overlap_matrix, to_db

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

NON_WIFI_DETECT_DBM = PREAMBLE_DETECT_DBM
"""A spectrum-capable radio reports a non-Wi-Fi source it receives at this level in its channel."""


@dataclass(frozen=True, slots=True)
class Transmitters:
    """Every Wi-Fi transmitter: ``n_radios`` managed radios first, then unmanaged neighbour BSSs."""

    site: IntArray
    band: IntArray
    primary_mhz: FloatArray
    low_mhz: FloatArray
    high_mhz: FloatArray
    width_mhz: FloatArray
    tx_dbm: FloatArray
    obss_pd_dbm: FloatArray
    active: BoolArray
    fixed_airtime: FloatArray
    """NaN for managed radios; the duty cycle of an unmanaged BSS (it takes that, rf-model 6)."""
    n_radios: int

    @property
    def centre_mhz(self) -> FloatArray:
        return np.asarray((self.low_mhz + self.high_mhz) / 2.0, dtype=np.float64)

    def __len__(self) -> int:
        return int(self.site.size)


@dataclass(frozen=True, slots=True)
class NonWifiSources:
    """Microwave ovens, video senders and the like: EIRP, spectrum and duty cycle (rf-model 7)."""

    site: IntArray
    centre_mhz: FloatArray
    width_mhz: FloatArray
    power_dbm: FloatArray
    duty: FloatArray
    active: BoolArray

    def __len__(self) -> int:
        return int(self.site.size)


@dataclass(frozen=True, slots=True)
class MediumState:
    """What every transmitter senses (shape (T, T) matrices are [receiver, transmitter])."""

    power_dbm: FloatArray
    alpha: FloatArray
    defers: BoolArray
    nonwifi_dbm: FloatArray
    """(T, K): non-Wi-Fi source k at transmitter t's site, after α, in dBm (−inf when off)."""
    nonwifi_alpha: FloatArray
    """(T, K): overlap of source k into transmitter t's channel."""
    avail: FloatArray
    """Fraction of the medium left after non-Wi-Fi sources above energy detect (rf-model 7)."""
    nonwifi_duty: FloatArray
    """Combined duty of the non-Wi-Fi sources each transmitter detects (≥ −82 dBm)."""

    @property
    def senses_nonwifi(self) -> BoolArray:
        return np.asarray(self.nonwifi_dbm >= ENERGY_DETECT_DBM, dtype=np.bool_)

    @property
    def detects_nonwifi(self) -> BoolArray:
        return np.asarray(self.nonwifi_dbm >= NON_WIFI_DETECT_DBM, dtype=np.bool_)


def spectral_overlap(tx: Transmitters) -> FloatArray:
    """α[i, j] from transmitter j into receiver i, zero across bands and on the diagonal (rf-model 5)."""
    alpha = overlap_matrix(tx.centre_mhz, tx.width_mhz, tx.centre_mhz, tx.width_mhz)
    alpha = np.where(tx.band[:, None] == tx.band[None, :], alpha, 0.0)
    np.fill_diagonal(alpha, 0.0)
    return alpha


def shares_primary(tx: Transmitters) -> BoolArray:
    """Whether transmitter j's occupied spectrum contains receiver i's primary 20 MHz channel."""
    lo = tx.primary_mhz[:, None] - 10.0 + 1e-6
    hi = tx.primary_mhz[:, None] + 10.0 - 1e-6
    same_band = tx.band[:, None] == tx.band[None, :]
    return np.asarray(same_band & (tx.low_mhz[None, :] <= lo) & (hi <= tx.high_mhz[None, :]), dtype=np.bool_)


def power_at_sites(
    tx_dbm: FloatArray, tx_site: IntArray, tx_freq_mhz: FloatArray, rx_site: IntArray, site_loss_db: FloatArray
) -> FloatArray:
    """Received power (dBm) of each transmitter at each receiving site, [receiver, transmitter] (rf-model 1.1)."""
    loss = site_loss_db[np.ix_(rx_site, tx_site)]
    return np.asarray(tx_dbm[None, :] - frequency_term_db(tx_freq_mhz)[None, :] - loss, dtype=np.float64)


def assess_medium(
    tx: Transmitters, sources: NonWifiSources, site_loss_db: FloatArray, alpha: FloatArray
) -> MediumState:
    """Powers, defer graph and non-Wi-Fi sensing for the current configuration.

    Args:
        tx: the transmitters.
        sources: the non-Wi-Fi sources.
        site_loss_db: geometric loss between sites incl. shadowing, (S, S).
        alpha: ``spectral_overlap(tx)`` (passed in so callers can cache it across steps).
    """
    power = power_at_sites(tx.tx_dbm, tx.site, tx.centre_mhz, tx.site, site_loss_db)
    defers = defer_matrix(power, alpha, shares_primary(tx), tx.obss_pd_dbm, tx.width_mhz, tx.active)
    np.fill_diagonal(defers, False)
    if len(sources):
        nw_alpha = overlap_matrix(tx.centre_mhz, tx.width_mhz, sources.centre_mhz, sources.width_mhz)
        nw_power = power_at_sites(sources.power_dbm, sources.site, sources.centre_mhz, tx.site, site_loss_db)
        on = sources.active[None, :] & (nw_alpha > 0)
        nonwifi = np.where(on, nw_power + to_db(nw_alpha), -np.inf)
    else:
        nw_alpha = np.zeros((len(tx), 0))
        nonwifi = np.zeros((len(tx), 0))
    sensed = nonwifi >= ENERGY_DETECT_DBM
    detected = nonwifi >= NON_WIFI_DETECT_DBM
    avail = np.prod(1.0 - sources.duty[None, :] * sensed, axis=1)
    nonwifi_duty = 1.0 - np.prod(1.0 - sources.duty[None, :] * detected, axis=1)
    return MediumState(
        power_dbm=power,
        alpha=alpha,
        defers=defers,
        nonwifi_dbm=nonwifi,
        nonwifi_alpha=nw_alpha,
        avail=np.asarray(avail, dtype=np.float64),
        nonwifi_duty=np.asarray(nonwifi_duty, dtype=np.float64),
    )
