"""`rrm eval fast-loop`: static, ACS-like, random and BO policies on a short small_office run."""

from __future__ import annotations

import argparse
import json
from typing import Any

import pytest

from rrm.cli.errors import UsageError
from rrm.cli.fast_loop_eval_command import add_eval_parser
from rrm.cli.scenario_resolution import resolve_scenario
from rrm.evaluation.fast_loop_eval import FastLoopEvalOptions, evaluate_fast_loop

pytestmark = pytest.mark.integration

POLICY_KEYS = {"mean_qoe", "p5_qoe", "changes_per_ap_day", "worst_dip", "violations"}
SHORT = FastLoopEvalOptions(hours=1.0, step_s=20.0)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rrm")
    sub = p.add_subparsers(dest="command", required=True)
    evaluation = sub.add_parser("eval")
    add_eval_parser(evaluation.add_subparsers(dest="eval_command", required=True))
    return p


@pytest.fixture(scope="module")
def figures() -> dict[str, Any]:
    scenario, name = resolve_scenario("small_office")
    return evaluate_fast_loop(scenario, name, SHORT).figures()


def test_every_policy_reports_the_issue_figures(figures: dict[str, Any]) -> None:
    """The JSON holds the four policies with the five figures each, in range, and the BO's error."""
    policies = figures["policies"]
    assert isinstance(policies, dict) and set(policies) == {"static", "acs", "random", "bo"}, figures
    for name, tally in policies.items():
        assert set(tally) == POLICY_KEYS, f"{name} keys: {sorted(tally)}"
        assert 0.0 <= tally["p5_qoe"] <= tally["mean_qoe"] <= 1.0, f"{name}: {tally}"
        assert tally["violations"] == 0, f"{name}: {figures['details']}"
    assert policies["static"]["changes_per_ap_day"] == 0.0, policies["static"]
    assert policies["static"]["worst_dip"] == 0.0, policies["static"]
    error = figures["bo_median_prediction_error"]
    assert error is None or error >= 0.0, error


def test_looped_policies_change_and_roll_back_through_the_planner(figures: dict[str, Any]) -> None:
    """Random search and the BO both send changes and every judged change is kept or rolled back."""
    details = figures["details"]
    assert isinstance(details, dict)
    for name in ("random", "bo"):
        tally = details[name]
        assert tally["changes"] > 0, f"{name} never changed anything: {tally}"
        judged = tally["judged"]
        assert set(judged) <= {"kept", "rolled_back", "not_applied"}, tally
        assert tally["rollbacks"] == judged.get("rolled_back", 0), tally


def test_same_seed_gives_the_same_figures(figures: dict[str, Any]) -> None:
    """Deterministic: a second run of the BO alone with the same seed gives the same figures."""
    scenario, name = resolve_scenario("small_office")
    options = FastLoopEvalOptions(hours=SHORT.hours, step_s=SHORT.step_s, policies=("bo",))
    again = evaluate_fast_loop(scenario, name, options).figures()
    policies = figures["policies"]
    assert isinstance(policies, dict) and isinstance(again["policies"], dict)
    assert again["policies"]["bo"] == policies["bo"]
    assert again["bo_median_prediction_error"] == figures["bo_median_prediction_error"]


def test_cli_writes_the_json(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    """`rrm eval fast-loop --json` prints the figures of the chosen policies."""
    ns = parser().parse_args(
        [
            "eval",
            "fast-loop",
            "--scenario",
            "small_office",
            "--hours",
            "0.5",
            "--step",
            "30",
            "--policies",
            "static,acs",
        ]
    )
    assert ns.handler(ns) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["policies"]) == {"static", "acs"}
    assert out["bo_median_prediction_error"] is None


def test_cli_refuses_unknown_policies() -> None:
    """An unknown policy is a usage error naming the choices."""
    ns = parser().parse_args(["eval", "fast-loop", "--policies", "static,magic"])
    with pytest.raises(UsageError, match="magic"):
        ns.handler(ns)
