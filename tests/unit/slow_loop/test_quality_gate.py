"""The slow loop's quality gate: a scheduled plan only while some radio's clients are below the threshold."""

from __future__ import annotations

import math

import pytest

from controller.slow_loop.plan_execution import ExecutionSettings
from controller.slow_loop.quality_gate import QoeReading, QualityInputError, gate_since, replan_verdict, worst_hour_qoe


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


def test_a_radios_figure_is_its_worst_hour_of_client_readings() -> None:
    """A busy afternoon hour at 0.6 decides, though the night the window plans in is at 1.0."""
    hour = 3600.0
    readings = [
        QoeReading("ap-1/5g", 14 * hour + 60, 3.0, 5),  # 0.6 over 5 clients
        QoeReading("ap-1/5g", 14 * hour + 120, 1.8, 3),  # 0.6
        QoeReading("ap-1/5g", 2 * hour + 86_400, 1.0, 1),  # the next night: 1.0
        QoeReading("ap-2/5g", 14 * hour, 9.5, 10),
        QoeReading("ap-3/5g", 14 * hour, 0.0, 0),  # no clients: not counted
    ]
    worst = worst_hour_qoe(readings)
    assert worst == {"ap-1/5g": pytest.approx(0.6), "ap-2/5g": pytest.approx(0.95)}
    assert replan_verdict(worst, 0.95).worst_radio == "ap-1/5g"


def test_the_gate_reads_from_the_last_plan_change_at_most_a_day_back() -> None:
    now = 10 * 86_400.0
    assert gate_since(now, None) == now - 86_400.0
    assert gate_since(now, now - 3 * 3600.0) == now - 3 * 3600.0
    assert gate_since(now, now - 5 * 86_400.0) == now - 86_400.0
