"""Encoders for the ath9k/ath10k spectral sample records: the inverse of ``ath_samples``.

For building synthetic captures (tests, fakes, replay) in exactly the on-disk layout of Linux
drivers/net/wireless/ath/spectral_common.h: a 3-byte TLV header then the big-endian, packed struct.
Fields not given default to plausible values; nothing here checks them (malformed records are a
use for these functions).
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers.spectral.ath_samples import (
    ATH10K_HEADER,
    HT20_40_HEADER,
    HT20_HEADER,
    NL80211_CHAN_HT40PLUS,
    TYPE_ATH10K,
    TYPE_HT20,
    TYPE_HT20_40,
)
from drivers.spectral.tlv import TLV_HEADER


def tlv(kind: int, payload: bytes, length: int | None = None) -> bytes:
    """One record; ``length`` overrides the header's length field (to build damaged records)."""
    return TLV_HEADER.pack(kind, len(payload) if length is None else length) + payload


def encode_ht20(
    bins: Sequence[int], *, freq: int = 2412, rssi: int = 20, noise: int = -95, tsf: int = 0, max_exp: int = 0
) -> bytes:
    """An ``fft_sample_ht20`` record (56 bins expected; any count is written as given)."""
    peak = max(range(len(bins)), key=bins.__getitem__) if bins else 0
    header = HT20_HEADER.pack(max_exp, freq, rssi, noise, (max(bins, default=0) << max_exp), peak, 0, tsf)
    return tlv(TYPE_HT20, header + bytes(bins))


def encode_ht20_40(
    bins: Sequence[int],
    *,
    freq: int = 2412,
    channel_type: int = NL80211_CHAN_HT40PLUS,
    rssi: tuple[int, int] = (20, 20),
    noise: tuple[int, int] = (-95, -95),
    tsf: int = 0,
    max_exp: int = 0,
) -> bytes:
    """An ``fft_sample_ht20_40`` record: 128 bins, lower half first; (lower, upper) rssi and noise."""
    header = HT20_40_HEADER.pack(
        channel_type, freq, rssi[0], rssi[1], tsf, noise[0], noise[1], 0, 0, 0, 0, 0, 0, max_exp
    )
    return tlv(TYPE_HT20_40, header + bytes(bins))


def encode_ath10k(
    bins: Sequence[int],
    *,
    freq1: int = 5180,
    chan_width_mhz: int = 22,
    rssi: int = 20,
    noise: int = -95,
    tsf: int = 0,
    max_exp: int = 0,
) -> bytes:
    """An ``fft_sample_ath10k`` record with as many bins as given."""
    header = ATH10K_HEADER.pack(chan_width_mhz, freq1, 0, noise, 0, 0, 0, tsf, 0, rssi, 0, 0, max_exp)
    return tlv(TYPE_ATH10K, header + bytes(bins))
