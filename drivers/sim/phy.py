"""The receiver: noise floor, HE MCS table, rate selection and packet error rate.

Models:
    * Noise floor = −174 dBm/Hz + 10·log10(B) + NF, NF = 7 dB (rf-model.md section 2, ns-3 default).
    * HE (802.11ax) SU MCS 0-11 at 0.8 µs GI (rf-model 3): 20 MHz sensitivities from the 802.11ax
      minimum-input-sensitivity table, +3 dB per width doubling; SNR points where ns-3's AWGN LDPC
      tables cross PER 10 % and 1 %; 1-stream rates per width, clients use 2 spatial streams.
    * MCS selection (rf-model 3 recommendation): the highest MCS whose AWGN-10 % SNR plus a 4 dB
      fading/implementation margin is at or below the SINR and whose sensitivity is at or below
      the RSSI. A client that clears no MCS still talks at MCS 0, with the PER that brings.
    * PER per MCS: a logistic curve in dB through the AWGN 10 % and 1 % points (rf-model 3, "for a
      numpy simulator").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

NOISE_FIGURE_DB = 7.0
MCS_MARGIN_DB = 4.0
CLIENT_SPATIAL_STREAMS = 2
ASSOCIATION_SENSITIVITY_DBM = -82.0
"""A client hears and joins a radio whose beacons (20 MHz, MCS 0) reach it at this level or more."""

SENSITIVITY_20MHZ_DBM = np.array([-82, -79, -77, -74, -70, -66, -65, -64, -59, -57, -54, -52], dtype=np.float64)
SNR_PER10_DB = np.array([-0.6, 2.4, 4.9, 7.9, 10.9, 15.1, 16.5, 18.0, 21.7, 23.5, 26.8, 28.9])
SNR_PER1_DB = np.array([-0.3, 2.7, 5.1, 8.2, 11.2, 15.5, 16.9, 18.4, 22.0, 23.9, 27.2, 29.3])
_RATE_1SS_MBPS = {
    20: np.array([8.6, 17.2, 25.8, 34.4, 51.6, 68.8, 77.4, 86.0, 103.2, 114.7, 129.0, 143.4]),
    40: np.array([17.2, 34.4, 51.6, 68.8, 103.2, 137.6, 154.9, 172.1, 206.5, 229.4, 258.1, 286.8]),
    80: np.array([36.0, 72.1, 108.1, 144.1, 216.2, 288.2, 324.3, 360.3, 432.4, 480.4, 540.4, 600.5]),
    160: np.array([72.1, 144.1, 216.2, 288.2, 432.4, 576.5, 648.5, 720.6, 864.7, 960.8, 1080.9, 1201.0]),
}
MCS_COUNT = SENSITIVITY_20MHZ_DBM.size
_WIDTHS = (20, 40, 80, 160)
_RATE_TABLE = np.stack([_RATE_1SS_MBPS[w] for w in _WIDTHS])  # (width index, mcs)


def noise_floor_dbm(width_mhz: FloatArray | float) -> FloatArray:
    """Thermal noise plus the receiver's noise figure over the channel width (rf-model 2)."""
    w = np.asarray(width_mhz, dtype=np.float64)
    return np.asarray(-174.0 + 10.0 * np.log10(w * 1e6) + NOISE_FIGURE_DB, dtype=np.float64)


def width_index(width_mhz: FloatArray | IntArray) -> IntArray:
    """0, 1, 2, 3 for 20, 40, 80, 160 MHz."""
    return np.asarray(np.round(np.log2(np.asarray(width_mhz, dtype=np.float64) / 20.0)), dtype=np.int64)


def sensitivity_dbm(mcs: IntArray, width_mhz: FloatArray | IntArray) -> FloatArray:
    """Minimum input sensitivity of an MCS at a width: +3 dB per doubling (rf-model 3)."""
    return np.asarray(SENSITIVITY_20MHZ_DBM[mcs] + 3.0 * width_index(width_mhz), dtype=np.float64)


def select_mcs(sinr_db: FloatArray, rssi_dbm: FloatArray, width_mhz: FloatArray | IntArray) -> IntArray:
    """Highest MCS with SINR ≥ AWGN-10 % + margin and RSSI ≥ sensitivity; 0 when none (rf-model 3)."""
    sinr = np.asarray(sinr_db)[:, None]
    rssi = np.asarray(rssi_dbm)[:, None]
    sens = SENSITIVITY_20MHZ_DBM[None, :] + 3.0 * width_index(width_mhz)[:, None]
    ok = (sinr >= SNR_PER10_DB[None, :] + MCS_MARGIN_DB) & (rssi >= sens)
    # ok is monotone along MCS for both tables, so the count of passing MCSs is the highest one + 1.
    return np.asarray(np.maximum(ok.sum(axis=1) - 1, 0), dtype=np.int64)


def phy_rate_mbps(mcs: IntArray, width_mhz: FloatArray | IntArray, streams: int = CLIENT_SPATIAL_STREAMS) -> FloatArray:
    """HE SU data rate at 0.8 µs GI: the 1-stream table times the number of streams (rf-model 3)."""
    return np.asarray(_RATE_TABLE[width_index(width_mhz), mcs] * streams, dtype=np.float64)


def packet_error_rate(sinr_db: FloatArray, mcs: IntArray) -> FloatArray:
    """PER of an MCS at a SINR: logistic in dB through (AWGN-10 %, 0.1) and (AWGN-1 %, 0.01) (rf-model 3).

    PER = 1 / (1 + exp(k·(SINR − s50))) with k = ln(99/9) / (s1 − s10) and s50 = s10 − ln 9 / k.
    """
    s10 = SNR_PER10_DB[mcs]
    s1 = SNR_PER1_DB[mcs]
    k = np.log(11.0) / (s1 - s10)
    s50 = s10 - np.log(9.0) / k
    x = np.clip(k * (np.asarray(sinr_db) - s50), -60.0, 60.0)
    return np.asarray(1.0 / (1.0 + np.exp(x)), dtype=np.float64)
