"""Training the safe-RL slow-loop policy on a scenario, and checking it on held-out episodes.

``train_safe_rl``: transitions from the simulator (rrm.evaluation.transition_collection:
no-op, random legal and staged heuristic moves, half the episodes from a scrambled plan), plus
any controller history given (its executed plan stages, history_transitions_export.py:
``Behaviour.HISTORY``, no-op reward NaN), then the conservative Q fit (cql_training.py).
``held_out_returns``: episodes on world seeds the training never saw, each run up to three ways
on the same seed: ``noop`` (keep the plan), ``heuristic`` (the heuristic plan of the episode,
staged ``max_aps_per_step`` radios per step) and ``safe_rl``
(the safe-RL policy's plan, proposed once at the start and staged the same way, with the
held-out check itself not required). Figures: the mean return (sum of rewards, step_reward.py),
the mean network QoE, and how often the learned plan was deployed rather than the heuristic's.
``checked``: the model with its held-out check (controller/slow_loop/held_out_check.py) from the
heuristic and safe-RL episodes; ``train_safe_rl`` ends with it, so a trained model deploys
learned plans only where the check passed.

Deterministic: collection episode ``e`` runs on world seed ``SeedSequence([seed, e])``; held-out
episode ``e`` on ``SeedSequence([seed, HELD_OUT_STREAM, e])``; the fit's draws come from ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from controller.slow_loop.cql_model import ConservativeQ
from controller.slow_loop.cql_training import CqlSettings, FitReport, fit_conservative_q
from controller.slow_loop.held_out_check import HeldOutCheck
from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.move_candidates import Move
from controller.slow_loop.safe_rl_policy import SafeRlPolicy, SafeRlSettings
from controller.slow_loop.site_plan import SitePlan
from controller.slow_loop.transition_log import TransitionLog, concatenate
from drivers.sim.scenario_model import Scenario
from rrm.evaluation.site_env import SiteEnv, SiteView
from rrm.evaluation.transition_collection import CollectionSettings, collect_transitions

HELD_OUT_STREAM = 0x68656C64
HELD_OUT_POLICIES = ("noop", "heuristic", "safe_rl")
CHECK_POLICIES = ("heuristic", "safe_rl")  # what the held-out check compares
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    collection: CollectionSettings = field(default_factory=CollectionSettings)
    cql: CqlSettings = field(default_factory=CqlSettings)
    safe_rl: SafeRlSettings = field(default_factory=SafeRlSettings)
    held_out_episodes: int = 8

    def __post_init__(self) -> None:
        if self.held_out_episodes < 0:
            raise ValueError(f"held_out_episodes must not be negative, not {self.held_out_episodes}")


@dataclass(frozen=True, slots=True)
class TrainedPolicy:
    model: ConservativeQ  # with its held-out check (None when held_out_episodes is 0)
    log: TransitionLog
    fit: FitReport
    held_out: dict[str, HeldOutResult] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HeldOutResult:
    policy: str
    returns: tuple[float, ...]
    mean_qoe: tuple[float, ...]
    deployed: int = 0  # episodes where safe_rl chose its learned plan

    def figures(self) -> dict[str, float | int]:
        return {
            "mean_return": round(float(np.mean(self.returns)), 3),
            "mean_qoe": round(float(np.mean(self.mean_qoe)), 4),
            "learned_plan_deployed": self.deployed,
        }


def heuristic_baseline(seed: int) -> HeuristicPlanner:
    """The heuristic planner the safe-RL policy is measured against and falls back to."""
    return HeuristicPlanner(seed=seed)


def train_safe_rl(
    scenario: Scenario,
    seed: int,
    options: TrainingOptions | None = None,
    progress: Progress | None = None,
    history: Sequence[TransitionLog] = (),
) -> TrainedPolicy:
    """Collect transitions on ``scenario``, add ``history``, fit the conservative Q and check it (module docstring)."""
    options = options or TrainingOptions()
    simulated = collect_transitions(scenario, heuristic_baseline(seed), seed, options.collection, progress)
    log = with_history(simulated, history)
    model, fit = fit_conservative_q(log, options.cql, seed)
    checked_model, held_out = checked(scenario, model, seed, options, CHECK_POLICIES, progress)
    return TrainedPolicy(checked_model, log, fit, held_out)


def checked(
    scenario: Scenario,
    model: ConservativeQ,
    seed: int,
    options: TrainingOptions,
    policies: Sequence[str] = HELD_OUT_POLICIES,
    progress: Progress | None = None,
) -> tuple[ConservativeQ, dict[str, HeldOutResult]]:
    """``model`` with the held-out check of ``policies``' episodes (unchanged without episodes)."""
    if options.held_out_episodes == 0:
        return model, {}
    results = held_out_returns(scenario, model, seed, options, policies, progress)
    rl, heuristic = results["safe_rl"], results["heuristic"]
    differences = tuple(a - b for a, b in zip(rl.returns, heuristic.returns, strict=True))
    return replace(model, held_out_check=HeldOutCheck(differences, deployed=rl.deployed)), results


