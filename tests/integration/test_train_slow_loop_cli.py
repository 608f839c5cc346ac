"""`rrm train slow-loop` end to end: transitions collected, a model written that the policy loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.safe_rl_policy import SafeRlPolicy
from controller.slow_loop.transition_log import TransitionLog
from drivers.sim.scenario import load_scenario, shipped_scenario
from drivers.sim.world import SimWorld
from rrm.cli.main import main
from rrm.evaluation.site_env import EnvSettings
from rrm.evaluation.world_graph import RadarHistory, observe_graph


def test_train_writes_a_model_and_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One episode and one held-out episode: the JSON counts the transitions, the model plans.

    One held-out episode cannot pass the held-out check, so the file says so and the model makes
    the heuristic's plans, with the check in the reason.
    """
    model_path, log_path, out = tmp_path / "model.npz", tmp_path / "log.npz", tmp_path / "figures.json"
    argv = ["train", "slow-loop", "--scenario", "small_office", "--episodes", "1", "--held-out", "1", "--seed", "2"]
    argv += ["--out", str(model_path), "--transitions", str(log_path), "--json", str(out)]
    assert main(argv) == 0
    figures = json.loads(out.read_text())
    steps = EnvSettings().steps_per_episode
    assert figures["transitions"] == steps
    assert sum(figures["behaviour"].values()) == steps
    assert set(figures["held_out"]) == {"noop", "heuristic", "safe_rl"}
    assert figures["held_out_check"] == {
        "passed": False,
        "episodes": 1,
        "mean_difference": figures["held_out_safe_rl_minus_heuristic"],
        "lower_bound": None,
        "confidence": 0.95,
        "learned_plan_chosen": figures["held_out"]["safe_rl"]["learned_plan_deployed"],
    }
    assert "will make the heuristic's plans only" in capsys.readouterr().err
    assert TransitionLog.load(log_path).n_transitions == steps
    world = SimWorld(load_scenario(shipped_scenario("small_office")))
    world.step(60.0)
    graph = observe_graph(world, RadarHistory())
    heuristic = HeuristicPlanner(seed=2)
    plan = SafeRlPolicy.from_file(model_path, heuristic).propose(graph, world.timestamp)
    assert plan.source == "safe_rl"
    assert dict(plan.assignments) == dict(heuristic.propose(graph, world.timestamp).assignments)
    assert "held-out check failed: 1 episode(s), at least 2 needed" in plan.reason


def test_train_refuses_zero_episodes(tmp_path: Path) -> None:
    argv = ["train", "slow-loop", "--episodes", "0", "--out", str(tmp_path / "m.npz")]
    assert main(argv) == 2
    assert not (tmp_path / "m.npz").exists()
