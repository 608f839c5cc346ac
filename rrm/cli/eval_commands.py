"""`rrm eval ...`: the agent's choices against a baseline in the simulator, as JSON figures."""

from __future__ import annotations

import argparse
from dataclasses import replace

from rrm.cli.errors import UsageError
from rrm.cli.json_figures import LateProgress, emit_figures
from rrm.cli.scenario_resolution import DEFAULT_SCENARIO


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("eval", help="evaluations in the simulator that print JSON figures")
    eval_sub = p.add_subparsers(
        dest="eval_command", required=True, metavar="{dfs,radar-detector,fast-loop,slow-loop,system}"
    )

    dfs = eval_sub.add_parser(
        "dfs",
        help="radar on every DFS channel of every 5 GHz radio: the agent's landing against hostapd's random one",
        description="For radar on each DFS channel of each 5 GHz radio, compares the channel the agent's "
        "emergency selector has the AP land on with hostapd's uniformly random choice (src/ap/dfs.c), "
        "by the network QoE over a window after the move and by the moves that needed a CAC.",
    )
    dfs.add_argument(
        "--scenario", default=DEFAULT_SCENARIO, help="scenario file, or a shipped one's name (default: %(default)s)"
    )
    dfs.add_argument("--trials", type=int, default=5, help="hostapd draws per radio and channel (default: %(default)s)")
    dfs.add_argument("--seed", type=int, help="override the scenario's seed (the world's and hostapd's draws)")
    dfs.add_argument(
        "--window", type=float, default=300.0, help="simulated seconds of QoE after each move (default: %(default)s)"
    )
    dfs.add_argument(
        "--json", nargs="?", const="-", default="-", metavar="FILE", help="write the JSON to FILE (default: stdout)"
    )
    dfs.set_defaults(handler=_dfs)

    from rrm.cli.radar_trace_commands import add_eval_parser

    add_eval_parser(eval_sub)

    from rrm.cli.fast_loop_eval_command import add_eval_parser as add_fast_loop_eval_parser

    add_fast_loop_eval_parser(eval_sub)

    from rrm.cli.system_eval_command import add_eval_parser as add_system_eval_parser

    add_system_eval_parser(eval_sub)

    from rrm.cli.slow_loop_eval_command import add_eval_parser as add_slow_loop_eval_parser

    add_slow_loop_eval_parser(eval_sub)


def _dfs(ns: argparse.Namespace) -> int:
    from rrm.cli.scenario_resolution import resolve_scenario
    from rrm.evaluation.dfs_moves import DEFAULT_STEP_S, DfsEvalOptions, evaluate_dfs_moves

    if ns.trials < 1:
        raise UsageError(f"--trials must be at least 1, not {ns.trials}")
    if ns.seed is not None and ns.seed < 0:
        raise UsageError(f"--seed must not be negative, not {ns.seed}")
    if ns.window < DEFAULT_STEP_S:
        raise UsageError(f"--window must be at least {DEFAULT_STEP_S:g} s (one step), not {ns.window:g}")
    scenario, name = resolve_scenario(ns.scenario)
    if ns.seed is not None:
        scenario = replace(scenario, seed=ns.seed)
    options = DfsEvalOptions(trials=ns.trials, window_s=ns.window)
    evaluation = evaluate_dfs_moves(scenario, name, options, progress=LateProgress("rrm eval dfs"))
    if not evaluation.results:
        raise UsageError(f"scenario {name} has no 5 GHz radio on air on a DFS channel to try radar on")
    emit_figures(evaluation.figures(), ns.json)
    return 0
