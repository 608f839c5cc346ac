"""The slow loop on the simulator: static plan, TIP's unmanaged_aware, our heuristic and safe RL.

Method (issue 8, evaluation). For each policy a fresh ``SimWorld`` from the same scenario and
seed is stepped on virtual time in ``step_s`` steps for ``days``; the slow loop alone runs (no
fast or event loop; the world's own radar moves still happen). Every plan period the policy
plans from the interference graph and the plan is carried out in guarded, observed steps with
rollback (slow_loop_plans.py). Policies come from controller.slow_loop.policy_registry, so the
safe-RL policy plugs in by name; one that is not available is reported with null figures and
the reason.

Figures per policy: ``mean_qoe``, the mean network QoE over every step of the run; ``p5_qoe``, the
5th percentile of client QoE pooled over samples every ``p5_every_s``;
``max_aps_changed_per_iteration``, the most APs one step changed; ``rollbacks``, plans rolled
back for a QoE drop; ``violations``, regulatory, capability, NOP and staging rules broken by
applied changes, checked independently (slow_loop_checks.py). Details: plans, approvals
requested (a simulated operator approves them), completed plans, steps, changes, guardrail
refusals by rule, failed applies.

The evaluation's site policy is the default one with ``min_predicted_gain`` 0: the guardrails'
hysteresis is in the fast loop's QoE units, and each planner has its own (the heuristic's move
cost; TIP keeps a channel nobody else uses), so TIP's plans are carried out as TIP would.

``safe_rl_model``: the model safe_rl ran with, its file (null: trained here) and its held-out
check, which decides whether any learned plan could go out (held_out_check.py).

Deterministic: the world's draws come from the scenario seed, the policies' from seeds derived
from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from controller.site_policy import PolicyLayer, SitePolicy
from controller.slow_loop.cql_model import ConservativeQ
from controller.slow_loop.plan_execution import ExecutionSettings
from controller.slow_loop.policy_registry import POLICY_NAMES, PolicyUnavailable, build_policy
from drivers.sim.scenario_model import Scenario
from drivers.sim.world import SimWorld
from rrm.evaluation.slow_loop_checks import independent_violations
from rrm.evaluation.slow_loop_plans import PlanDriver, PlanSchedule, PlanTally
from rrm.evaluation.slow_loop_safe_rl import register_safe_rl

DAY_S = 86_400.0
DEFAULT_DAYS = 2.0
DEFAULT_STEP_S = 60.0
DEFAULT_P5_EVERY_S = 300.0
_DIGITS = 4
_POLICY_STREAM = 0x736C6F77

Progress = Callable[[str], None]


def evaluation_site_policy() -> SitePolicy:
    return SitePolicy(network=PolicyLayer(limits={"min_predicted_gain": 0.0}))


@dataclass(frozen=True, slots=True)
class SlowLoopEvalOptions:
    days: float = DEFAULT_DAYS
    step_s: float = DEFAULT_STEP_S
    p5_every_s: float = DEFAULT_P5_EVERY_S
    schedule: PlanSchedule = field(default_factory=PlanSchedule)
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)
    site: SitePolicy = field(default_factory=evaluation_site_policy)
    policies: tuple[str, ...] = POLICY_NAMES
    # safe_rl's model file; None: trained on the scenario first (rrm/evaluation/slow_loop_safe_rl.py)
    safe_rl_model: str | None = None

    def __post_init__(self) -> None:
        if self.step_s <= 0 or self.days * DAY_S < 2 * self.step_s:
            raise ValueError(f"need step_s > 0 and at least two steps (days={self.days:g}, step_s={self.step_s:g})")
        if self.schedule.period_s <= 0:
            raise ValueError(f"the plan period must be positive, not {self.schedule.period_s:g}")


@dataclass(slots=True)
class SlowLoopResult:
    name: str
    available: bool = True
    unavailable_reason: str = ""
    mean_qoe: float = 0.0
    p5_qoe: float = 0.0
    tally: PlanTally = field(default_factory=PlanTally)
    violations: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, float | int | None]:
        if not self.available:
            return dict.fromkeys(("mean_qoe", "p5_qoe", "max_aps_changed_per_iteration", "rollbacks", "violations"))
        return {
            "mean_qoe": round(self.mean_qoe, _DIGITS),
            "p5_qoe": round(self.p5_qoe, _DIGITS),
            "max_aps_changed_per_iteration": self.tally.max_aps_per_step,
            "rollbacks": self.tally.rollbacks,
            "violations": len(self.violations),
        }

    def details(self) -> dict[str, object]:
        if not self.available:
            return {"unavailable": self.unavailable_reason}
        t = self.tally
        return {
            "plans": t.plans,
            "plans_held_by_quality": t.held_by_quality,
            "plans_refused": t.refused_plans,
            "plan_refusal_reasons": t.refusal_reasons[:10],
            "approvals_requested": t.approvals_requested,
            "plans_completed": t.completed,
            "steps": t.steps,
            "changes": t.changes,
            "guardrail_refusals": dict(sorted(t.refused_proposals.items())),
            "failed_applies": t.failed_applies,
            "violation_messages": self.violations[:20],
        }


@dataclass(frozen=True, slots=True)
class SlowLoopEvaluation:
    scenario: str
    seed: int
    options: SlowLoopEvalOptions
    results: Mapping[str, SlowLoopResult]
    safe_rl_model: ConservativeQ | None = None  # the model safe_rl ran with

    def targets(self) -> dict[str, object]:
        found: dict[str, object] = {}
        static = self.results.get("static")
        for name in ("heuristic", "safe_rl", "tip_unmanaged_aware"):
            result = self.results.get(name)
            if result is None or not result.available or static is None or static.mean_qoe <= 0:
                continue
            gain = (result.mean_qoe - static.mean_qoe) / static.mean_qoe
            found[f"{name}_mean_qoe_gain_over_static"] = round(gain, _DIGITS)
            found[f"{name}_gain_ge_15pct"] = gain >= 0.15
        rl, heuristic = self.results.get("safe_rl"), self.results.get("heuristic")
        if rl is not None and rl.available and heuristic is not None:
            found["safe_rl_ge_heuristic"] = rl.mean_qoe >= heuristic.mean_qoe
        limit = self.options.execution.max_aps_per_step
        ran = [r for r in self.results.values() if r.available]
        found["blast_radius_kept"] = all(r.tally.max_aps_per_step <= limit for r in ran)
        found["zero_violations"] = all(not r.violations for r in ran)
        return found

    def figures(self) -> dict[str, object]:
        o = self.options
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "days": o.days,
            "step_s": o.step_s,
            "plan_period_s": o.schedule.period_s,
            "observation_s": o.execution.observation_s,
            "policies": {name: r.figures() for name, r in self.results.items()},
            "details": {name: r.details() for name, r in self.results.items()},
            "targets": self.targets(),
            **({"safe_rl_model": self.model_figures()} if self.safe_rl_model is not None else {}),
        }

    def model_figures(self) -> dict[str, object]:
        """Where safe_rl's model came from and its held-out check (null: none, so no learned plan)."""
        assert self.safe_rl_model is not None
        check = self.safe_rl_model.held_out_check
        return {
            "file": self.options.safe_rl_model,
            "trained_on": self.safe_rl_model.trained_on,
            "held_out_check": None if check is None else check.figures(),
        }


