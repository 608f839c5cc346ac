"""`rrm eval slow-loop`: the slow loop's policies on the simulator, as JSON figures.

``add_eval_parser(eval_sub)`` adds the subcommand under ``rrm eval`` (hooked in by
rrm/cli/eval_commands.py). Method and figures: rrm/evaluation/slow_loop_eval.py.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from controller.slow_loop.quality_gate import DEFAULT_QUALITY_THRESHOLD
from rrm.cli.errors import UsageError
from rrm.cli.json_figures import LateProgress, emit_figures
from rrm.cli.scenario_resolution import DEFAULT_SCENARIO
from rrm.cli.scheduler_options import QUALITY_HELP, quality_threshold

DEFAULT_POLICIES = "static,tip_unmanaged_aware,heuristic,safe_rl"


def add_eval_parser(eval_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``slow-loop`` to the subparsers of ``rrm eval``."""
    p = eval_sub.add_parser(
        "slow-loop",
        help="the slow loop's site plans: static, TIP unmanaged_aware, the heuristic planner and safe RL",
        description="Runs the simulator on virtual time with only the slow loop active, once per policy. "
        "Every plan period the policy plans channels, widths and powers from the interference graph; "
        "the plan is carried out in guarded steps of at most 3 APs with an observation window after "
        "each and a rollback if network QoE drops more than 10 %; a plan is not made while every radio's "
        "client QoE is at or above the quality threshold. Reports per policy the mean network "
        "QoE, the 5th-percentile client QoE, the most APs changed in one step, rollbacks and violations.",
    )
    p.add_argument(
        "--scenario", default=DEFAULT_SCENARIO, help="scenario file, or a shipped one's name (default: %(default)s)"
    )
    p.add_argument("--days", type=float, default=2.0, help="simulated days per policy (default: %(default)s)")
    p.add_argument("--seed", type=int, help="override the scenario's seed (the world's and the policies' draws)")
    p.add_argument("--step", type=float, default=60.0, help="simulated seconds per world step (default: %(default)s)")
    p.add_argument(
        "--period-hours", type=float, default=6.0, help="hours between two site plans (default: %(default)s)"
    )
    p.add_argument(
        "--observe", type=float, default=600.0, help="seconds observed after each step (default: %(default)s)"
    )
    p.add_argument(
        "--approval-above", type=int, default=6, help="plans changing more APs need an approval (default: %(default)s)"
    )
    p.add_argument(
        "--quality-threshold",
        type=quality_threshold,
        default=DEFAULT_QUALITY_THRESHOLD,
        metavar="QOE",
        help=QUALITY_HELP,
    )
    p.add_argument("--policies", default=DEFAULT_POLICIES, help="comma-separated policies (default: %(default)s)")
    p.add_argument(
        "--model", help="safe_rl's model file (rrm train slow-loop --out); default: train one on the scenario first"
    )
    p.add_argument(
        "--json", nargs="?", const="-", default="-", metavar="FILE", help="write the JSON to FILE (default: stdout)"
    )
    p.set_defaults(handler=_slow_loop)


def _slow_loop(ns: argparse.Namespace) -> int:
    from rrm.cli.scenario_resolution import resolve_scenario

    if ns.seed is not None and ns.seed < 0:
        raise UsageError(f"--seed must not be negative, not {ns.seed}")
    if ns.step <= 0:
        raise UsageError(f"--step must be positive, not {ns.step:g}")
    if ns.days * 86_400.0 < 2 * ns.step:
        raise UsageError(f"--days must cover at least two steps of {ns.step:g} s, not {ns.days:g}")
    if not 4.0 <= ns.period_hours <= 24.0:
        raise UsageError(f"--period-hours must be within 4..24, not {ns.period_hours:g}")
    if ns.observe < 0 or ns.approval_above < 0:
        raise UsageError("--observe and --approval-above must not be negative")
    from controller.slow_loop.plan_execution import ExecutionSettings
    from controller.slow_loop.policy_registry import known_policies
    from rrm.evaluation.slow_loop_eval import SlowLoopEvalOptions, evaluate_slow_loop
    from rrm.evaluation.slow_loop_plans import PlanSchedule

    policies = tuple(p.strip() for p in ns.policies.split(",") if p.strip())
    unknown = [p for p in policies if p not in known_policies()]
    if unknown or not policies:
        raise UsageError(f"--policies: unknown {unknown or 'empty list'}; choose from {', '.join(known_policies())}")
    scenario, name = resolve_scenario(ns.scenario)
    if ns.seed is not None:
        scenario = replace(scenario, seed=ns.seed)
    options = SlowLoopEvalOptions(
        days=ns.days,
        step_s=ns.step,
        schedule=PlanSchedule(period_s=ns.period_hours * 3600.0),
        execution=ExecutionSettings(
            observation_s=ns.observe, approval_above_aps=ns.approval_above, quality_threshold=ns.quality_threshold
        ),
        policies=policies,
        safe_rl_model=ns.model,
    )
    evaluation = evaluate_slow_loop(scenario, name, options, progress=LateProgress("rrm eval slow-loop"))
    emit_figures(evaluation.figures(), ns.json)
    return 0
