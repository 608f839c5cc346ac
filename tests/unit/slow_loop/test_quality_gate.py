"""The slow loop's quality gate: a scheduled plan only while some radio's clients are below the threshold."""

from __future__ import annotations

import math

import pytest

from controller.slow_loop.plan_execution import ExecutionSettings
from controller.slow_loop.quality_gate import QualityInputError, replan_verdict


def test_every_radio_at_or_above_the_threshold_keeps_the_plan_naming_the_worst() -> None:
    verdict = replan_verdict({"ap-1/5g": 0.99, "ap-2/2g": 0.95, "ap-3/5g": 1.0}, 0.95)
    assert not verdict.replan
    assert (verdict.worst_radio, verdict.worst_qoe) == ("ap-2/2g", 0.95)
    assert "ap-2/2g at 0.950" in verdict.reason and "3 radios" in verdict.reason


def test_one_radio_below_is_enough_even_when_the_mean_is_high() -> None:
    """99 radios at 1.0 and one at 0.2: the mean is 0.992, the plan still runs (the worst radio counts)."""
    qoe = {f"ap-{i:03d}/5g": 1.0 for i in range(99)} | {"ap-099/5g": 0.2}
    verdict = replan_verdict(qoe, 0.95)
    assert verdict.replan
    assert verdict.worst_radio == "ap-099/5g"
    assert "ap-099/5g's client QoE 0.200 is below" in verdict.reason


def test_no_measurement_or_no_threshold_never_holds_a_plan() -> None:
    assert replan_verdict({}, 0.95).replan
    assert "no radio's client QoE" in replan_verdict({}, 0.95).reason
    assert replan_verdict({"ap-1/5g": 1.0}, None).replan


@pytest.mark.parametrize("bad", [math.nan, -0.1, 1.2, math.inf])
def test_a_bad_qoe_figure_is_refused_naming_the_radio(bad: float) -> None:
    with pytest.raises(QualityInputError, match=r"radio ap-7/5g: client QoE must be a number in 0\.\.1"):
        replan_verdict({"ap-1/5g": 0.99, "ap-7/5g": bad}, 0.95)


@pytest.mark.parametrize("bad", [0.0, -1.0, 1.01, math.nan])
def test_a_bad_threshold_is_refused(bad: float) -> None:
    with pytest.raises(QualityInputError, match="quality threshold must be in"):
        replan_verdict({"ap-1/5g": 0.99}, bad)
    with pytest.raises(ValueError, match="quality threshold must be in"):
        ExecutionSettings(quality_threshold=bad)
