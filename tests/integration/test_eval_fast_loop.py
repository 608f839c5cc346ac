"""`rrm eval fast-loop`: static, ACS-like, random and BO policies on a short small_office run."""

from __future__ import annotations

import argparse
import json
import re
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


@pytest.fixture(scope="module")
def two_seeds() -> dict[int, Any]:
    from rrm.evaluation.fast_loop_seeds import evaluate_seeds

    scenario, name = resolve_scenario("small_office")
    options = FastLoopEvalOptions(hours=0.5, step_s=30.0, policies=("static", "bo"))
    return {jobs: evaluate_seeds(scenario, name, [1, 2], options, jobs=jobs) for jobs in (1, 2)}


def test_runs_in_worker_processes_give_the_figures_of_one_process(two_seeds: dict[int, Any]) -> None:
    """Each (seed, policy) run is on its own world: --jobs changes the wall time, not the figures."""
    one, two = two_seeds[1], two_seeds[2]
    assert list(one) == list(two) == [1, 2]
    for seed in (1, 2):
        assert one[seed].figures() == two[seed].figures(), seed
    assert one[1].figures()["policies"] != one[2].figures()["policies"]  # the seed reaches the world


def test_the_summary_spans_the_seeds(two_seeds: dict[int, Any]) -> None:
    """Mean, min and max per policy and figure; the BO less each other policy per seed; targets per seed."""
    from rrm.evaluation.fast_loop_seeds import summary

    evaluations = two_seeds[1]
    found = summary(evaluations)
    assert found["seeds"] == [1, 2]
    policies = found["policies"]
    assert isinstance(policies, dict) and set(policies) == {"static", "bo"}
    for figure in POLICY_KEYS:
        spread = policies["bo"][figure]
        assert spread["min"] <= spread["mean"] <= spread["max"], (figure, spread)
    qoe = [evaluations[s].results["bo"].mean_qoe for s in (1, 2)]
    assert policies["bo"]["mean_qoe"]["max"] == round(max(qoe), 4)
    less = found["bo_mean_qoe_less"]
    assert isinstance(less, dict)
    for seed in (1, 2):
        expected = evaluations[seed].results["bo"].mean_qoe - evaluations[seed].results["static"].mean_qoe
        assert less["static"][str(seed)] == round(expected, 4)
    held = found["targets_held_on_seeds"]
    assert isinstance(held, dict) and held["zero_violations"] == [1, 2], held


def test_cli_runs_several_seeds_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """`--seeds 3-4` writes each seed's figures and the summary across them."""
    args = ["eval", "fast-loop", "--hours", "0.25", "--step", "30", "--policies", "static,acs", "--seeds", "3-4"]
    ns = parser().parse_args(args)
    assert ns.handler(ns) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["per_seed"]) == {"3", "4"}
    assert out["per_seed"]["3"]["seed"] == 3
    assert out["summary"]["seeds"] == [3, 4]
    assert set(out["summary"]["policies"]) == {"static", "acs"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "1-x"], "'1-x' is not a seed or a range"),
        (["--seeds", "4-2"], "'4-2' must be non-negative and ascending"),
        (["--seeds", "1,2,2"], "a seed is listed twice"),
        (["--seeds", "0-999999999999"], "more than 100 seeds in one run"),
        (["--seeds", "1-2", "--seed", "3"], "--seed and --seeds are exclusive"),
        (["--jobs", "0"], "--jobs must be at least 1, not 0"),
    ],
)
def test_cli_refuses_bad_seeds_and_jobs(args: list[str], message: str) -> None:
    """Bad --seeds or --jobs is a usage error naming the input, before anything runs."""
    ns = parser().parse_args(["eval", "fast-loop", *args])
    with pytest.raises(UsageError, match=re.escape(message)):
        ns.handler(ns)
