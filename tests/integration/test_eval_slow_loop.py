"""`rrm eval slow-loop`: the static, TIP and heuristic policies on a short run of the unplanned office.

safe_rl is left out of the shared run: it trains a model on the scenario first (minutes); one test
runs it with a model file instead, to show that a model which failed its held-out check plans as
the heuristic does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from rrm.cli.errors import UsageError
from rrm.cli.slow_loop_eval_command import add_eval_parser

pytestmark = pytest.mark.integration

POLICY_KEYS = {"mean_qoe", "p5_qoe", "max_aps_changed_per_iteration", "rollbacks", "violations"}
BASELINES = "static,tip_unmanaged_aware,heuristic"
SHORT_RUN = ["--scenario", "unplanned_office", "--days", "0.1", "--step", "60", "--observe", "300"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rrm")
    sub = p.add_subparsers(dest="command", required=True)
    evaluation = sub.add_parser("eval")
    add_eval_parser(evaluation.add_subparsers(dest="eval_command", required=True))
    return p


def run_cli(args: list[str], target: Path) -> dict[str, Any]:
    ns = parser().parse_args(["eval", "slow-loop", *args, "--json", str(target)])
    assert ns.handler(ns) == 0
    figures: dict[str, Any] = json.loads(target.read_text())
    return figures


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_cli([*SHORT_RUN, "--policies", BASELINES], tmp_path_factory.mktemp("slow") / "figures.json")


def test_every_policy_reports_the_issue_figures(figures: dict[str, Any]) -> None:
    """The JSON holds the policies asked for, with the five figures each, in range, and no violations."""
    policies = figures["policies"]
    assert set(policies) == set(BASELINES.split(",")), figures
    for name, tally in policies.items():
        assert set(tally) == POLICY_KEYS, f"{name}: {sorted(tally)}"
        assert 0.0 <= tally["p5_qoe"] <= tally["mean_qoe"] <= 1.0, f"{name}: {tally}"
        assert tally["violations"] == 0, figures["details"][name]
        assert tally["max_aps_changed_per_iteration"] <= 3, tally


def test_the_static_plan_never_changes_and_the_planners_improve_on_it(figures: dict[str, Any]) -> None:
    """static: no changes; the heuristic changes APs in steps and beats the factory plan of the office."""
    policies, details = figures["policies"], figures["details"]
    assert details["static"]["changes"] == 0 and policies["static"]["max_aps_changed_per_iteration"] == 0
    heuristic = details["heuristic"]
    assert heuristic["changes"] > 0 and heuristic["approvals_requested"] == 1, heuristic
    assert policies["heuristic"]["mean_qoe"] > policies["static"]["mean_qoe"], policies


def test_same_seed_gives_the_same_figures(figures: dict[str, Any], tmp_path: Path) -> None:
    """Deterministic: the heuristic alone, same seed, same figures."""
    again = run_cli([*SHORT_RUN, "--policies", "heuristic"], tmp_path / "again.json")
    assert again["policies"]["heuristic"] == figures["policies"]["heuristic"]


def test_cli_refuses_unknown_policies_and_bad_periods() -> None:
    """An unknown policy, or a plan period outside 4-24 h, is a usage error naming it."""
    ns = parser().parse_args(["eval", "slow-loop", "--policies", "static,magic"])
    with pytest.raises(UsageError, match="magic"):
        ns.handler(ns)
    ns = parser().parse_args(["eval", "slow-loop", "--period-hours", "1"])
    with pytest.raises(UsageError, match="period"):
        ns.handler(ns)


def test_the_quality_threshold_holds_plans_of_a_site_that_has_nothing_to_fix(tmp_path: Path) -> None:
    """small_office, 1 day: once the first plan has every radio's clients at 0.95 or more, later plans wait.

    With ``--quality-threshold off`` every period plans again and the heuristic makes more changes.
    """
    run = ["--scenario", "small_office", "--days", "1", "--policies", "heuristic"]
    gated = run_cli(run, tmp_path / "gated.json")["details"]["heuristic"]
    ungated = run_cli([*run, "--quality-threshold", "off"], tmp_path / "ungated.json")["details"]["heuristic"]
    assert gated["plans_held_by_quality"] >= 1, gated
    assert gated["plans"] == ungated["plans"], (gated, ungated)
    assert ungated["plans_held_by_quality"] == 0, ungated
    assert ungated["changes"] > gated["changes"], (gated, ungated)


@pytest.mark.parametrize("bad", ["0", "1.5", "high"])
def test_cli_refuses_a_bad_quality_threshold(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["eval", "slow-loop", "--quality-threshold", bad])
    assert f"--quality-threshold: {bad!r} is not a QoE in (0, 1] or off" in capsys.readouterr().err


def test_safe_rl_with_a_model_that_failed_its_held_out_check_runs_as_the_heuristic(tmp_path: Path) -> None:
    """A model whose estimates want learned plans, but whose held-out check failed: the heuristic's figures."""
    import numpy as np

    from controller.slow_loop.cql_model import ConservativeQ
    from controller.slow_loop.held_out_check import HeldOutCheck
    from controller.slow_loop.move_features import MOVE_FEATURES, N_MOVE_FEATURES, N_STATE_FEATURES
    from controller.slow_loop.policy_registry import register_policy
    from controller.slow_loop.safe_rl_policy import build_safe_rl_policy

    weights = np.zeros(N_MOVE_FEATURES)
    weights[MOVE_FEATURES.index("power_step")] = -20.0  # wants power cut: its own plan on small_office
    failed = HeldOutCheck((-42.1, -51.1, 8.4, 15.8), deployed=4)
    model = tmp_path / "m.npz"
    ConservativeQ(
        np.zeros(N_STATE_FEATURES),
        weights,
        np.ones(N_MOVE_FEATURES),
        np.eye(N_MOVE_FEATURES),
        0.0,
        1.0,
        0.5,
        "test",
        failed,
    ).save(model)
    try:
        run = ["--scenario", "small_office", "--days", "0.1", "--step", "60", "--observe", "300"]
        found = run_cli([*run, "--policies", "heuristic,safe_rl", "--model", str(model)], tmp_path / "f.json")
    finally:
        register_policy("safe_rl", build_safe_rl_policy)
    assert found["safe_rl_model"]["held_out_check"]["passed"] is False
    assert found["safe_rl_model"]["file"] == str(model)
    assert found["policies"]["safe_rl"] == found["policies"]["heuristic"]
    assert found["details"]["safe_rl"]["changes"] == found["details"]["heuristic"]["changes"] > 0
