"""Decoders for the ath9k and ath10k spectral-scan sample formats (debugfs ``spectral_scan0`` dumps).

Written from the structure definitions in Linux drivers/net/wireless/ath/spectral_common.h (ISC
licence; ``fft_sample_ht20``, ``fft_sample_ht20_40``, ``fft_sample_ath10k``, all big-endian and packed)
and checked against simonwunderlich/FFT_eval (fft_eval.c, fft_eval_json.c) and its CC0 sample dumps.
Bin frequencies and power: see ``bin_power``.

Policy on damage: decoding is strict and stops at the first bad record (see ``tlv`` for framing
faults; here: a wrong length for the type, an unknown type, an impossible field). The
SpectralCaptureError names the file and offset and carries the samples decoded before the fault, so
a caller can still use them; nothing after the fault is returned, because a TLV stream cannot be
resynchronised with confidence.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from drivers.spectral.bin_power import (
    HT20_BIN_SPACING_MHZ,
    HT40_BIN_SPACING_MHZ,
    bin_freqs_mhz,
    bin_power_dbm,
)
from drivers.spectral.errors import SpectralCaptureError
from drivers.spectral.sample import SampleFormat, SpectralSample
from drivers.spectral.tlv import Tlv, iter_tlvs

TYPE_HT20 = 1  # ATH_FFT_SAMPLE_HT20
TYPE_HT20_40 = 2  # ATH_FFT_SAMPLE_HT20_40
TYPE_ATH10K = 3  # ATH_FFT_SAMPLE_ATH10K
TYPE_ATH11K = 4  # ATH_FFT_SAMPLE_ATH11K (not decoded: no public sample to check against)

HT20_BINS = 56  # SPECTRAL_HT20_NUM_BINS
HT20_40_BINS = 128  # SPECTRAL_HT20_40_NUM_BINS
ATH10K_MIN_BINS, ATH10K_MAX_BINS = 64, 256  # ath10k_spectral_process_fft() accepts 64..256

# The fields after the TLV header, in order (big-endian, packed).
HT20_HEADER = struct.Struct(">BHbbHBBQ")  # max_exp freq rssi noise max_magnitude max_index bitmap_weight tsf
HT20_40_HEADER = struct.Struct(">BHbbQbbHHBBBBB")  # channel_type freq rssi×2 tsf noise×2 max_mag×2 idx×2 bw×2 max_exp
ATH10K_HEADER = struct.Struct(
    ">BHHhHHHQbBBBB"
)  # width freq1 freq2 noise max_mag gain base_pwr tsf idx rssi rel avg exp

NL80211_CHAN_HT40MINUS = 2
NL80211_CHAN_HT40PLUS = 3


class _BadRecord(Exception):
    """A record that frames correctly but is not a valid sample; becomes a SpectralCaptureError."""


def _expect_length(tlv: Tlv, name: str, expected: int) -> None:
    if len(tlv.payload) != expected:
        raise _BadRecord(f"{name} sample (type {tlv.type}) has length {len(tlv.payload)}, expected {expected}")


def decode_ht20(tlv: Tlv) -> SpectralSample:
    """``struct fft_sample_ht20``: one 20 MHz FFT of 56 bins from an ath9k radio."""
    _expect_length(tlv, "HT20", HT20_HEADER.size + HT20_BINS)
    max_exp, freq, rssi, noise, _mag, _idx, _weight, tsf = HT20_HEADER.unpack_from(tlv.payload)
    raw = np.frombuffer(tlv.payload, dtype=np.uint8, offset=HT20_HEADER.size)
    freqs = bin_freqs_mhz(freq, HT20_BIN_SPACING_MHZ, HT20_BINS)
    power = bin_power_dbm(raw, max_exp, noise, rssi)
    return SpectralSample(
        SampleFormat.HT20, tlv.offset, tsf, freq, rssi, noise, tuple(freqs.tolist()), tuple(power.tolist())
    )


def decode_ht20_40(tlv: Tlv) -> SpectralSample:
    """``struct fft_sample_ht20_40``: one 40 MHz FFT of 128 bins, lower then upper 20 MHz half.

    ``freq`` is the control channel; the 40 MHz centre is 10 MHz above it (HT40+) or below (HT40−).
    Each half is scaled by its own rssi and noise; the sample's rssi/noise are the lower half's.
    """
    _expect_length(tlv, "HT20/40", HT20_40_HEADER.size + HT20_40_BINS)
    (channel_type, freq, lo_rssi, up_rssi, tsf, lo_noise, up_noise, *_stats, max_exp) = HT20_40_HEADER.unpack_from(
        tlv.payload
    )
    if channel_type == NL80211_CHAN_HT40PLUS:
        centre = freq + 10
    elif channel_type == NL80211_CHAN_HT40MINUS:
        centre = freq - 10
    else:
        raise _BadRecord(f"HT20/40 sample has channel_type {channel_type}, expected 2 (HT40-) or 3 (HT40+)")
    raw = np.frombuffer(tlv.payload, dtype=np.uint8, offset=HT20_40_HEADER.size)
    half = HT20_40_BINS // 2
    power = np.concatenate(
        (bin_power_dbm(raw[:half], max_exp, lo_noise, lo_rssi), bin_power_dbm(raw[half:], max_exp, up_noise, up_rssi))
    )
    freqs = bin_freqs_mhz(centre, HT40_BIN_SPACING_MHZ, HT20_40_BINS)
    return SpectralSample(
        SampleFormat.HT20_40, tlv.offset, tsf, freq, lo_rssi, lo_noise, tuple(freqs.tolist()), tuple(power.tolist())
    )


def decode_ath10k(tlv: Tlv) -> SpectralSample:
    """``struct fft_sample_ath10k``: a 26-byte header then 64..256 bins over ``chan_width_mhz``.

    The driver writes 22/44/88 for 20/40/80 MHz channels (its plots fit the wider span, per the
    comment in ath10k/spectral.c); the bins are spread over the width as written.
    """
    if len(tlv.payload) < ATH10K_HEADER.size:
        raise _BadRecord(
            f"ath10k sample has length {len(tlv.payload)}, shorter than its {ATH10K_HEADER.size}-byte header"
        )
    width, freq1, _freq2, noise, _mag, _gain, _base, tsf, _idx, rssi, _rel, _avg, max_exp = ATH10K_HEADER.unpack_from(
        tlv.payload
    )
    count = len(tlv.payload) - ATH10K_HEADER.size
    if not ATH10K_MIN_BINS <= count <= ATH10K_MAX_BINS:
        raise _BadRecord(f"ath10k sample has {count} bins, expected {ATH10K_MIN_BINS}..{ATH10K_MAX_BINS}")
    if width == 0:
        raise _BadRecord("ath10k sample has chan_width_mhz 0")
    raw = np.frombuffer(tlv.payload, dtype=np.uint8, offset=ATH10K_HEADER.size)
    freqs = bin_freqs_mhz(freq1, width / count, count)
    power = bin_power_dbm(raw, max_exp, noise, rssi)
    return SpectralSample(
        SampleFormat.ATH10K, tlv.offset, tsf, freq1, rssi, noise, tuple(freqs.tolist()), tuple(power.tolist())
    )


DECODERS: dict[int, Callable[[Tlv], SpectralSample]] = {
    TYPE_HT20: decode_ht20,
    TYPE_HT20_40: decode_ht20_40,
    TYPE_ATH10K: decode_ath10k,
}


def _decode_record(tlv: Tlv) -> SpectralSample:
    decoder = DECODERS.get(tlv.type)
    if decoder is not None:
        return decoder(tlv)
    if tlv.type == TYPE_ATH11K:
        raise _BadRecord("ath11k samples (type 4) are not supported")
    raise _BadRecord(f"unknown sample type {tlv.type} (expected 1 HT20, 2 HT20/40 or 3 ath10k)")


def decode_capture(data: bytes, source: str) -> list[SpectralSample]:
    """Every sample of a dump, in file order.

    Raises:
        SpectralCaptureError: at the first damaged record, naming ``source`` and its byte offset and
            carrying the samples decoded before it (``good_samples``).
    """
    samples: list[SpectralSample] = []
    try:
        for tlv in iter_tlvs(data, source):
            try:
                samples.append(_decode_record(tlv))
            except _BadRecord as exc:
                raise SpectralCaptureError(source, tlv.offset, str(exc)) from None
    except SpectralCaptureError as exc:
        raise exc.with_samples(samples) from None
    return samples


def read_capture(path: Path) -> list[SpectralSample]:
    """Read and decode a dump file; an unreadable file is a SpectralCaptureError too."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpectralCaptureError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    return decode_capture(data, str(path))
