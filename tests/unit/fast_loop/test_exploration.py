from __future__ import annotations

import math

import numpy as np
import pytest

from controller.fast_loop.candidates import SafeValues, candidate_table
from controller.fast_loop.exploration import (
    ChangeBudget,
    Choice,
    Refusal,
    SafetySettings,
    TrustRegionRule,
    choose,
    normal_cdf,
    seen_unsafe,
)
from controller.fast_loop.surrogate import Prediction
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

CURRENT = RadioConfig(36, 40, 17.0, -78)


def _prediction(mean: list[float], std: list[float], reference_mean: float = 0.6) -> Prediction:
    return Prediction(
        mean=np.asarray(mean),
        std=np.asarray(std),
        cov_with_reference=np.zeros(len(mean)),
        reference_mean=reference_mean,
        reference_std=0.0,
    )


def test_radius_one_changes_one_parameter_by_one_step_and_never_keeps_the_current() -> None:
    table = candidate_table(Region.FCC, Band.G5, SafeValues())
    rule = TrustRegionRule()
    rows = np.flatnonzero(rule.mask(table, CURRENT, 1))
    assert rows.size > 0
    for i in rows:
        c = table.config(int(i))
        changed = [
            c.channel != CURRENT.channel,
            c.width_mhz != CURRENT.width_mhz,
            c.tx_power_dbm != CURRENT.tx_power_dbm,
            c.obss_pd_dbm != CURRENT.obss_pd_dbm,
        ]
        assert sum(changed) == 1
        assert abs(c.tx_power_dbm - 17.0) <= 3.0 and abs(c.obss_pd_dbm + 78) <= 4
        assert c.width_mhz in (20, 40, 80)
    wider = rule.mask(table, CURRENT, 3)
    here = table.index_of(CURRENT)
    assert here is not None and not wider[here]
    assert wider.sum() > rows.size


def test_the_region_widens_after_a_change_that_helped_and_shrinks_after_one_that_did_not() -> None:
    rule = TrustRegionRule(max_radius=4)
    assert rule.after(1, helped=True) == 2
    assert rule.after(4, helped=True) == 4
    assert rule.after(3, helped=False) == 2
    assert rule.after(1, helped=False) == 1


def test_the_daily_budget_is_a_rolling_24_hours_of_the_given_time() -> None:
    budget = ChangeBudget(max_per_day=2)
    t0 = 1_767_225_600.0
    budget.record(t0)
    budget.record(t0 + 60.0)
    assert not budget.allows(t0 + 3600.0)
    assert budget.used(t0 + 86_400.0) == 1  # the first change is exactly 24 h old: no longer counted
    assert budget.allows(t0 + 86_400.0)


def test_normal_cdf_matches_erf() -> None:
    z = np.linspace(-6.0, 6.0, 241)
    expected = np.asarray([0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in z])
    assert np.max(np.abs(normal_cdf(z) - expected)) < 2e-7


def test_the_safety_threshold_rejects_a_candidate_predicted_to_be_bad() -> None:
    settings = SafetySettings(margin=0.05, beta=2.0, min_gain=0.02, gain_confidence=0.8)
    # Row 0 promises the most but could lose 0.2 (pessimistic gain 0.1 - 2 * 0.15); row 1 is sure.
    choice = choose(_prediction([0.70, 0.66], [0.15, 0.01]), settings, may_explore=False)
    assert isinstance(choice, Choice) and choice.row == 1 and choice.kind == "improve"
    refusal = choose(_prediction([0.70], [0.15]), settings, may_explore=True)
    assert isinstance(refusal, Refusal) and refusal.code == "nothing_safe"


def test_hysteresis_wants_a_confident_gain_above_the_threshold() -> None:
    settings = SafetySettings(min_gain=0.02, gain_confidence=0.8)
    small = choose(_prediction([0.61], [0.005]), settings, may_explore=False)  # certain, but +0.01 only
    assert isinstance(small, Refusal) and small.code == "no_confident_gain"
    unsure = choose(_prediction([0.625], [0.02]), settings, may_explore=False)  # P(gain > 0.02) ~ 60 %
    assert isinstance(unsure, Refusal) and unsure.code == "no_confident_gain"
    explored = choose(_prediction([0.625], [0.02]), settings, may_explore=True)
    assert isinstance(explored, Choice) and explored.kind == "explore"


def test_a_candidate_measured_to_lose_more_than_the_margin_is_never_safe_however_confident_the_model() -> None:
    """An over-confident model (a strong channel prior, one bad reading shrunk away) cannot send it back."""
    here = (1, 20, 20.0, -82)
    overlapping, untried, mild = (3, 20, 20.0, -82), (6, 20, 20.0, -82), (1, 20, 17.0, -82)
    seen = [(here, 0.69), (here, 0.68), (overlapping, 0.45), (mild, 0.66), (here, 0.70)]
    bad = seen_unsafe([overlapping, untried, mild], seen, here, margin=0.05)
    assert bad.tolist() == [True, False, False]  # a small loss (0.03) at a config is not condemned
    assert not seen_unsafe([overlapping], seen, (11, 20, 20.0, -82), margin=0.05).any()  # no reading here
    pred = _prediction([0.75, 0.70, 0.69], [0.01, 0.02, 0.02], reference_mean=0.69)
    without = choose(pred, SafetySettings(), may_explore=True)
    assert isinstance(without, Choice) and without.row == 0  # the model alone would move there again
    with_evidence = choose(pred, SafetySettings(), may_explore=True, seen_bad=bad)
    assert isinstance(with_evidence, Choice) and with_evidence.row != 0
    only_bad = choose(_prediction([0.75], [0.01], 0.69), SafetySettings(), True, seen_bad=np.asarray([True]))
    assert isinstance(only_bad, Refusal) and only_bad.code == "nothing_safe"


def test_after_a_surprise_an_exploration_must_stay_within_the_margin_even_if_the_model_is_that_wrong() -> None:
    """A neutral-looking power step (+0.003, sd 0.025) may be explored by a model with no record;
    after the model overestimated a change here by 0.35 it may not, while a confident improvement is
    judged as before. A small shortfall (0.08) still lets an exploration that covers it go."""
    neutral = _prediction([0.693], [0.025], reference_mean=0.69)
    trusted = choose(neutral, SafetySettings(), may_explore=True)
    assert isinstance(trusted, Choice) and trusted.kind == "explore"
    distrusted = choose(neutral, SafetySettings(), may_explore=True, distrust=0.35)
    assert isinstance(distrusted, Refusal) and distrusted.code == "distrusted"
    assert "overestimated a recent change here by 0.350" in distrusted.text
    covered_pred = _prediction([0.693, 0.73], [0.025, 0.04], reference_mean=0.69)
    covered = choose(covered_pred, SafetySettings(), may_explore=True, distrust=0.08)
    assert isinstance(covered, Choice) and covered.kind == "explore" and covered.row == 1  # +0.04 - 0.08 >= -0.05
    confident = choose(_prediction([0.75], [0.01], reference_mean=0.69), SafetySettings(), True, distrust=0.35)
    assert isinstance(confident, Choice) and confident.kind == "improve"  # +0.06, sure: not held back
