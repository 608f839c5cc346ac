"""TLV framing and per-type decoding on records built from the kernel structs (spectral_common.h)."""

from __future__ import annotations

import math

import pytest

from drivers.spectral import SampleFormat, SpectralCaptureError, decode_capture
from drivers.spectral.ath_encode import encode_ath10k, encode_ht20, encode_ht20_40, tlv
from drivers.spectral.ath_samples import NL80211_CHAN_HT40MINUS

pytestmark = pytest.mark.unit

FLAT_HT20 = [4] * 56


def _fault(data: bytes) -> SpectralCaptureError:
    with pytest.raises(SpectralCaptureError) as caught:
        decode_capture(data, "synthetic.dump")
    return caught.value


def test_an_empty_file_has_no_samples() -> None:
    assert decode_capture(b"", "empty.dump") == []


def test_records_decode_in_order_with_their_offsets() -> None:
    data = encode_ht20(FLAT_HT20, tsf=1) + encode_ath10k([1] * 64, tsf=2) + encode_ht20_40([1] * 128, tsf=3)
    samples = decode_capture(data, "mixed.dump")
    assert [s.format for s in samples] == [SampleFormat.HT20, SampleFormat.ATH10K, SampleFormat.HT20_40]
    assert [s.tsf for s in samples] == [1, 2, 3]
    assert [s.offset for s in samples] == [0, 76, 76 + 93]


def test_power_spreads_noise_plus_rssi_over_the_bins_by_squared_magnitude() -> None:
    """One bin holding all the magnitude gets the whole noise + rssi; equal bins share it evenly."""
    (peak,) = decode_capture(encode_ht20([0] * 28 + [200] + [0] * 27, rssi=30, noise=-90), "x")
    assert peak.power_dbm[28] == pytest.approx(-60.0)
    assert peak.power_dbm[0] == pytest.approx(-60.0 - 20 * math.log10(200))  # a zero bin counts as 1
    (flat,) = decode_capture(encode_ht20(FLAT_HT20, rssi=30, noise=-90, max_exp=3), "x")
    assert flat.power_dbm == pytest.approx([-60.0 - 10 * math.log10(56)] * 56)


def test_an_all_zero_fft_spreads_its_power_evenly() -> None:
    (sample,) = decode_capture(encode_ath10k([0] * 64, rssi=10, noise=-100), "x")
    assert sample.power_dbm == pytest.approx([-90.0 - 10 * math.log10(64)] * 64)


def test_ht20_40_halves_use_their_own_rssi_and_noise_and_the_40_mhz_centre() -> None:
    data = encode_ht20_40([5] * 128, freq=2437, channel_type=NL80211_CHAN_HT40MINUS, rssi=(10, 30), noise=(-90, -80))
    (sample,) = decode_capture(data, "x")
    assert sample.freqs_mhz[64] == 2427.0 and (sample.rssi, sample.noise) == (10, -90)
    assert sample.power_dbm[0] == pytest.approx(-80.0 - 10 * math.log10(64))
    assert sample.power_dbm[127] == pytest.approx(-50.0 - 10 * math.log10(64))


@pytest.mark.parametrize(("count", "width"), [(64, 22), (128, 44), (256, 88)])
def test_ath10k_bins_span_the_recorded_width_with_dc_in_the_middle(count: int, width: int) -> None:
    (sample,) = decode_capture(encode_ath10k([1] * count, freq1=5500, chan_width_mhz=width), "x")
    assert len(sample.freqs_mhz) == count
    assert sample.freqs_mhz[count // 2] == 5500.0
    assert sample.freqs_mhz[0] == pytest.approx(5500.0 - width / 2)


def test_a_zero_length_tlv_is_an_error_at_its_offset() -> None:
    error = _fault(encode_ht20(FLAT_HT20) + tlv(1, b""))
    assert (error.offset, error.detail, len(error.good_samples)) == (76, "zero-length TLV (type 1)", 1)
    assert str(error) == "synthetic.dump at byte 76 (0x4c): zero-length TLV (type 1) (1 good sample(s) before it)"


def test_an_unknown_type_is_an_error_naming_the_type() -> None:
    error = _fault(tlv(9, b"\x00" * 10))
    assert error.offset == 0 and "unknown sample type 9" in error.detail


def test_ath11k_records_are_refused_by_name() -> None:
    assert "ath11k" in _fault(tlv(4, b"\x00" * 40)).detail


def test_a_length_beyond_the_end_of_the_file_is_an_error() -> None:
    record = encode_ht20(FLAT_HT20)
    error = _fault(record + record[:40])
    assert error.offset == 76 and "declares 73 byte(s) but only 37 remain" in error.detail
    assert [s.offset for s in error.good_samples] == [0]


@pytest.mark.parametrize("left", [1, 2])
def test_a_truncated_header_is_an_error(left: int) -> None:
    error = _fault(encode_ht20(FLAT_HT20) + b"\x01\x00"[:left])
    assert error.offset == 76 and f"only {left} byte(s) left" in error.detail


def test_a_wrong_fixed_length_is_an_error() -> None:
    assert "HT20 sample (type 1) has length 72, expected 73" in _fault(encode_ht20([1] * 55)).detail
    assert "HT20/40 sample (type 2) has length 151" in _fault(encode_ht20_40([1] * 127)).detail


def test_an_ht20_40_record_that_is_not_ht40_is_an_error() -> None:
    assert "channel_type 1" in _fault(encode_ht20_40([1] * 128, channel_type=1)).detail


@pytest.mark.parametrize("bins", [0, 63, 257])
def test_ath10k_bin_counts_outside_64_to_256_are_errors(bins: int) -> None:
    assert "ath10k sample" in _fault(encode_ath10k([1] * bins)).detail


def test_ath10k_zero_width_is_an_error() -> None:
    assert "chan_width_mhz 0" in _fault(encode_ath10k([1] * 64, chan_width_mhz=0)).detail


def test_a_short_ath10k_header_is_an_error() -> None:
    assert "shorter than its 26-byte header" in _fault(tlv(3, b"\x00" * 10)).detail
