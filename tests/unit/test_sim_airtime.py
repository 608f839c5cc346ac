"""Carrier sense and airtime sharing (rf-model.md sections 4 and 6)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.airtime import defer_matrix, obss_pd_tx_power_cap_dbm, share_airtime, water_fill

pytestmark = pytest.mark.unit

NAN = np.nan


def test_preamble_detect_on_the_primary_energy_detect_elsewhere_obss_pd_scaled_by_width() -> None:
    power = np.array([[0.0, -80.0, -70.0, -75.0]])
    alpha = np.array([[0.0, 1.0, 1.0, 1.0]])
    shares = np.array([[False, True, False, True]])
    widths = np.array([20.0, 20.0, 20.0, 40.0])
    active = np.array([True, True, True, True])
    off = defer_matrix(power, alpha, shares, np.array([-82.0]), widths, active)
    assert off.tolist() == [[False, True, False, True]]  # −80 ≥ −82 on the primary; −70 < −62 ED off-primary
    spatial_reuse = defer_matrix(power, alpha, shares, np.array([-78.0]), widths, active)
    assert spatial_reuse.tolist() == [[False, False, False, True]]  # −75 ≥ −78 + 3 for the 40 MHz PPDU


def test_obss_pd_caps_tx_power() -> None:
    """TX_PWRmax = 21 − (OBSS_PD + 82): no cap at −82, 9 dBm at −70 (rf-model 4)."""
    assert obss_pd_tx_power_cap_dbm(np.array([-82.0, -70.0, -62.0])).tolist() == [np.inf, 9.0, 1.0]


def test_a_clique_shares_max_min_fairly() -> None:
    everyone = ~np.eye(3, dtype=bool)
    shares = share_airtime(np.array([0.2, 0.4, 0.8]), np.ones(3), everyone, np.full(3, NAN))
    assert shares.airtime == pytest.approx([0.2, 0.4, 0.4], abs=0.01)
    saturated = share_airtime(np.array([1.0, 1.0, 3.0]), np.ones(3), everyone, np.full(3, NAN))
    assert saturated.airtime == pytest.approx([1 / 3, 1 / 3, 1 / 3], abs=0.01)  # saturated senders get equal air
    light = share_airtime(np.array([0.1, 1.0, 1.0]), np.ones(3), everyone, np.full(3, NAN))
    assert light.airtime == pytest.approx([0.1, 0.45, 0.45], abs=0.01)  # what the light one leaves is shared
    assert light.capacity == pytest.approx([0.1, 0.45, 0.45], abs=0.01)


def test_the_radio_in_the_middle_of_two_that_do_not_hear_each_other_loses() -> None:
    """Flow-in-the-middle: 0 and 2 do not hear each other, 1 hears both; 1 gets the least."""
    chain = np.array([[False, True, False], [True, False, True], [False, True, False]])
    shares = share_airtime(np.ones(3), np.ones(3), chain, np.full(3, NAN))
    assert shares.airtime[1] < shares.airtime[0]
    assert shares.airtime[0] == pytest.approx(shares.airtime[2])


def test_unheard_radios_get_their_need_and_fixed_ones_keep_their_duty() -> None:
    none = np.zeros((2, 2), dtype=bool)
    assert share_airtime(np.array([0.7, 0.9]), np.ones(2), none, np.full(2, NAN)).airtime == pytest.approx([0.7, 0.9])
    with_bss = share_airtime(np.array([1.0, 0.0]), np.ones(2), ~np.eye(2, dtype=bool), np.array([NAN, 0.4]))
    assert with_bss.airtime == pytest.approx([0.6, 0.4], abs=0.01)
    blocked = share_airtime(np.array([1.0]), np.array([0.5]), np.zeros((1, 1), dtype=bool), np.array([NAN]))
    assert blocked.airtime == pytest.approx([0.5])


def test_water_fill_gives_equal_airtime_up_to_each_need() -> None:
    group = np.array([0, 0, 0, 1, -1])
    need = np.array([0.1, 0.5, 0.9, 0.3, 0.5])
    filled = water_fill(group, need, np.array([0.7, 1.0]))
    assert filled.allocation == pytest.approx([0.1, 0.3, 0.3, 0.3, 0.0], abs=1e-6)
    assert filled.level[0] == pytest.approx(0.3, abs=1e-6)
    assert filled.level[1] == np.inf
