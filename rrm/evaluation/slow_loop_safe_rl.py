"""The safe-RL policy in `rrm eval slow-loop`: a model trained on the scenario, or loaded from a file.

``register_safe_rl(scenario, model_path)`` puts a "safe_rl" factory into the slow-loop policy
registry. Its model is the file's when ``model_path`` is given; otherwise it is trained here
(rrm/evaluation/slow_loop_training.py) on the scenario's own simulator runs, on world seeds
derived from ``SeedSequence([scenario.seed, TRAINING_STREAM])``, never the evaluation's own world
seed, and checked on held-out episodes (controller/slow_loop/held_out_check.py): where the check
fails, safe_rl makes the heuristic's plans. Its baseline is the heuristic planner with the seed
the evaluation gives "heuristic", so where safe_rl falls back it makes exactly the heuristic's
plan.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from controller.slow_loop.cql_model import ConservativeQ
from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.policy_registry import register_policy
from controller.slow_loop.safe_rl_policy import SafeRlPolicy
from controller.slow_loop.site_plan import SlowLoopPolicy
from drivers.sim.scenario_model import Scenario
from rrm.evaluation.slow_loop_training import TrainingOptions, train_safe_rl

TRAINING_STREAM = 0x7472616E
Progress = Callable[[str], None]


def training_seed(scenario: Scenario) -> int:
    return int(np.random.SeedSequence([scenario.seed, TRAINING_STREAM]).generate_state(1)[0])


def safe_rl_model(
    scenario: Scenario,
    model_path: str | None,
    options: TrainingOptions | None = None,
    progress: Progress | None = None,
) -> ConservativeQ:
    """The model from ``model_path``, or one trained on ``scenario`` (module docstring)."""
    if model_path is not None:
        return ConservativeQ.load(model_path)
    return train_safe_rl(scenario, training_seed(scenario), options, progress).model


def register_safe_rl(
    scenario: Scenario,
    model_path: str | None,
    heuristic_seed: int,
    options: TrainingOptions | None = None,
    progress: Progress | None = None,
) -> ConservativeQ:
    """Make "safe_rl" in the policy registry this scenario's policy (module docstring); its model."""
    model = safe_rl_model(scenario, model_path, options, progress)
    settings = (options or TrainingOptions()).safe_rl

    def factory(seed: int) -> SlowLoopPolicy:
        return SafeRlPolicy(model, HeuristicPlanner(seed=heuristic_seed), settings)

    register_policy("safe_rl", factory)
    return model
