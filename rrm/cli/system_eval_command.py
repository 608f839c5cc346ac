"""`rrm eval system`: the event, fast and slow loops together on the simulator, as JSON figures.

``add_eval_parser(eval_sub)`` adds the subcommand under ``rrm eval`` (hooked in by
rrm/cli/eval_commands.py). Method and figures: rrm/evaluation/system_eval.py.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from controller.slow_loop.quality_gate import DEFAULT_QUALITY_THRESHOLD
from rrm.cli.errors import UsageError
from rrm.cli.json_figures import LateProgress, emit_figures
from rrm.cli.scenario_resolution import DEFAULT_SCENARIO
from rrm.cli.scheduler_options import QUALITY_HELP, quality_threshold


def add_eval_parser(eval_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``system`` to the subparsers of ``rrm eval``."""
    p = eval_sub.add_parser(
        "system",
        help="all three loops together (agents' event loops, fast BO, slow plans) with injected radar and bursts",
        description="Runs the real agents (event loop) and the controller's scheduler (fast and slow loop) on one "
        "simulated site on virtual time, injects radar hits and non-Wi-Fi bursts, and reports QoE, events handled, "
        "moves and rollbacks per loop, approvals, and the locks that preempted fast and slow changes.",
    )
    p.add_argument(
        "--scenario", default=DEFAULT_SCENARIO, help="scenario file, or a shipped one's name (default: %(default)s)"
    )
    p.add_argument("--days", type=float, default=1.0, help="simulated days (default: %(default)s)")
    p.add_argument("--seed", type=int, help="override the scenario's seed (world, optimisers, injected events)")
    p.add_argument("--step", type=float, default=10.0, help="simulated seconds per world step (default: %(default)s)")
    p.add_argument(
        "--radar-every", type=float, default=6.0, metavar="H", help="hours between radar hits (default: %(default)s)"
    )
    p.add_argument(
        "--burst-every",
        type=float,
        default=4.0,
        metavar="H",
        help="hours between interference bursts (default: %(default)s)",
    )
    p.add_argument(
        "--slow-loop-window",
        default="02:00-04:00",
        metavar="HH:MM-HH:MM",
        help="in --site-timezone (default: %(default)s)",
    )
    p.add_argument("--site-timezone", default="UTC", metavar="TZ", help="IANA time zone (default: %(default)s)")
    p.add_argument(
        "--plan-quality-threshold",
        type=quality_threshold,
        default=DEFAULT_QUALITY_THRESHOLD,
        metavar="QOE",
        help=QUALITY_HELP,
    )
    p.add_argument(
        "--json", nargs="?", const="-", default="-", metavar="FILE", help="write the JSON to FILE (default: stdout)"
    )
    p.set_defaults(handler=_system)


def _system(ns: argparse.Namespace) -> int:
    from controller.slow_loop.plan_execution import ExecutionSettings
    from controller.slow_loop_window import SlowLoopWindow, WindowError
    from rrm.cli.scenario_resolution import resolve_scenario
    from rrm.evaluation.system_eval import SystemEvalOptions, evaluate_system

    if ns.seed is not None and ns.seed < 0:
        raise UsageError(f"--seed must not be negative, not {ns.seed}")
    if ns.step <= 0 or ns.days <= 0 or ns.days * 86_400.0 < 2 * ns.step:
        raise UsageError(f"--days and --step must be positive and cover two steps (days {ns.days:g}, step {ns.step:g})")
    if ns.radar_every < 0 or ns.burst_every < 0:
        raise UsageError("--radar-every and --burst-every must not be negative (0: none)")
    try:
        window = SlowLoopWindow.parse(ns.slow_loop_window, ns.site_timezone)
    except WindowError as exc:
        raise UsageError(str(exc)) from None
    scenario, name = resolve_scenario(ns.scenario)
    if ns.seed is not None:
        scenario = replace(scenario, seed=ns.seed)
    options = SystemEvalOptions(
        days=ns.days,
        step_s=ns.step,
        radar_every_s=ns.radar_every * 3600.0,
        burst_every_s=ns.burst_every * 3600.0,
        slow_window=window,
        execution=ExecutionSettings(quality_threshold=ns.plan_quality_threshold),
    )
    emit_figures(evaluate_system(scenario, name, options, progress=LateProgress("rrm eval system")), ns.json)
    return 0
