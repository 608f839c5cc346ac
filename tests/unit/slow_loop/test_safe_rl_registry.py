"""The safe-RL policy in the slow-loop registry: refused without a model, the scenario's own with one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from controller.slow_loop.cql_model import ConservativeQ
from controller.slow_loop.move_features import N_MOVE_FEATURES, N_STATE_FEATURES
from controller.slow_loop.policy_registry import PolicyUnavailable, build_policy, register_policy
from controller.slow_loop.safe_rl_policy import SafeRlPolicy, build_safe_rl_policy
from drivers.sim.scenario import load_scenario, shipped_scenario
from rrm.evaluation.slow_loop_safe_rl import register_safe_rl


def test_without_a_model_the_hook_says_what_is_needed() -> None:
    with pytest.raises(PolicyUnavailable, match="rrm train slow-loop"):
        build_safe_rl_policy(3)


def test_registered_with_a_model_file(tmp_path: Path) -> None:
    """After register_safe_rl with a file, the registry builds a SafeRlPolicy with that model."""
    model = ConservativeQ(
        np.zeros(N_STATE_FEATURES),
        np.arange(N_MOVE_FEATURES, dtype=np.float64),
        np.ones(N_MOVE_FEATURES),
        np.eye(N_MOVE_FEATURES),
        residual_std=0.5,
        pessimism=1.0,
        gamma=0.5,
    )
    model.save(tmp_path / "m.npz")
    scenario = load_scenario(shipped_scenario("small_office"))
    try:
        register_safe_rl(scenario, str(tmp_path / "m.npz"), heuristic_seed=5)
        policy = build_policy("safe_rl", 1)
        assert isinstance(policy, SafeRlPolicy)
        assert np.array_equal(policy.model.move_weights, model.move_weights)
        assert policy.baseline is not None and policy.baseline.name == "heuristic"
    finally:
        register_policy("safe_rl", build_safe_rl_policy)
