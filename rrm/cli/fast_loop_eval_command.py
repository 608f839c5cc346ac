"""`rrm eval fast-loop`: the fast loop against static, ACS-like and random policies, as JSON figures.

``add_eval_parser(eval_sub)`` adds the subcommand under ``rrm eval`` (hooked in by
rrm/cli/eval_commands.py). Method and figures: rrm/evaluation/fast_loop_eval.py. With ``--seeds``
the JSON is ``{"scenario", "hours", "step_s", "per_seed": {seed: the one-seed JSON}, "summary"}``
(rrm/evaluation/fast_loop_seeds.py); without it, the one-seed JSON the issue names.
"""

from __future__ import annotations

import argparse

from rrm.cli.errors import UsageError
from rrm.cli.json_figures import LateProgress, emit_figures
from rrm.cli.scenario_resolution import DEFAULT_SCENARIO

POLICY_NAMES = ("static", "acs", "random", "bo", "acs_bo")
MAX_SEEDS = 100


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
    p.add_argument(
        "--seeds",
        metavar="LIST",
        help="run every policy on each of these seeds (e.g. 1-4 or 1,3,7) and add a summary across them: "
        "one dense run is chaotic, compare rules across seeds",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="run the (seed, policy) runs in this many processes; each run's figures are the same as "
        "with 1 (default: %(default)s)",
    )
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
    if ns.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {ns.jobs}")
    if ns.seeds is not None and ns.seed is not None:
        raise UsageError("--seed and --seeds are exclusive: give the one seed in --seeds")
    seeds = None if ns.seeds is None else parse_seeds(ns.seeds)
    from rrm.evaluation.fast_loop_eval import FastLoopEvalOptions
    from rrm.evaluation.fast_loop_seeds import evaluate_seeds, summary

    scenario, name = resolve_scenario(ns.scenario)
    options = FastLoopEvalOptions(hours=ns.hours, step_s=ns.step, policies=policies)
    progress = LateProgress("rrm eval fast-loop")
    if seeds is None:
        seed = scenario.seed if ns.seed is None else ns.seed
        (evaluation,) = evaluate_seeds(scenario, name, [seed], options, ns.jobs, progress).values()
        emit_figures(evaluation.figures(), ns.json)
        return 0
    evaluations = evaluate_seeds(scenario, name, seeds, options, ns.jobs, progress)
    figures: dict[str, object] = {
        "scenario": name,
        "hours": ns.hours,
        "step_s": ns.step,
        "per_seed": {str(s): e.figures() for s, e in evaluations.items()},
        "summary": summary(evaluations),
    }
    emit_figures(figures, ns.json)
    return 0


def parse_seeds(text: str) -> list[int]:
    """``1-4,7`` -> [1, 2, 3, 4, 7]; a usage error naming what is wrong otherwise."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise UsageError(f"--seeds {text!r}: {part!r} is not a seed or a range like 1-4") from None
        if first < 0 or last < first:
            raise UsageError(f"--seeds {text!r}: {part!r} must be non-negative and ascending")
        if len(seeds) + last - first + 1 > MAX_SEEDS:
            raise UsageError(f"--seeds {text!r}: more than {MAX_SEEDS} seeds in one run")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds {text!r}: a seed is listed twice")
    return seeds
