"""The HIL rig's spectral replay schedule and its Wi-Fi-only negative capture, without the guest."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from drivers.spectral import SpectralCaptureError, decode_capture
from drivers.spectral.interference import InterferenceKind, classify
from hil_tests.rig.spectral_replay import RETUNE_GAP_S, main, replay_schedule
from hil_tests.rig.spectral_wifi_capture import wifi_only_capture

pytestmark = pytest.mark.unit

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "spectral"
CAMERA = CAPTURES / "ar9550_20mhz_analog_camera_ch1.dump"
needs_captures = pytest.mark.skipif(not CAMERA.is_file(), reason=f"the public spectral captures are not at {CAPTURES}")


@needs_captures
def test_the_schedule_keeps_the_capture_s_timing_and_bytes() -> None:
    """Records of one dwell follow each other by their TSF difference; together they are the file's bytes."""
    data = CAMERA.read_bytes()
    samples = decode_capture(data, str(CAMERA))
    schedule = replay_schedule(data, str(CAMERA))
    assert b"".join(r.data for r in schedule) == data
    assert schedule[0].at_s == 0.0
    assert schedule[10].at_s == pytest.approx((samples[10].tsf - samples[0].tsf) / 1e6)
    assert all(b.at_s >= a.at_s for a, b in itertools.pairwise(schedule))


@needs_captures
def test_freq_keeps_only_the_records_of_one_tuning() -> None:
    """--freq 2412: the 676 records of the camera capture's channel-1 dwell, about 1.01 s of them."""
    schedule = replay_schedule(CAMERA.read_bytes(), str(CAMERA), 2412)
    assert len(schedule) == 676 and {r.central_freq for r in schedule} == {2412}
    assert schedule[-1].at_s == pytest.approx(1.0109, abs=1e-3)


@needs_captures
def test_a_tsf_restart_takes_the_retune_gap() -> None:
    """Where the TSF goes backwards (the AR9223 sweep retunes), the next record comes RETUNE_GAP_S later."""
    path = CAPTURES / "ar9223_analog_camera_ch1.dump"
    samples = decode_capture(path.read_bytes(), str(path))
    schedule = replay_schedule(path.read_bytes(), str(path))
    restart = next(i for i in range(1, len(samples)) if samples[i].tsf < samples[i - 1].tsf)
    assert schedule[restart].at_s - schedule[restart - 1].at_s == pytest.approx(RETUNE_GAP_S)


@needs_captures
def test_a_damaged_capture_is_not_replayed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """crash_1.dump: the schedule refuses it; the command prints an error phase naming the file, exit 1."""
    path = CAPTURES / "crash_1.dump"
    with pytest.raises(SpectralCaptureError):
        replay_schedule(path.read_bytes(), str(path))
    assert main(["--to", str(tmp_path / "out"), str(path)]) == 1
    assert '"phase": "error"' in capsys.readouterr().out and not (tmp_path / "out").exists()


def test_the_wifi_only_capture_is_wifi_to_the_classifier() -> None:
    """The negative: Wi-Fi bursts and noise on channel 1, no non-Wi-Fi source."""
    data = wifi_only_capture()
    samples = decode_capture(data, "wifi-only")
    assert len(samples) == 676 and {s.central_freq for s in samples} == {2412}
    verdict = classify(samples)
    assert verdict.kind is InterferenceKind.WIFI and not verdict.non_wifi
    assert data == wifi_only_capture()  # the same bytes for the same seed
