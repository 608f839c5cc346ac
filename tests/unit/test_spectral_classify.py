"""Non-Wi-Fi interference classification: the real camera and tone captures, and synthetic sources."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from drivers.spectral import SampleFormat, SpectralSample, read_capture
from drivers.spectral.interference import (
    Classification,
    InterferenceKind,
    classify,
    classify_all,
    nearest_channel,
    non_wifi_event,
)
from radio_domain.events import EventType

pytestmark = pytest.mark.unit

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "spectral"  # CC0 ath9k/ath10k dumps, LICENSE inside
needs_captures = pytest.mark.skipif(
    not CAPTURES.is_dir(), reason=f"the public spectral captures are not at {CAPTURES} (../shared/captures/spectral)"
)
CAMERAS = sorted(p.name for p in CAPTURES.glob("ar9*_analog_camera_ch1.dump")) if CAPTURES.is_dir() else []
ATH10K = ["ath10k_20mhz.dump", "ath10k_40mhz.dump", "ath10k_80mhz.dump", "ath10k_all.dump"]

CENTRE = 2437
BINS = 56
FREQS = CENTRE + (np.arange(BINS) - BINS // 2) * 22 / 64
FLOOR_DBM = -112.0


def _noise(rng: np.random.Generator) -> np.ndarray:
    return FLOOR_DBM + 10 * np.log10(rng.exponential(size=BINS))


def _capture(
    shape: Callable[[int, np.random.Generator], tuple[np.ndarray, int]], count: int = 200, step_us: int = 1000
) -> list[SpectralSample]:
    """``count`` HT20 samples ``step_us`` apart; ``shape(i, rng)`` gives each one's power and rssi."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(count):
        power, rssi = shape(i, rng)
        out.append(
            SpectralSample(SampleFormat.HT20, 0, i * step_us, CENTRE, rssi, -95, tuple(FREQS), tuple(power.tolist()))
        )
    return out


def _add(power: np.ndarray, bins: slice | int, level_dbm: float) -> np.ndarray:
    out = power.copy()
    out[bins] = 10 * np.log10(10 ** (out[bins] / 10) + 10 ** (level_dbm / 10))
    return out


@needs_captures
@pytest.mark.parametrize("name", CAMERAS)
def test_every_camera_capture_is_a_video_camera_on_channel_1(name: str) -> None:
    """All five ar9xxx captures: a non-Wi-Fi video camera at 2414.2-2414.5 MHz, confidence >= 0.8."""
    verdict = classify(read_capture(CAPTURES / name))
    assert verdict.kind is InterferenceKind.VIDEO_CAMERA and verdict.non_wifi
    assert verdict.channel == 1
    assert 2414.0 < verdict.centre_mhz < 2414.6
    assert verdict.confidence >= 0.8
    assert verdict.duty >= 0.75 and verdict.persistence == 1.0


@needs_captures
@pytest.mark.parametrize("name", ATH10K)
def test_the_ath10k_captures_hold_a_steady_tone_not_a_camera(name: str) -> None:
    """The ath10k dumps show one test tone at 5645.2 MHz (channel 128); nothing in them is a likely camera."""
    candidates = classify_all(read_capture(CAPTURES / name))
    verdict = classify(read_capture(CAPTURES / name))
    assert verdict.kind is InterferenceKind.CONTINUOUS_WAVE and verdict.channel == 128
    assert verdict.centre_mhz == pytest.approx(5645.15, abs=0.1)
    assert all(c.confidence < 0.5 for c in candidates if c.kind is InterferenceKind.VIDEO_CAMERA)


def test_noise_alone_is_none() -> None:
    verdict = classify(_capture(lambda i, rng: (_noise(rng), 0)))
    assert verdict.kind is InterferenceKind.NONE and not verdict.non_wifi
    assert non_wifi_event(verdict, "ap-1/2g", 10.0) is None


