"""The public FFT_eval spectral dumps (CC0) decode to the samples and power values FFT_eval shows."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from drivers.spectral import SampleFormat, SpectralCaptureError, SpectralSample, read_capture

pytestmark = pytest.mark.unit

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "spectral"  # CC0 ath9k/ath10k dumps, LICENSE inside
needs_captures = pytest.mark.skipif(
    not CAPTURES.is_dir(), reason=f"the public spectral captures are not at {CAPTURES} (../shared/captures/spectral)"
)

# file -> (samples, {(format, central_freq, bins): count} for a few groups)
EXPECTED = {
    "ar9223_analog_camera_ch1.dump": (291, {(SampleFormat.HT20, 2412, 56): 18, (SampleFormat.HT20, 5825, 56): 9}),
    "ar9280_analog_camera_ch1.dump": (283, {(SampleFormat.HT20, 2412, 56): 9, (SampleFormat.HT20, 5580, 56): 6}),
    "ar9390_analog_camera_ch1.dump": (256, {(SampleFormat.HT20, 2412, 56): 8}),
    "ar9550_20mhz_analog_camera_ch1.dump": (
        798,
        {(SampleFormat.HT20, 2412, 56): 676, (SampleFormat.HT20_40, 2432, 128): 119},
    ),
    "ar9550_40mhz_analog_camera_ch1.dump": (236, {(SampleFormat.HT20_40, 2412, 128): 41}),
    "ath10k_20mhz.dump": (128, {(SampleFormat.ATH10K, 5640, 64): 64, (SampleFormat.ATH10K, 5640, 256): 32}),
    "ath10k_40mhz.dump": (32, {(SampleFormat.ATH10K, 5630, 128): 8}),
    "ath10k_80mhz.dump": (16, {(SampleFormat.ATH10K, 5650, 256): 8, (SampleFormat.ATH10K, 5650, 128): 8}),
    "ath10k_all.dump": (176, {(SampleFormat.ATH10K, 5640, 64): 64, (SampleFormat.ATH10K, 5650, 128): 8}),
}


def _load(name: str) -> list[SpectralSample]:
    return read_capture(CAPTURES / name)


def _record_size(sample: SpectralSample) -> int:
    """TLV header plus the struct: 3 + 17 + 56 (HT20), 3 + 24 + 128 (HT20/40), 3 + 26 + bins (ath10k)."""
    fixed = {SampleFormat.HT20: 17, SampleFormat.HT20_40: 24, SampleFormat.ATH10K: 26}[sample.format]
    return 3 + fixed + len(sample.freqs_mhz)


def _dwells(samples: list[SpectralSample]) -> list[list[SpectralSample]]:
    """Runs of samples taken at one tuning (same format, centre and bin count), in file order."""
    key = lambda s: (s.format, s.central_freq, len(s.freqs_mhz))  # noqa: E731
    return [list(group) for _, group in itertools.groupby(samples, key=key)]


@needs_captures
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_real_dump_decodes_to_the_expected_samples(name: str) -> None:
    """Sample count and per-tuning counts match a byte-by-byte walk of the file (and FFT_eval's count)."""
    samples = _load(name)
    total, groups = EXPECTED[name]
    assert len(samples) == total
    for key, count in groups.items():
        assert sum(1 for s in samples if (s.format, s.central_freq, len(s.freqs_mhz)) == key) == count
    assert samples[-1].offset + _record_size(samples[-1]) == (CAPTURES / name).stat().st_size  # nothing left over


@needs_captures
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bins_sit_around_the_centre(name: str) -> None:
    """Bins ascend evenly with the DC bin (N/2) on the analysed centre, at the format's spacing."""
    for s in _load(name):
        freqs = s.freqs_mhz
        step = freqs[1] - freqs[0]
        assert all(b - a == pytest.approx(step) for a, b in itertools.pairwise(freqs))
        centre = freqs[len(freqs) // 2]
        if s.format is SampleFormat.HT20:
            assert centre == s.central_freq and step == pytest.approx(22 / 64)
        elif s.format is SampleFormat.HT20_40:
            assert abs(centre - s.central_freq) == 10 and step == pytest.approx(40 / 128)
        else:
            assert centre == s.central_freq and round(step * len(freqs)) in (22, 44, 88)


@needs_captures
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bin_powers_add_up_to_noise_plus_rssi(name: str) -> None:
    """Energy is conserved: the bins of each FFT (each half of an HT20/40 FFT) sum to noise + rssi."""
    for s in _load(name):
        halves = 2 if s.format is SampleFormat.HT20_40 else 1
        size = len(s.power_dbm) // halves
        total = 10 * math.log10(sum(10 ** (p / 10) for p in s.power_dbm[:size]))
        assert total == pytest.approx(s.noise + s.rssi, abs=0.5)  # zero bins count as magnitude 1


@needs_captures
@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if not n.startswith("ar9550")))
def test_peak_powers_are_plausible_dbm(name: str) -> None:
    """Every FFT's strongest bin lies between -120 and 0 dBm (the AR9550 reports noise floors of
    -51/-64/-80 dBm on 2.4 GHz, 30-40 dB above a real one, so its absolute levels are not checked)."""
    assert all(-120.0 < max(s.power_dbm) < 0.0 for s in _load(name))


