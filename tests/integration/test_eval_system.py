"""`rrm eval system`: the three loops on the simulator, repeatable for a scenario and seed."""

from __future__ import annotations

import pytest

from drivers.sim.scenario import load_scenario, shipped_scenario
from rrm.evaluation.system_eval import SystemEvalOptions, evaluate_system

pytestmark = pytest.mark.integration


def test_the_system_evaluation_is_deterministic_and_runs_every_loop() -> None:
    """Half an hour of small_office, twice: the same figures; a plan at 10 minutes; no violation."""
    scenario = load_scenario(shipped_scenario("small_office"))
    options = SystemEvalOptions(days=0.02, plan_at_start_s=300.0)
    first = evaluate_system(scenario, "small_office", options)
    second = evaluate_system(scenario, "small_office", options)
    first.pop("wall_s")
    second.pop("wall_s")
    assert first == second
    plans = first["plans"]
    assert isinstance(plans, dict) and plans["started"] == {"on_demand": 1}
    assert first["violations"] == 0
    events = first["events"]
    assert isinstance(events, dict) and events["reported"], "the scenario's radar and burst reached the controller"