def with_history(simulated: TransitionLog, history: Sequence[TransitionLog]) -> TransitionLog:
    """The simulator's transitions followed by the controllers' (the simulator's log alone without any)."""
    return concatenate([simulated, *history]) if history else simulated


def held_out_returns(
    scenario: Scenario,
    model: ConservativeQ,
    seed: int,
    options: TrainingOptions | None = None,
    policies: Sequence[str] = HELD_OUT_POLICIES,
    progress: Progress | None = None,
) -> dict[str, HeldOutResult]:
    """``policies`` (of HELD_OUT_POLICIES) on held-out episodes (module docstring)."""
    options = options or TrainingOptions()
    unknown = sorted(set(policies) - set(HELD_OUT_POLICIES))
    if unknown:
        raise ValueError(f"no held-out policy {unknown[0]!r}; known: {', '.join(HELD_OUT_POLICIES)}")
    found: dict[str, HeldOutResult] = {}
    for name in policies:
        returns: list[float] = []
        qoe: list[float] = []
        deployed = 0
        for episode in range(options.held_out_episodes):
            world_seed = int(np.random.SeedSequence([seed, HELD_OUT_STREAM, episode]).generate_state(1)[0])
            total, mean_qoe, learned = _episode(scenario, model, name, seed, world_seed, options)
            returns.append(total)
            qoe.append(mean_qoe)
            deployed += int(learned)
            if progress is not None:
                progress(f"held-out {name} episode {episode + 1} of {options.held_out_episodes}")
        found[name] = HeldOutResult(name, tuple(returns), tuple(qoe), deployed)
    return found


def _episode(
    scenario: Scenario, model: ConservativeQ, policy: str, seed: int, world_seed: int, options: TrainingOptions
) -> tuple[float, float, bool]:
    env_settings = options.collection.env
    heuristic = heuristic_baseline(seed)
    env = SiteEnv(scenario, env_settings, guide=heuristic)
    _, info = env.reset(seed=world_seed)
    view: SiteView = info["view"]
    plan: SitePlan | None = None
    if policy == "heuristic":
        plan = SitePlan(view.guide, "heuristic", "the heuristic plan of the episode")
    elif policy == "safe_rl":
        unchecked = replace(options.safe_rl, require_held_out_check=False)  # the check measures this policy
        plan = SafeRlPolicy(model, heuristic, unchecked).propose(view.graph, view.now)
    pending = _plan_moves(view, plan)
    total, qoe, done = 0.0, [], False
    slots = env_settings.max_aps_per_step
    while not done:
        stage = _next_stage(pending, slots)
        pending = pending[len(stage) :]
        _, reward, terminated, truncated, info = env.step_moves(stage)
        total += reward
        qoe.append(float(info["mean_qoe"]))
        done = terminated or truncated
    learned = plan is not None and plan.reason.startswith("learned plan deployed")
    return total, float(np.mean(qoe)), learned


def _plan_moves(view: SiteView, plan: SitePlan | None) -> list[Move]:
    if plan is None:
        return []
    return [Move(r, view.graph.nodes[r].ap_id, plan.assignments[r]) for r in plan.changed(view.graph)]


def _next_stage(pending: list[Move], slots: int) -> list[Move]:
    """The first moves of ``pending`` that touch at most ``slots`` APs, in plan order."""
    stage: list[Move] = []
    for move in pending:
        if len({m.ap_id for m in stage} | {move.ap_id}) > slots or len(stage) == slots:
            break
        stage.append(move)
    return stage
