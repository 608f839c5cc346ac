"""The detector evaluation: structure, repeatability and the targets rule (not the detector's quality)."""

from __future__ import annotations

import pytest

from hil_tests.pulses.generator import Impairments
from rrm.evaluation.radar_detector_eval import (
    FamilyOutcome,
    RadarDetectorEvalOptions,
    RadarDetectorEvaluation,
    evaluate_radar_detector,
)

pytestmark = pytest.mark.unit


def test_the_same_seed_gives_the_same_figures() -> None:
    options = RadarDetectorEvalOptions(trials=3, seed=2, families=["etsi-1", "fcc-5"], negatives=["neg-random-pulses"])
    first, second = evaluate_radar_detector(options).figures(), evaluate_radar_detector(options).figures()
    assert first == second
    families = first["families"]
    assert isinstance(families, dict) and set(families) == {"etsi-1", "fcc-5"}


def test_targets_need_every_family_and_the_false_alarm_rate() -> None:
    options = RadarDetectorEvalOptions(trials=100)
    good = FamilyOutcome(trials=100, detected=95)
    negatives = {"n": FamilyOutcome(trials=100, detected=1)}
    assert RadarDetectorEvaluation(options, {"a": good}, negatives).targets_met
    weak = FamilyOutcome(trials=100, detected=94)
    assert not RadarDetectorEvaluation(options, {"a": good, "b": weak}, negatives).targets_met
    noisy = RadarDetectorEvaluation(options, {"a": good}, {**negatives, "m": FamilyOutcome(trials=100, detected=2)})
    assert noisy.false_alarms.rate == 0.015 and not noisy.targets_met


def test_negatives_are_not_thinned_by_lost_pulses() -> None:
    imp = Impairments(lost_fraction=0.5)
    options = RadarDetectorEvalOptions(trials=2, impairments=imp, families=[], negatives=["neg-single-pulses"])
    figures = evaluate_radar_detector(options).figures()
    assert figures["negatives"]["trials"] == 2  # type: ignore[index]
    with pytest.raises(ValueError, match="trials"):
        evaluate_radar_detector(RadarDetectorEvalOptions(trials=0))
