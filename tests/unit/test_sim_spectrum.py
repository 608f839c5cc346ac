"""Spectral overlap of 802.11 masks against rf-model.md section 5."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drivers.sim.spectrum import band_of_frequency, channel_at_frequency, overlap_factor, overlap_matrix
from radio_domain.radio import Band

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("delta_mhz", "expected_db"),
    [(0, 0.0), (5, -1.4), (10, -3.3), (15, -6.8), (20, -22.3), (25, -27.4), (30, -32.3), (40, -37.0)],
)
def test_20_mhz_overlap_matches_the_rf_model_table(delta_mhz: float, expected_db: float) -> None:
    """α for two 20 MHz OFDM signals Δ apart is within 1.5 dB of the rf-model 5 table."""
    assert 10 * math.log10(overlap_factor(delta_mhz, 20, 20)) == pytest.approx(expected_db, abs=1.5)


@pytest.mark.parametrize("width", [40, 80, 160])
def test_adjacent_equal_width_channels_leak_about_minus_22_db(width: int) -> None:
    """Adjacent channels of equal width: ≈ −22 to −23 dB; second-adjacent ≈ −37 dB (rf-model 5)."""
    assert 10 * math.log10(overlap_factor(width, width, width)) == pytest.approx(-22.5, abs=1.5)
    assert 10 * math.log10(overlap_factor(2 * width, width, width)) == pytest.approx(-37.0, abs=1.5)


def test_a_narrow_transmission_inside_a_wide_receiver_counts_fully_and_the_reverse_by_width() -> None:
    """A 20 MHz signal inside an 80 MHz receiver: ≈ 0 dB; an 80 MHz signal into a 20 MHz receiver: ≈ −6 dB."""
    assert 10 * math.log10(overlap_factor(30, 20, 80)) == pytest.approx(0.0, abs=0.5)
    assert 10 * math.log10(overlap_factor(30, 80, 20)) == pytest.approx(-6.0, abs=0.5)


def test_far_apart_and_other_band_signals_do_not_leak() -> None:
    assert overlap_factor(300, 20, 20) == 0.0
    alpha = overlap_matrix(
        np.array([2412.0, 5180.0]), np.array([20.0, 20.0]), np.array([2437.0, 5200.0]), np.array([20.0, 20.0])
    )
    assert alpha[0, 1] == 0.0
    assert alpha[1, 0] == 0.0
    assert alpha[0, 0] == pytest.approx(overlap_factor(25, 20, 20), rel=1e-3)
    assert alpha[1, 1] == pytest.approx(overlap_factor(20, 20, 20), rel=1e-3)


def test_overlap_falls_monotonically_with_spacing() -> None:
    values = [overlap_factor(d, 20, 20) for d in range(0, 60, 5)]
    assert values == sorted(values, reverse=True)


def test_frequencies_map_to_bands_and_channels() -> None:
    assert band_of_frequency(2437) is Band.G2
    assert band_of_frequency(5500) is Band.G5
    assert band_of_frequency(6115) is Band.G6
    assert band_of_frequency(3000) is None
    assert channel_at_frequency(Band.G2, 2437) == 6
    assert channel_at_frequency(Band.G5, 5745) == 149
    assert channel_at_frequency(Band.G6, 6135) == 37
    assert channel_at_frequency(Band.G5, 5747) is None
