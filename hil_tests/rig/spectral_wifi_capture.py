"""A synthetic ath9k HT20 capture holding Wi-Fi and noise only: the negative for the spectral replay.

No public capture holds Wi-Fi alone, so this one is built with drivers.spectral.ath_encode in the
on-disk format: ``records`` FFTs tuned to ``freq_mhz``, ``step_us`` apart (the AR9550 camera capture's
pace, 1.5 ms), of which a share ``duty`` carries an OFDM burst (energy flat over the 48 bins of a
16.5 MHz 20 MHz-channel signal, Rayleigh-faded per bin, 15-25 dB above the noise) and the rest only
noise. Deterministic for a seed. The classifier calls it Wi-Fi: no NON_WIFI_BURST.
"""

from __future__ import annotations

import numpy as np

from drivers.spectral.ath_encode import encode_ht20
from drivers.spectral.ath_samples import HT20_BINS

OFDM_BINS = slice(4, 52)  # 48 of 56 bins: ±8.25 MHz around the centre at 22/64 MHz per bin


def wifi_only_capture(
    records: int = 676, freq_mhz: int = 2412, step_us: int = 1495, duty: float = 0.3, seed: int = 1
) -> bytes:
    rng = np.random.default_rng(seed)
    out = bytearray()
    tsf = 1_000_000
    for _ in range(records):
        tsf += step_us + int(rng.integers(-20, 20))
        if rng.random() < duty:
            bins = rng.integers(1, 4, HT20_BINS)
            bins[OFDM_BINS] = np.clip(rng.rayleigh(40, OFDM_BINS.stop - OFDM_BINS.start), 5, 255)
            rssi = int(rng.integers(25, 40))
        else:
            bins = rng.integers(0, 6, HT20_BINS)
            rssi = int(rng.integers(-2, 4))
        out += encode_ht20([int(b) for b in bins], freq=freq_mhz, rssi=rssi, noise=-95, tsf=tsf)
    return bytes(out)
