"""Where transmissions sit in frequency, and how much of one leaks into another's receiver.

Model (rf-model.md section 5, the RWTH method): every transmission has the 802.11 OFDM transmit
spectral mask, 0 dBr within ±(w/2 − 1) MHz, −20 dBr at ±(w/2 + 1), −28 dBr at ±w and −40 dBr at
±1.5w (for 20 MHz: ±9/11/20/30 MHz; the breakpoints scale with the width w), linear in dB between
breakpoints. The receiver filter is modelled by the same mask at the receiver's width. The overlap
factor between a transmitter and a receiver whose centres are Δ apart is

    α(Δ) = ∫ M_tx(f) · M_rx(f − Δ) df / ∫ M_tx(f) df,

and the interference a receiver takes from a transmission received at power P is α·P. Our own
choice, not in the source: the −40 dBr floor extends to ±2.5w and the mask is zero beyond, so
channels far apart in the same band stop leaking (α falls off after the second-adjacent channel,
where rf-model 5 gives ≈ −37 dB) and other bands never leak.

The integral is done numerically once per (tx width, rx width) pair on a 0.05 MHz grid and
tabulated against Δ; lookups interpolate in the table (cached with functools.lru_cache).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from radio_domain import regulatory
from radio_domain.radio import Band

FloatArray = NDArray[np.float64]

_GRID_STEP_MHZ = 0.05
_TABLE_STEP_MHZ = 0.25
_FLOOR_EXTENT = 2.5  # the −40 dBr floor reaches ±2.5 widths (our choice, see the module docstring)
_MIN_ALPHA = 1e-30

BAND_RANGES_MHZ: dict[Band, tuple[float, float]] = {
    Band.G2: (2400.0, 2500.0),
    Band.G5: (5150.0, 5895.0),
    Band.G6: (5925.0, 7125.0),
}
"""The frequency ranges of the Wi-Fi bands; anything else is in no band."""


def band_of_frequency(freq_mhz: float) -> Band | None:
    """The Wi-Fi band a frequency lies in, or None."""
    for band, (low, high) in BAND_RANGES_MHZ.items():
        if low <= freq_mhz <= high:
            return band
    return None


def channel_at_frequency(band: Band, freq_mhz: float) -> int | None:
    """The channel number whose 20 MHz centre is exactly ``freq_mhz``, or None."""
    base = {Band.G2: 2407.0, Band.G5: 5000.0, Band.G6: 5950.0}[band]
    number = round((freq_mhz - base) / 5.0)
    if number < 1 or abs(regulatory.center_mhz(band, number) - freq_mhz) > 1e-6:
        return None
    return number


def occupied_centre_mhz(region: regulatory.Region, band: Band, channel: int, width_mhz: int) -> float:
    """The centre of the spectrum a radio on (channel, width) occupies (the middle of its bonding group)."""
    low, high = regulatory.span_mhz(region, band, channel, width_mhz)
    return (low + high) / 2.0


def mask_dbr(offset_mhz: FloatArray, width_mhz: float) -> FloatArray:
    """The 802.11 OFDM transmit mask in dBr at frequency offsets from the centre (rf-model 5).

    Returns −inf beyond the floor extent (±2.5 widths).
    """
    w = float(width_mhz)
    corners = np.array([0.0, w / 2 - 1.0, w / 2 + 1.0, w, 1.5 * w, _FLOOR_EXTENT * w])
    levels = np.array([0.0, 0.0, -20.0, -28.0, -40.0, -40.0])
    distance = np.abs(offset_mhz)
    out = np.interp(distance, corners, levels)
    return np.where(distance <= corners[-1], out, -np.inf)


@lru_cache(maxsize=64)
def _overlap_table(tx_width_mhz: float, rx_width_mhz: float) -> tuple[FloatArray, FloatArray]:
    """(Δ grid, α on the grid) for one pair of widths, by FFT correlation of the two masks."""
    half_span = _FLOOR_EXTENT * (tx_width_mhz + rx_width_mhz)
    n = round(half_span / _GRID_STEP_MHZ)
    f = np.arange(-n, n + 1, dtype=np.float64) * _GRID_STEP_MHZ
    tx = 10.0 ** (mask_dbr(f, tx_width_mhz) / 10.0)
    rx = 10.0 ** (mask_dbr(f, rx_width_mhz) / 10.0)
    size = 1 << int(np.ceil(np.log2(2 * f.size)))
    # corr[k] = Σ_f tx(f) · rx(f − Δ_k); the mask is symmetric so rx(f − Δ) = rx(Δ − f): a convolution.
    conv = np.fft.irfft(np.fft.rfft(tx, size) * np.fft.rfft(rx, size), size)[: 2 * f.size - 1]
    deltas = (np.arange(conv.size) - (f.size - 1)) * _GRID_STEP_MHZ
    keep = deltas >= 0.0
    alpha = np.clip(conv[keep] / tx.sum(), 0.0, 1.0)
    table_deltas = np.arange(0.0, deltas[keep][-1], _TABLE_STEP_MHZ)
    return table_deltas, np.interp(table_deltas, deltas[keep], alpha)


@lru_cache(maxsize=4096)
def overlap_factor(delta_mhz: float, tx_width_mhz: float, rx_width_mhz: float) -> float:
    """α for one pair: the fraction of the transmitter's power its receiver takes in (rf-model 5).

    Args:
        delta_mhz: distance between the two centre frequencies (sign does not matter).
        tx_width_mhz: the transmission's width (any positive value, e.g. 18 for a video sender).
        rx_width_mhz: the receiver's channel width.
    """
    deltas, alpha = _overlap_table(round(float(tx_width_mhz), 2), round(float(rx_width_mhz), 2))
    d = abs(round(float(delta_mhz), 2))
    if d > deltas[-1]:
        return 0.0
    return float(np.interp(d, deltas, alpha))


def overlap_matrix(
    rx_centres_mhz: FloatArray,
    rx_widths_mhz: FloatArray,
    tx_centres_mhz: FloatArray,
    tx_widths_mhz: FloatArray,
) -> FloatArray:
    """α[i, j] from transmitter j into receiver i, vectorised over every pair (rf-model 5).

    Pairs whose masks do not meet (other bands, far channels) get 0.
    """
    delta = np.abs(rx_centres_mhz[:, None] - tx_centres_mhz[None, :])
    out = np.zeros(delta.shape)
    for rx_w in np.unique(rx_widths_mhz):
        rows = rx_widths_mhz == rx_w
        for tx_w in np.unique(tx_widths_mhz):
            cols = tx_widths_mhz == tx_w
            deltas, alpha = _overlap_table(round(float(tx_w), 2), round(float(rx_w), 2))
            block = delta[np.ix_(rows, cols)]
            values = np.interp(block, deltas, alpha, right=0.0)
            out[np.ix_(rows, cols)] = np.where(block > deltas[-1], 0.0, values)
    return out


def to_db(linear: FloatArray) -> FloatArray:
    """10·log10 with zero mapped to a very low level instead of −inf warnings."""
    return np.asarray(10.0 * np.log10(np.maximum(linear, _MIN_ALPHA)), dtype=np.float64)


def from_db(level_db: FloatArray) -> FloatArray:
    return np.asarray(10.0 ** (level_db / 10.0), dtype=np.float64)
