"""`rrm train slow-loop` end to end: transitions collected, a model written that the policy loads."""

from __future__ import annotations

import json
from pathlib import Path

from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.safe_rl_policy import SafeRlPolicy
from controller.slow_loop.transition_log import TransitionLog
from drivers.sim.scenario import load_scenario, shipped_scenario
from drivers.sim.world import SimWorld
from rrm.cli.main import main
from rrm.evaluation.site_env import EnvSettings
from rrm.evaluation.world_graph import RadarHistory, observe_graph


def test_train_writes_a_model_and_figures(tmp_path: Path) -> None:
    """One episode and one held-out episode: the JSON counts the transitions, the model plans."""
    model_path, log_path, out = tmp_path / "model.npz", tmp_path / "log.npz", tmp_path / "figures.json"
    argv = ["train", "slow-loop", "--scenario", "small_office", "--episodes", "1", "--held-out", "1", "--seed", "2"]
    argv += ["--out", str(model_path), "--transitions", str(log_path), "--json", str(out)]
    assert main(argv) == 0
    figures = json.loads(out.read_text())
    steps = EnvSettings().steps_per_episode
    assert figures["transitions"] == steps
    assert sum(figures["behaviour"].values()) == steps
    assert set(figures["held_out"]) == {"noop", "heuristic", "safe_rl"}
    assert TransitionLog.load(log_path).n_transitions == steps
    world = SimWorld(load_scenario(shipped_scenario("small_office")))
    world.step(60.0)
    graph = observe_graph(world, RadarHistory())
    plan = SafeRlPolicy.from_file(model_path, HeuristicPlanner(seed=2)).propose(graph, world.timestamp)
    assert plan.source == "safe_rl"
    assert set(plan.assignments) == set(graph.nodes)


def test_train_refuses_zero_episodes(tmp_path: Path) -> None:
    argv = ["train", "slow-loop", "--episodes", "0", "--out", str(tmp_path / "m.npz")]
    assert main(argv) == 2
    assert not (tmp_path / "m.npz").exists()
