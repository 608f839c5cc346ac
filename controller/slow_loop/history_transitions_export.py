"""The controller's history table (history_transitions.py) as a TransitionLog to train on.

`rrm train slow-loop --history DB` trains on these together with the simulator's transitions.
Every executed plan stage becomes one transition with ``Behaviour.HISTORY`` and ``noop_reward``
NaN: the controller cannot fork its site to see what doing nothing would have earned over the
same window, so cql_training.py measures such a step against a fitted no-op value instead. The
reward is recomputed from the stored figures (QoE after the window and the penalty counts) with
the weights given, by default the simulator's (step_reward.py), so both sources are scored alike.
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from controller.slow_loop.history_transitions import HistoryFileError, HistoryState, PlanHistory
from controller.slow_loop.step_reward import RewardWeights, StepOutcome
from controller.slow_loop.transition_log import Behaviour, TransitionLog, TransitionLogBuilder


def history_log(path: str | Path, weights: RewardWeights | None = None) -> TransitionLog:
    """The stages stored at ``path`` as transitions (module docstring).

    Raises HistoryFileError naming the file when it is missing, not a history of this format,
    version and feature set, damaged, or holds no transitions yet.
    """
    weights = weights or RewardWeights()
    history = PlanHistory.open(path, create=False)
    try:
        states = history.states()
        stages = history.transitions()
    except sqlite3.Error as exc:
        raise HistoryFileError(f"{path}: cannot read the slow-loop history: {exc}") from None
    finally:
        history.close()
    if not stages:
        raise HistoryFileError(f"{path}: the slow-loop history holds no transitions yet (no plan stage was judged)")
    plans = len({stage.plan_id for _, _, stage in stages})
    builder = TransitionLogBuilder(source=f"history: {path} ({len(stages)} stages of {plans} plans)")
    index: dict[int, int] = {}

    def state_index(state_id: int, where: str) -> int:
        if state_id not in index:
            state: HistoryState | None = states.get(state_id)
            if state is None:
                raise HistoryFileError(f"{path}: {where} names state {state_id}, which is not stored")
            index[state_id] = builder.add_state(state.features, state.candidates)
        return index[state_id]

    for state_id, next_id, stage in stages:
        where = f"stage {stage.stage} of {stage.plan_id}"
        outcome = StepOutcome(
            stage.qoe_after, stage.channel_moves, stage.power_moves, stage.dark_client_share, stage.violations
        )
        reward = outcome.reward(weights)
        if not math.isfinite(reward):
            raise HistoryFileError(f"{path}: {where} has no finite reward (QoE after {stage.qoe_after})")
        builder.add_transition(
            state_index(state_id, where),
            state_index(next_id, where),
            stage.moves,
            reward,
            None,
            stage.terminal,
            Behaviour.HISTORY,
        )
    return builder.build()
