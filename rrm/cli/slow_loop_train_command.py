"""`rrm train slow-loop`: collect simulator transitions, fit the safe-RL model, save it, print figures.

Method: rrm/evaluation/slow_loop_training.py. The model file (``--out``, an .npz) is what the
safe-RL slow-loop policy loads (controller/slow_loop/safe_rl_policy.py ``SafeRlPolicy.from_file``);
``--transitions`` also keeps the logged data set. ``--history DB`` (repeatable) adds a
controller's own executed plan stages (its state directory's slow_loop_history.db,
controller/slow_loop/history_transitions.py) to the simulator's transitions; a file that is
missing, not such a history, of another feature set or empty is refused before anything runs.
JSON figures: transitions by behaviour, seconds spent reading the history, collecting and
fitting, the fit's conservative values, the held-out returns of the no-op, heuristic and
safe-RL policies on world seeds the training did not see, and the held-out check the model file
carries (controller/slow_loop/held_out_check.py): a model that did not pass it, or was trained
with ``--held-out 0``, makes the heuristic's plans only, and stderr says so.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from rrm.cli.errors import UsageError
from rrm.cli.json_figures import LateProgress, emit_figures
from rrm.cli.scenario_resolution import DEFAULT_SCENARIO

if TYPE_CHECKING:
    from controller.slow_loop.cql_model import ConservativeQ
    from controller.slow_loop.transition_log import TransitionLog
    from rrm.evaluation.slow_loop_training import TrainingOptions


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="train the controller's learning loops offline in the simulator")
    train_sub = p.add_subparsers(dest="train_command", required=True, metavar="{slow-loop}")
    s = train_sub.add_parser(
        "slow-loop",
        help="the safe-RL slow-loop policy: logged transitions, conservative Q, held-out check",
        description="Collects transitions from the simulator (no-op, random legal and heuristic moves), adds the "
        "controllers' own executed plan stages given with --history, fits a conservative Q function (fitted Q "
        "iteration with the CQL regulariser and a count-based penalty), saves it, and compares the safe-RL "
        "policy with the heuristic on held-out episodes.",
    )
    s.add_argument(
        "--scenario", default=DEFAULT_SCENARIO, help="scenario file, or a shipped one's name (default: %(default)s)"
    )
    s.add_argument("--episodes", type=int, default=12, help="training episodes (default: %(default)s)")
    s.add_argument(
        "--held-out",
        type=int,
        default=8,
        help="held-out episodes per policy; the model deploys learned plans only if the check over them passes, "
        "so 0 (no check) or 1 leaves it making the heuristic's plans (default: %(default)s)",
    )
    s.add_argument("--seed", type=int, default=0, help="seed of every draw (default: %(default)s)")
    s.add_argument("--out", required=True, metavar="MODEL", help="where to write the model (.npz)")
    s.add_argument("--transitions", metavar="FILE", help="also write the logged transitions (.npz)")
    s.add_argument(
        "--history",
        action="append",
        default=[],
        metavar="DB",
        help="also train on a controller's executed plan stages: STATE_DIR/slow_loop_history.db (repeatable)",
    )
    s.add_argument(
        "--json", nargs="?", const="-", default="-", metavar="FILE", help="write the JSON to FILE (default: stdout)"
    )
    s.set_defaults(handler=_train_slow_loop)


def _train_slow_loop(ns: argparse.Namespace) -> int:
    from rrm.cli.scenario_resolution import resolve_scenario

    if ns.episodes < 1:
        raise UsageError(f"--episodes must be at least 1, not {ns.episodes}")
    if ns.held_out < 0:
        raise UsageError(f"--held-out must not be negative, not {ns.held_out}")
    if ns.seed < 0:
        raise UsageError(f"--seed must not be negative, not {ns.seed}")
    from controller.slow_loop.cql_training import fit_conservative_q
    from rrm.evaluation.slow_loop_training import TrainingOptions, checked, heuristic_baseline, with_history
    from rrm.evaluation.transition_collection import collect_transitions

    scenario, name = resolve_scenario(ns.scenario)
    defaults = TrainingOptions()
    options = replace(
        defaults, collection=replace(defaults.collection, episodes=ns.episodes), held_out_episodes=ns.held_out
    )
    progress = LateProgress("rrm train slow-loop")
    read_started = time.monotonic()
    history = _histories(ns.history, options)
    started = time.monotonic()
    simulated = collect_transitions(scenario, heuristic_baseline(ns.seed), ns.seed, options.collection, progress)
    log = with_history(simulated, history)
    collected = time.monotonic()
    model, fit = fit_conservative_q(log, options.cql, ns.seed)
    fitted = time.monotonic()
    model, held_out = checked(scenario, model, ns.seed, options, progress=progress)
    try:
        model.save(ns.out)
        if ns.transitions:
            log.save(ns.transitions)
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename}: {exc.strerror or exc}") from None
    check = model.held_out_check
    if check is None or not check.passed:
        what = check.describe() if check is not None else "no held-out check (--held-out 0)"
        print(f"rrm train slow-loop: {what}: {ns.out} will make the heuristic's plans only", file=sys.stderr)
    figures: dict[str, object] = {
        "scenario": name,
        "seed": ns.seed,
        "episodes": ns.episodes,
        "transitions": log.n_transitions,
        "simulator_transitions": simulated.n_transitions,
        "history": [{"file": str(p), "transitions": h.n_transitions} for p, h in zip(ns.history, history, strict=True)],
        "moves": int(log.move_features.shape[0]),
        "behaviour": log.behaviour_counts(),
        "history_s": round(started - read_started, 2),
        "collection_s": round(collected - started, 2),
        "training_s": round(fitted - collected, 2),
        "model": ns.out,
        "fit": {
            "residual_std": round(fit.residual_std, 4),
            "mean_data_move_value": round(fit.mean_data_move_value, 4),
            "mean_candidate_value": round(fit.mean_candidate_value, 4),
            "cql_gap": round(fit.cql_gap, 4),
        },
        "conservative_values": _conservative_values(model, log),
        "held_out": {p: r.figures() for p, r in held_out.items()},
    }
    if check is not None:
        figures["held_out_safe_rl_minus_heuristic"] = round(check.mean, 3)
        figures["held_out_check"] = check.figures()
    emit_figures(figures, ns.json)
    return 0


def _histories(paths: list[str], options: TrainingOptions) -> list[TransitionLog]:
    """Each ``--history`` file as transitions, scored with the simulator's reward weights.

    Raises UsageError naming a file that is missing, not a history, of another feature set or empty.
    """
    from controller.slow_loop.history_transitions import HistoryFileError
    from controller.slow_loop.history_transitions_export import history_log

    logs = []
    for path in paths:
        try:
            logs.append(history_log(path, options.collection.env.reward))
        except HistoryFileError as exc:
            raise UsageError(f"--history {exc}") from None
    return logs


def _conservative_values(model: ConservativeQ, log: TransitionLog) -> dict[str, float]:
    """Mean point estimate and lower bound of the moves each behaviour took."""
    import numpy as np

    from controller.slow_loop.transition_log import Behaviour

    found: dict[str, float] = {}
    for behaviour in (Behaviour.RANDOM, Behaviour.HEURISTIC, Behaviour.HISTORY):
        rows = [log.moves(i) for i in range(log.n_transitions) if log.behaviour[i] == behaviour]
        moves = np.vstack(rows) if rows else np.zeros((0, log.move_features.shape[1]))
        if moves.shape[0]:
            found[f"{behaviour.name.lower()}_move_value"] = round(float(model.values(moves).mean()), 4)
            found[f"{behaviour.name.lower()}_move_lower_bound"] = round(float(model.lower_bounds(moves).mean()), 4)
    if log.candidate_features.size:
        found["candidate_lower_bound_mean"] = round(float(model.lower_bounds(log.candidate_features).mean()), 4)
    return found