def policy_seed(seed: int, policy: str) -> int:
    index = POLICY_NAMES.index(policy) if policy in POLICY_NAMES else len(policy)
    return int(np.random.SeedSequence([seed, _POLICY_STREAM, index]).generate_state(1)[0])


def run_policy(
    scenario: Scenario, policy_name: str, options: SlowLoopEvalOptions, progress: Progress | None = None
) -> SlowLoopResult:
    """One policy on a fresh world of ``scenario`` (module docstring)."""
    try:
        policy = build_policy(policy_name, policy_seed(scenario.seed, policy_name))
    except PolicyUnavailable as exc:
        return SlowLoopResult(policy_name, available=False, unavailable_reason=str(exc))
    world = SimWorld(scenario)
    driver = PlanDriver(world, policy, options.site, options.execution, options.schedule)
    network: list[float] = []
    clients: list[float] = []
    next_p5 = 0.0
    steps = round(options.days * DAY_S / options.step_s)
    report_every = max(1, steps // 8)
    for k in range(steps):
        driver.after_step(world.step(options.step_s))
        network.append(world.network_qoe())
        if world.time >= next_p5:
            clients.extend(world.client_qoe().values())
            next_p5 += options.p5_every_s
        if progress is not None and (k + 1) % report_every == 0:
            progress(f"{policy_name}: {world.time / 3600.0:.1f} of {options.days * 24:g} h")
    result = SlowLoopResult(policy_name, tally=driver.tally)
    result.mean_qoe = float(np.mean(network))
    result.p5_qoe = float(np.percentile(clients, 5)) if clients else 1.0
    result.violations = independent_violations(
        world.region, driver.tally.applied, driver.tally.neighbours, options.execution.max_aps_per_step
    )
    return result


def evaluate_slow_loop(
    scenario: Scenario, name: str, options: SlowLoopEvalOptions | None = None, progress: Progress | None = None
) -> SlowLoopEvaluation:
    """Every policy of ``options`` on ``scenario`` (module docstring)."""
    options = options or SlowLoopEvalOptions()
    model = None
    if "safe_rl" in options.policies:
        heuristic_seed = policy_seed(scenario.seed, "heuristic")
        model = register_safe_rl(scenario, options.safe_rl_model, heuristic_seed, progress=progress)
    results = {p: run_policy(scenario, p, options, progress) for p in options.policies}
    return SlowLoopEvaluation(name, scenario.seed, options, results, model)


def with_seed(scenario: Scenario, seed: int | None) -> Scenario:
    return scenario if seed is None else replace(scenario, seed=seed)
