"""`rrm eval fast-loop`: the fast loop against static, ACS-like and random policies, as JSON figures.

``add_eval_parser(eval_sub)`` adds the subcommand under ``rrm eval`` (hooked in by
rrm/cli/eval_commands.py). Method and figures: rrm/evaluation/fast_loop_eval.py.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from rrm.cli.errors import UsageError
from rrm.cli.json_figures import LateProgress, emit_figures
from rrm.cli.scenario_resolution import DEFAULT_SCENARIO

POLICY_NAMES = ("static", "acs", "random", "bo", "acs_bo")


def add_eval_parser(eval_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``fast-loop`` to the subparsers of ``rrm eval``."""
    p = eval_sub.add_parser(
        "fast-loop",
        help="the fast loop (BO + change planner) against static, ACS-like and random policies",
        description="Runs the simulator on virtual time with only the fast loop active, once per policy "
        "(static default config, a one-shot hostapd-ACS-like channel pick, random search under the same "
        "guardrails, and the BO change planner), and reports per policy the mean network QoE over the last "
        "half, the 5th-percentile client QoE, changes per AP per day, the worst dip an exploratory change "
        "caused (its radio's reward over the observation window on a fork of the world with the change "
        "against one without it) and guardrail violations, plus the BO's median relative prediction error.",
    )
    p.add_argument(
        "--scenario", default=DEFAULT_SCENARIO, help="scenario file, or a shipped one's name (default: %(default)s)"
    )
    p.add_argument("--hours", type=float, default=24.0, help="simulated hours per policy (default: %(default)s)")
    p.add_argument("--seed", type=int, help="override the scenario's seed (the world's and the optimisers' draws)")
    p.add_argument("--step", type=float, default=10.0, help="simulated seconds per world step (default: %(default)s)")
    p.add_argument(
        "--policies",
        default="static,acs,random,bo",
        help="comma-separated policies among static,acs,random,bo and the opt-in acs_bo "
        "(ACS at start, then the BO) (default: %(default)s)",
    )
    p.add_argument(
        "--json", nargs="?", const="-", default="-", metavar="FILE", help="write the JSON to FILE (default: stdout)"
    )
    p.set_defaults(handler=_fast_loop)


def _fast_loop(ns: argparse.Namespace) -> int:
    from rrm.cli.scenario_resolution import resolve_scenario

    if ns.seed is not None and ns.seed < 0:
        raise UsageError(f"--seed must not be negative, not {ns.seed}")
    if ns.step <= 0:
        raise UsageError(f"--step must be positive, not {ns.step:g}")
    if ns.hours * 3600.0 < 2 * ns.step:
        raise UsageError(f"--hours must cover at least two steps of {ns.step:g} s, not {ns.hours:g}")
    policies = tuple(p.strip() for p in ns.policies.split(",") if p.strip())
    unknown = [p for p in policies if p not in POLICY_NAMES]
    if unknown or not policies:
        raise UsageError(f"--policies: unknown {unknown or 'empty list'}; choose from {', '.join(POLICY_NAMES)}")
    from rrm.evaluation.fast_loop_eval import FastLoopEvalOptions, evaluate_fast_loop

    scenario, name = resolve_scenario(ns.scenario)
    if ns.seed is not None:
        scenario = replace(scenario, seed=ns.seed)
    options = FastLoopEvalOptions(hours=ns.hours, step_s=ns.step, policies=policies)
    evaluation = evaluate_fast_loop(scenario, name, options, progress=LateProgress("rrm eval fast-loop"))
    emit_figures(evaluation.figures(), ns.json)
    return 0
