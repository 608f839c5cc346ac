"""The slow-loop policies by name, and the safe-RL slot."""

from __future__ import annotations

import importlib
import importlib.util

import pytest

from controller.slow_loop.policy_registry import (
    SAFE_RL_FACTORY,
    SAFE_RL_MODULE,
    PolicyUnavailable,
    build_policy,
    known_policies,
    register_policy,
)
from controller.slow_loop.site_plan import SlowLoopPolicy
from controller.slow_loop.static_plan import StaticPlan


def test_the_four_issue_policies_are_known_and_the_built_ins_build() -> None:
    """static, tip_unmanaged_aware, heuristic and safe_rl are registered; the first three build by name."""
    assert {"static", "tip_unmanaged_aware", "heuristic", "safe_rl"} <= set(known_policies())
    for name in ("static", "tip_unmanaged_aware", "heuristic"):
        policy = build_policy(name, seed=1)
        assert isinstance(policy, SlowLoopPolicy) and policy.name == name


def test_the_safe_rl_slot_builds_the_policy_or_refuses_naming_safe_rl() -> None:
    """Without its module or factory (or a trained model) asking for safe_rl is a typed refusal naming it."""
    module = importlib.import_module(SAFE_RL_MODULE) if importlib.util.find_spec(SAFE_RL_MODULE) else None
    if module is None or not callable(getattr(module, SAFE_RL_FACTORY, None)):
        with pytest.raises(PolicyUnavailable, match=SAFE_RL_MODULE):
            build_policy("safe_rl", seed=1)
        return
    try:
        policy = build_policy("safe_rl", seed=1)
    except PolicyUnavailable as refusal:
        message = str(refusal)
    else:
        assert isinstance(policy, SlowLoopPolicy)
        return
    assert "safe_rl" in message


def test_an_unknown_name_is_refused_and_a_registered_factory_is_used() -> None:
    """Unknown names list the known ones; register_policy plugs in a factory."""
    with pytest.raises(PolicyUnavailable, match="known"):
        build_policy("nowhere", seed=0)
    register_policy("test-static", StaticPlan)
    assert isinstance(build_policy("test-static", seed=0), StaticPlan)
