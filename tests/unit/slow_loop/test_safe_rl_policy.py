"""The safe-RL slow-loop policy: it deploys a learned plan only where it beats the heuristic's estimate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from controller.slow_loop.candidate_channels import assignment_problems
from controller.slow_loop.cql_model import ConservativeQ
from controller.slow_loop.held_out_check import HeldOutCheck
from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.move_features import MOVE_FEATURES, N_MOVE_FEATURES, N_STATE_FEATURES
from controller.slow_loop.safe_rl_policy import FALLBACK_LABEL, SafeRlPolicy, SafeRlSettings
from controller.slow_loop.site_plan import current_plan
from drivers.sim.scenario import load_scenario, shipped_scenario
from drivers.sim.world import SimWorld
from rrm.evaluation.world_graph import RadarHistory, observe_graph


@pytest.fixture(scope="module")
def office_graph() -> tuple[InterferenceGraph, float]:
    world = SimWorld(load_scenario(shipped_scenario("small_office")))
    world.step(60.0)
    return observe_graph(world, RadarHistory()), world.timestamp


PASSED = HeldOutCheck((12.0, 9.0, 15.0, 11.0), deployed=4)
FAILED = HeldOutCheck((-42.1, -51.1, 8.4, 15.8), deployed=4)  # small_office, world seed 1


def _model(
    weights: dict[str, float],
    residual_std: float = 0.0,
    pessimism: float = 1.0,
    check: HeldOutCheck | None = PASSED,
) -> ConservativeQ:
    w = np.zeros(N_MOVE_FEATURES)
    for name, value in weights.items():
        w[MOVE_FEATURES.index(name)] = value
    return ConservativeQ(
        state_weights=np.zeros(N_STATE_FEATURES),
        move_weights=w,
        move_scale=np.ones(N_MOVE_FEATURES),
        move_precision=np.eye(N_MOVE_FEATURES),
        residual_std=residual_std,
        pessimism=pessimism,
        gamma=0.5,
        trained_on="test",
        held_out_check=check,
    )


# Values a move by how much coupling cost it removes: optimistic about most channel moves.
COUPLING_LOVER = {"d_coupling_cost": -10.0, "d_dfs_cost": -10.0}
# Values power raises, which the heuristic's power control never makes on this site.
POWER_LOVER = {"power_step": 5.0}


def test_nothing_learned_keeps_the_heuristic_plan(office_graph: tuple[InterferenceGraph, float]) -> None:
    """A model that trusts no move returns exactly the heuristic's plan, and says why."""
    graph, now = office_graph
    heuristic = HeuristicPlanner(seed=1)
    policy = SafeRlPolicy(_model({}, residual_std=1.0), heuristic)
    plan = policy.propose(graph, now)
    assert dict(plan.assignments) == dict(heuristic.propose(graph, now).assignments)
    assert plan.source == "safe_rl"
    assert plan.reason.startswith("kept the heuristic plan")


@pytest.mark.parametrize("margin", [0.0, 0.5, 5.0, 50.0, 1e9])
def test_learned_plan_only_where_it_beats_the_heuristic(
    office_graph: tuple[InterferenceGraph, float], margin: float
) -> None:
    """Whatever the margin, a learned plan is returned only when its conservative gain exceeds it."""
    graph, now = office_graph
    heuristic = HeuristicPlanner(seed=1)
    policy = SafeRlPolicy(_model(COUPLING_LOVER), heuristic, SafeRlSettings(margin=margin))
    verdict = policy.assess(graph, now)
    plan = policy.propose(graph, now)
    if verdict.choice == "baseline":
        assert dict(plan.assignments) == dict(heuristic.propose(graph, now).assignments)
        assert plan.reason.startswith("kept")
    else:
        gain = verdict.learned_gain if verdict.choice == "learned" else verdict.refined_gain
        assert gain > margin
        assert plan.reason.startswith("learned plan deployed")
    if margin >= 1e9:
        assert verdict.choice == "baseline"


def test_a_trusted_model_deploys_legal_moves(office_graph: tuple[InterferenceGraph, float]) -> None:
    """With no uncertainty and no margin the learned plan goes out (over the current plan), every move legal."""
    graph, now = office_graph
    policy = SafeRlPolicy(_model(POWER_LOVER), None, SafeRlSettings(margin=0.0, max_moves=4))
    verdict = policy.assess(graph, now)
    plan = policy.propose(graph, now)
    assert verdict.choice == "learned"
    assert 0 < len(plan.changed(graph)) <= 4
    for radio_id in plan.changed(graph):
        assert assignment_problems(graph.region, graph.nodes[radio_id], plan.assignments[radio_id], now) == []


@pytest.mark.parametrize("check", [FAILED, None, HeldOutCheck((0.0, 0.0, 0.0, 0.0)), HeldOutCheck((30.0,))])
def test_a_model_without_a_passed_held_out_check_makes_the_heuristic_plan(
    office_graph: tuple[InterferenceGraph, float], check: HeldOutCheck | None
) -> None:
    """The same model that deploys its plan with a passed check keeps the baseline's without one, and says why."""
    graph, now = office_graph
    settings = SafeRlSettings(margin=0.0, max_moves=4)
    assert SafeRlPolicy(_model(POWER_LOVER), None, settings).assess(graph, now).deploy_learned
    policy = SafeRlPolicy(_model(POWER_LOVER, check=check), None, settings)
    verdict = policy.assess(graph, now)
    plan = policy.propose(graph, now)
    assert not policy.cleared and not verdict.deploy_learned
    assert dict(plan.assignments) == dict(current_plan(graph).assignments)
    assert plan.reason.startswith("kept the fallback") and "held-out check" in plan.reason
    unchecked = SafeRlSettings(margin=0.0, max_moves=4, require_held_out_check=False)
    assert SafeRlPolicy(_model(POWER_LOVER, check=check), None, unchecked).assess(graph, now).deploy_learned


def test_a_model_that_contradicts_the_heuristic_does_not_replace_its_plan(
    office_graph: tuple[InterferenceGraph, float],
) -> None:
    """A model valuing the heuristic's whole plan below doing nothing may not swap it for its own."""
    graph, now = office_graph
    policy = SafeRlPolicy(_model(POWER_LOVER), HeuristicPlanner(seed=1), SafeRlSettings(margin=0.0))
    verdict = policy.assess(graph, now)
    assert verdict.baseline.moves and verdict.baseline.value < 0.0
    assert not verdict.baseline_trusted
    assert verdict.choice != "learned"


def test_without_a_heuristic_the_fallback_is_labelled(office_graph: tuple[InterferenceGraph, float]) -> None:
    graph, now = office_graph
    plan = SafeRlPolicy(_model({}, residual_std=1.0)).propose(graph, now)
    assert dict(plan.assignments) == dict(current_plan(graph).assignments)
    assert FALLBACK_LABEL in plan.reason


def test_a_saved_model_plans_the_same(office_graph: tuple[InterferenceGraph, float], tmp_path: Path) -> None:
    graph, now = office_graph
    model = _model(COUPLING_LOVER, residual_std=0.2)
    model.save(tmp_path / "model.npz")
    assert ConservativeQ.load(tmp_path / "model.npz").held_out_check == PASSED
    settings = SafeRlSettings(margin=0.0)
    original = SafeRlPolicy(model, HeuristicPlanner(seed=1), settings).propose(graph, now)
    loaded = SafeRlPolicy.from_file(tmp_path / "model.npz", HeuristicPlanner(seed=1), settings).propose(graph, now)
    assert loaded == original