@needs_captures
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_tsf_increases_within_every_dwell(name: str) -> None:
    """The TSF restarts when the radio retunes, but never goes backwards within one tuning."""
    for dwell in _dwells(_load(name)):
        assert all(b.tsf > a.tsf for a, b in itertools.pairwise(dwell))


@needs_captures
def test_power_matches_fft_eval_for_the_first_ath9k_and_ath10k_samples() -> None:
    """Values FFT_eval's fft_eval_json prints for these samples (samples/*.dump.json in its repository)."""
    first = _load("ar9223_analog_camera_ch1.dump")[0]
    assert (first.tsf, first.central_freq, first.rssi, first.noise) == (9142, 2412, 40, -86)
    assert first.power_dbm[0] == pytest.approx(-80.571754, abs=1e-4)
    assert first.power_dbm[3] == pytest.approx(-84.093575, abs=1e-4)
    assert first.power_dbm[35] == pytest.approx(-47.191616, abs=1e-4)
    tone = _load("ath10k_20mhz.dump")[0]
    assert (tone.tsf, tone.central_freq, tone.rssi, tone.noise) == (658887114, 5640, 77, -105)
    assert tone.power_dbm[0] == pytest.approx(-70.300400, abs=1e-4)
    assert max(tone.power_dbm) == pytest.approx(-28.021532, abs=1e-4)


@needs_captures
def test_the_ath10k_tone_is_at_one_frequency_whatever_the_width_and_bin_count() -> None:
    """22/44/88 MHz spans with DC at bin N/2 put the test tone at 5645.1-5645.2 MHz in all 11 dwells."""
    peaks = [s.freqs_mhz[max(range(len(s.power_dbm)), key=s.power_dbm.__getitem__)] for s in _load("ath10k_all.dump")]
    assert max(peaks) - min(peaks) < 0.1
    assert 5645.0 < min(peaks) < 5645.3


@needs_captures
@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("crash_1.dump", "HT20 sample (type 1) has length 4089, expected 73"),
        ("crash_2.dump", "HT20 sample (type 1) has length 4091, expected 73"),
    ],
)
def test_the_malformed_dumps_raise_a_typed_error_naming_file_and_offset(name: str, detail: str) -> None:
    with pytest.raises(SpectralCaptureError) as caught:
        _load(name)
    error = caught.value
    assert (error.offset, error.detail, error.good_samples) == (0, detail, ())
    assert name in str(error) and "byte 0" in str(error)


def test_an_unreadable_file_is_a_spectral_capture_error(tmp_path: Path) -> None:
    with pytest.raises(SpectralCaptureError, match="cannot read") as caught:
        read_capture(tmp_path / "missing.dump")
    assert caught.value.offset is None
