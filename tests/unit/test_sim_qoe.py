"""QoE per traffic class (rf-model.md section 8)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.qoe import TrafficCode, best_effort_qoe, client_qoe, mos_from_r, video_qoe, voice_qoe

pytestmark = pytest.mark.unit


def a(*values: float) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    return np.array(values, dtype=np.float64)


def test_best_effort_is_delivered_share_times_a_latency_factor() -> None:
    got = best_effort_qoe(a(10, 5, 10, 10, 10), a(10, 10, 10, 10, 10), a(20, 20, 300, 500, 900))
    assert got == pytest.approx([1.0, 0.5, 0.75, 0.5, 0.5])


def test_video_needs_half_its_rate_and_is_cut_by_loss_and_delay() -> None:
    got = video_qoe(a(5, 2.5, 3.75, 5, 5, 5), a(5, 5, 5, 5, 5, 5), a(0, 0, 0, 0.03, 0, 0), a(50, 50, 50, 50, 275, 500))
    assert got == pytest.approx([1.0, 0.0, 0.5, 0.5, 0.5, 0.0])


def test_voice_follows_the_e_model() -> None:
    """A clean call scores about MOS 4.4; loss and delay bring it down; MOS saturates at 1 and 4.5."""
    clean, lossy, late = voice_qoe(a(0, 0.05, 0), a(10, 10, 400))
    assert 0.9 < clean <= 1.0
    assert lossy < clean
    assert late < clean
    assert mos_from_r(a(-5, 0, 100, 120)) == pytest.approx([1.0, 1.0, 4.5, 4.5])


def test_clients_that_are_not_associated_get_zero() -> None:
    traffic = np.array([TrafficCode.BEST_EFFORT, TrafficCode.VIDEO, TrafficCode.VOICE, TrafficCode.BEST_EFFORT])
    got = client_qoe(
        traffic, np.array([True, True, True, False]), a(4, 4, 0.1, 4), a(4, 4, 0.1, 4), a(0, 0, 0, 0), a(10, 10, 10, 10)
    )
    assert got[:2] == pytest.approx([1.0, 1.0])
    assert 0.9 < got[2] <= 1.0
    assert got[3] == 0.0
