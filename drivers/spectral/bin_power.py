"""Power per FFT bin and the frequency of each bin, as the public ath spectral tools compute them.

The radio reports, per FFT, the total received power as ``noise`` (the noise floor, dBm) plus
``rssi`` (dB above it) and a magnitude per bin (``data[i] << max_exp``). The power is spread over the
bins in proportion to their squared magnitude (simonwunderlich/FFT_eval, fft_eval_json.c, GPL-2.0;
our own code from the formula, not a copy):

    power_dbm[i] = noise + rssi + 20·log10(mag[i]) − 10·log10(Σ mag[j]²)

with a zero magnitude counted as 1 (FFT_eval's choice: a floor, not −inf). Our own choices where the
formula is undefined or FFT_eval slips: an all-zero FFT spreads the power evenly (the sum is taken as
the bin count); the two halves of an HT20/40 sample each use their own noise, rssi and sum of
*squares* (FFT_eval sums the upper half's magnitudes unsquared).

Bin frequencies: bin ``N // 2`` is DC, the analysed centre (ath10k/spectral.c interpolates its DC
bin at ``bin_len / 2``; Qualcomm's spectral code has ``SPECTRAL_HT20_DC_INDEX = 56 / 2`` and
``SPECTRAL_HT40_DC_INDEX = 128 / 2``), and bins are spaced by the width over the bin count. FFT_eval
puts bins half a bin higher (``(i + 0.5)``); the captures side with DC at N/2: the ath10k test tone
then falls at 5645.13-5645.19 MHz in all 20/40/80 MHz, 64/128/256-bin dwells, and the camera carrier
at one frequency (±0.1 MHz) from three ath9k tunings 5 MHz apart, which also confirms 22/64 MHz
spacing for HT20 (20/64 would move it by 1.5 MHz between tunings).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

HT20_BIN_SPACING_MHZ = 22.0 / 64
"""ath9k HT20: 56 of 64 subcarriers over 22 MHz (FFT_eval fft_eval_sdl.c, after Dave Aragon)."""

HT40_BIN_SPACING_MHZ = 40.0 / 128
"""ath9k HT20/40: 128 bins over 40 MHz (FFT_eval)."""


def bin_power_dbm(raw: NDArray[np.uint8], max_exp: int, noise: int, rssi: int) -> FloatArray:
    """Power of each bin, dBm, from the raw bin bytes of one FFT (or one half of an HT20/40 FFT)."""
    magnitude = raw.astype(np.float64) * float(2**max_exp)
    total = float(np.dot(magnitude, magnitude)) or float(raw.size)
    result: FloatArray = noise + rssi + 20.0 * np.log10(np.maximum(magnitude, 1.0)) - 10.0 * np.log10(total)
    return result


def bin_freqs_mhz(centre_mhz: float, spacing_mhz: float, count: int) -> FloatArray:
    """Centre frequency of each of ``count`` bins spaced ``spacing_mhz`` apart, bin ``count // 2`` at DC."""
    result: FloatArray = centre_mhz + (np.arange(count, dtype=np.float64) - count // 2) * spacing_mhz
    return result