def test_a_steady_tone_is_a_continuous_wave() -> None:
    verdict = classify(_capture(lambda i, rng: (_add(_noise(rng), 40, -70.0), 30)))
    assert verdict.kind is InterferenceKind.CONTINUOUS_WAVE
    assert verdict.centre_mhz == pytest.approx(FREQS[40])
    assert verdict.confidence >= 0.8 and verdict.bandwidth_mhz < 0.5


def test_a_wandering_modulated_carrier_is_a_video_camera() -> None:
    """An FM carrier: the peak moves by a bin or two and its level varies, with a few-MHz skirt."""

    def camera(i: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        peak = 12 + int(rng.integers(-2, 3))
        power = _add(_noise(rng), slice(peak - 4, peak + 5), -85.0)
        return _add(power, peak, -60.0 + float(rng.normal(0, 3))), 40

    verdict = classify(_capture(camera))
    assert verdict.kind is InterferenceKind.VIDEO_CAMERA
    assert verdict.channel == nearest_channel(FREQS[12]) == 5
    assert verdict.confidence >= 0.8 and verdict.duty > 0.9


def test_flat_wideband_bursts_are_wifi_and_raise_no_event() -> None:
    def wifi(i: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        if i % 10 < 3:
            return _add(_noise(rng), slice(4, 52), -75.0 + float(rng.normal(0, 0.5))), 25
        return _noise(rng), 0

    verdict = classify(_capture(wifi))
    assert verdict.kind is InterferenceKind.WIFI and not verdict.non_wifi
    assert verdict.bandwidth_mhz == pytest.approx(16.5, abs=1.5) and verdict.channel == 6
    assert non_wifi_event(verdict, "ap-1/2g", 10.0) is None


def test_wideband_energy_on_half_of_each_mains_cycle_is_a_microwave_oven() -> None:
    def oven(i: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        if (i * 1000) % 20_000 < 10_000:
            start = int(rng.integers(10, 30))
            return _add(_noise(rng), slice(start, start + 20), -70.0 + float(rng.normal(0, 2))), 30
        return _noise(rng), 0

    verdict = classify(_capture(oven))
    assert verdict.kind is InterferenceKind.MICROWAVE and verdict.non_wifi
    assert verdict.duty == pytest.approx(0.5) and verdict.confidence >= 0.8


def test_narrow_peaks_that_move_every_sample_are_a_frequency_hopper() -> None:
    def hopper(i: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        if i % 2:
            return _noise(rng), 0
        start = int(rng.integers(0, BINS - 3))
        return _add(_noise(rng), slice(start, start + 3), -70.0), 25

    verdict = classify(_capture(hopper))
    assert verdict.kind is InterferenceKind.FREQUENCY_HOPPER and verdict.non_wifi
    assert verdict.bandwidth_mhz > 10.0


def test_a_non_wifi_verdict_becomes_a_non_wifi_burst_event_for_the_radio() -> None:
    verdict = Classification(InterferenceKind.VIDEO_CAMERA, 0.9123, 0.97, 1.0, 2.41, 2414.25, 1)
    event = non_wifi_event(verdict, "ap-1/2g", 1_700_000_000.0)
    assert event is not None
    assert (event.radio_id, event.type, event.timestamp) == ("ap-1/2g", EventType.NON_WIFI_BURST, 1_700_000_000.0)
    assert (event.confidence, event.channel) == (0.912, 1)
    assert event.metadata == {
        "kind": "video_camera",
        "duty_cycle": "0.97",
        "persistence": "1.00",
        "bandwidth_mhz": "2.41",
        "freq_mhz": "2414.25",
        "source": "spectral",
    }


@pytest.mark.parametrize(
    ("freq", "channel"), [(2414.3, 1), (2414.6, 2), (2470.0, 13), (5645.2, 128), (5700.0, 140), (5900.0, 0)]
)
def test_nearest_channel(freq: float, channel: int) -> None:
    assert nearest_channel(freq) == channel


def test_no_samples_is_none() -> None:
    assert classify([]).kind is InterferenceKind.NONE
