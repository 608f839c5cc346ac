"""The sliding window over live spectral samples: when a verdict becomes a NON_WIFI_BURST, and the duty."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from drivers.spectral import SampleFormat, SpectralSample, read_capture
from drivers.spectral.watch import SpectralWatch, WatchSettings
from radio_domain.events import EventType

pytestmark = pytest.mark.unit

CAMERA = Path(__file__).resolve().parents[1] / "data" / "spectral" / "ar9550_20mhz_analog_camera_ch1.dump"
needs_captures = pytest.mark.skipif(not CAMERA.is_file(), reason=f"the public camera capture is not at {CAMERA}")
CHANNEL_1 = (2402.0, 2422.0)
CHANNEL_6 = (2427.0, 2447.0)
RADIO = "ap-1/2g"


def _camera() -> list[SpectralSample]:
    return [s for s in read_capture(CAMERA) if s.central_freq == 2412]


def _wifi_only(count: int = 200) -> list[SpectralSample]:
    """Flat 16.5 MHz bursts in a third of the samples, noise in the rest (HT20 on channel 1)."""
    rng = np.random.default_rng(5)
    freqs = tuple((2412 + (np.arange(56) - 28) * 22 / 64).tolist())
    out = []
    for i in range(count):
        burst = i % 3 == 0
        power = -112 + 10 * np.log10(rng.exponential(size=56))
        if burst:
            power[4:52] = -70 + rng.normal(0, 2, 48)
        out.append(SpectralSample(SampleFormat.HT20, 0, i * 1500, 2412, 30 if burst else 2, -95, freqs, tuple(power)))
    return out


def _feed(watch: SpectralWatch, samples: list[SpectralSample], start: float, step_s: float) -> list[float]:
    """Add the samples one by one, ``step_s`` apart from ``start``; the times at which events came."""
    raised = []
    for i, sample in enumerate(samples):
        now = start + i * step_s
        watch.add([sample], now)
        if watch.check(now) is not None:
            raised.append(now)
    return raised


@needs_captures
def test_the_camera_raises_one_non_wifi_burst_on_channel_1() -> None:
    """The camera's samples at their own pace (1.5 ms): one event, camera, channel 1, confidence >= 0.8."""
    watch = SpectralWatch(RADIO, WatchSettings(classify_every_s=0.05))
    events = []
    for i, sample in enumerate(_camera()):
        now = 100.0 + i * 0.0015
        watch.add([sample], now)
        event = watch.check(now)
        if event is not None:
            events.append(event)
    [event] = events
    assert event.type is EventType.NON_WIFI_BURST and event.radio_id == RADIO
    assert event.channel == 1 and event.metadata["kind"] == "video_camera"
    assert event.confidence >= 0.8 and float(event.metadata["duty_cycle"]) >= 0.7
    assert 2414.0 < float(event.metadata["freq_mhz"]) < 2414.6


@needs_captures
def test_nothing_is_classified_before_min_samples() -> None:
    """Nineteen samples are not enough to judge; the twentieth is."""
    watch = SpectralWatch(RADIO, WatchSettings(min_samples=20))
    camera = _camera()
    watch.add(camera[:19], 1.0)
    assert watch.check(1.0) is None and watch.latest is None
    watch.add(camera[19:20], 1.01)
    assert watch.check(1.01) is not None


@needs_captures
def test_a_stronger_verdict_on_the_same_source_is_reported_again() -> None:
    """A first report from 10 samples (confidence 0.64) is followed by others only as confidence climbs."""
    watch = SpectralWatch(RADIO, WatchSettings(min_samples=10, classify_every_s=0.01, repeat_s=60.0))
    confidences = []
    for i, sample in enumerate(_camera()[:200]):
        watch.add([sample], i * 0.0015)
        event = watch.check(i * 0.0015)
        if event is not None:
            confidences.append(event.confidence)
    assert confidences[0] < 0.8 <= confidences[-1]
    assert all(later >= earlier + 0.1 - 1e-3 for earlier, later in itertools.pairwise(confidences))
    assert len(confidences) < 10  # of about 30 classifications


@needs_captures
def test_a_lasting_source_is_reported_again_after_repeat_s() -> None:
    """The same camera, still there 10 s on, is raised again; not in between."""
    watch = SpectralWatch(RADIO, WatchSettings(classify_every_s=0.5, repeat_s=10.0, window_s=1.0))
    camera = _camera()
    raised = _feed(watch, (camera * 40)[: 40 * 600], 0.0, 0.001)  # 24 s of samples, looped
    assert len(raised) == 3
    assert raised[1] - raised[0] >= 10.0 and raised[2] - raised[1] >= 10.0


@needs_captures
def test_passes_space_out_while_the_verdict_stays_the_same() -> None:
    """10 s of one camera: passes 0.25 s apart at first, then doubling to 2 s; a change starts over."""
    watch = SpectralWatch(RADIO, WatchSettings(classify_every_s=0.25, max_classify_every_s=2.0))
    passes = []
    for i, sample in enumerate((_camera() * 15)[:10_000]):
        now = i * 0.001
        watch.add([sample], now)
        watch.check(now)
        if watch.latest_at not in passes and watch.latest is not None:
            passes.append(watch.latest_at)
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(passes)]
    assert gaps[:4] == [0.25, 0.5, 1.0, 2.0]
    assert set(gaps[4:]) == {2.0}
    changed = passes[-1] + 2.0  # the camera's samples have left the 1 s window by then
    watch.add(_wifi_only(40), changed)
    watch.check(changed)
    assert watch.latest is not None
    assert (watch.latest.kind.value, watch.latest_at) == ("wifi", changed)
    watch.add(_wifi_only(40), changed + 0.25)
    watch.check(changed + 0.25)
    assert watch.latest_at == changed + 0.25  # back to 0.25 s after the change


def test_wifi_alone_raises_nothing() -> None:
    """Flat wideband bursts are Wi-Fi: verdicts are made, no event, no non-Wi-Fi duty."""
    watch = SpectralWatch(RADIO, WatchSettings(classify_every_s=0.01))
    assert _feed(watch, _wifi_only(), 0.0, 0.0015) == []
    assert watch.latest is not None and watch.latest.kind.value == "wifi"
    assert watch.non_wifi_duty(CHANNEL_1, 0.3) == 0.0


@needs_captures
def test_non_wifi_duty_is_the_camera_s_on_its_channel_only_and_only_while_fresh() -> None:
    """Duty on channel 1 (the camera's), none on channel 6, none once the verdict is older than the window."""
    watch = SpectralWatch(RADIO, WatchSettings(window_s=1.0))
    watch.add(_camera()[:100], 5.0)
    assert watch.check(5.0) is not None
    assert watch.non_wifi_duty(CHANNEL_1, 5.5) >= 0.7
    assert watch.non_wifi_duty(CHANNEL_6, 5.5) == 0.0
    assert watch.non_wifi_duty(CHANNEL_1, 6.5) == 0.0


@needs_captures
def test_samples_older_than_the_window_leave_it() -> None:
    """Samples that arrived more than window_s ago are dropped; at most max_samples are kept."""
    watch = SpectralWatch(RADIO, WatchSettings(window_s=1.0, max_samples=50))
    camera = _camera()
    watch.add(camera[:80], 0.0)
    assert len(watch) == 50
    watch.add(camera[80:90], 1.5)
    assert len(watch) == 10


def test_settings_are_checked() -> None:
    """A window that can never hold min_samples is refused when the settings are made."""
    with pytest.raises(ValueError, match="min_samples"):
        WatchSettings(min_samples=300, max_samples=256)
