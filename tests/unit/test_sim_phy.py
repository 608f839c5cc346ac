"""Receiver figures: noise floor, MCS selection, rates and PER (rf-model.md sections 2 and 3)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim import phy

pytestmark = pytest.mark.unit


def test_noise_floor_per_width() -> None:
    """−174 + 10log10(B) + 7 dB: −94, −91, −88, −84.9 dBm for 20/40/80/160 MHz (rf-model 2)."""
    assert phy.noise_floor_dbm(np.array([20, 40, 80, 160])) == pytest.approx([-94.0, -91.0, -88.0, -84.9], abs=0.1)


def test_mcs_selection_needs_sinr_margin_and_sensitivity() -> None:
    sinr = np.array([40.0, 19.1, 19.0, 3.3, -5.0, 40.0])
    rssi = np.array([-40.0, -40.0, -40.0, -40.0, -40.0, -60.0])
    width = np.array([20, 20, 20, 20, 20, 80])
    # MCS5 needs 15.1 + 4 dB; MCS0 is the floor; at 80 MHz -60 dBm only clears MCS5 (−66 + 6 dB).
    assert phy.select_mcs(sinr, rssi, width).tolist() == [11, 5, 4, 0, 0, 5]


def test_rates_grow_with_mcs_and_width_and_clients_use_two_streams() -> None:
    assert phy.phy_rate_mbps(np.array([0, 11]), np.array([20, 20])) == pytest.approx([17.2, 286.8])
    assert phy.phy_rate_mbps(np.array([11, 11]), np.array([80, 160]), streams=1) == pytest.approx([600.5, 1201.0])
    assert phy.sensitivity_dbm(np.array([0, 0]), np.array([20, 40])) == pytest.approx([-82.0, -79.0])


def test_per_curve_passes_through_the_awgn_points_and_falls_with_sinr() -> None:
    mcs = np.arange(phy.MCS_COUNT)
    assert phy.packet_error_rate(phy.SNR_PER10_DB, mcs) == pytest.approx(np.full(phy.MCS_COUNT, 0.1))
    assert phy.packet_error_rate(phy.SNR_PER1_DB, mcs) == pytest.approx(np.full(phy.MCS_COUNT, 0.01))
    curve = phy.packet_error_rate(np.linspace(0, 30, 61), np.full(61, 7))
    assert np.all(np.diff(curve) <= 0)
    assert curve[0] > 0.99
    assert curve[-1] < 1e-6
