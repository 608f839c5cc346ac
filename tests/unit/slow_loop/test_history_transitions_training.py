"""Training on the controller's history: transitions whose no-op reward is unknown (NaN)."""

from __future__ import annotations

import numpy as np
import pytest

from controller.slow_loop.cql_training import CqlSettings, fit_conservative_q
from controller.slow_loop.move_features import N_MOVE_FEATURES, N_STATE_FEATURES
from controller.slow_loop.transition_log import Behaviour, TransitionLog, TransitionLogBuilder, concatenate

pytestmark = pytest.mark.unit

GOOD, BAD = 0, 1  # the move feature columns of a helpful and a harmful move
ABSENT = 5  # a column no logged move ever has


def move(column: int, size: float = 1.0) -> np.ndarray:
    row = np.zeros(N_MOVE_FEATURES)
    row[column] = size
    return row


def logged(behaviour: Behaviour, transitions: int, *, noop_known: bool, noop_share: float, seed: int) -> TransitionLog:
    """Each step takes the good move (+1 QoE point), the bad one (-1) or, with ``noop_share``, nothing."""
    rng = np.random.default_rng(seed)
    builder = TransitionLogBuilder(source=behaviour.name.lower())
    state = np.zeros(N_STATE_FEATURES)
    state[0] = 1.0
    offered = np.vstack([move(GOOD), move(BAD), move(ABSENT)])
    current = builder.add_state(state, offered)
    for i in range(transitions):
        pick = 2 if rng.random() < noop_share else int(rng.integers(2))
        taken = [offered[:1], offered[1:2], np.zeros((0, N_MOVE_FEATURES))][pick]
        gain = [1.0, -1.0, 0.0][pick] + rng.normal(0.0, 0.1)
        following = builder.add_state(state, offered)
        noop = 85.0 if noop_known else None
        builder.add_transition(current, following, taken, 85.0 + gain, noop, i % 5 == 4, behaviour)
        current = following
    return builder.build()


def history(transitions: int = 60, noop_share: float = 0.0, seed: int = 1) -> TransitionLog:
    return logged(Behaviour.HISTORY, transitions, noop_known=False, noop_share=noop_share, seed=seed)


def simulator(transitions: int = 60, seed: int = 2) -> TransitionLog:
    return logged(Behaviour.RANDOM, transitions, noop_known=True, noop_share=0.3, seed=seed)


@pytest.mark.parametrize(
    ("what", "log"),
    [
        ("a history alone, every step a move", history()),
        ("a history alone, some no-op steps", history(noop_share=0.3)),
        ("a history and a few simulator steps", concatenate([history(), simulator(transitions=3)])),
        ("a history and the simulator", concatenate([simulator(), history()])),
    ],
)
def test_nan_noop_rewards_train_a_finite_model_that_ranks_the_moves(what: str, log: TransitionLog) -> None:
    """Whatever stands in for the unknown no-op reward, the fit is finite, the good move beats the bad one."""
    assert np.isnan(log.noop_reward).any(), what
    model, fit = fit_conservative_q(log, CqlSettings(iterations=3), seed=0)
    assert np.isfinite(model.state_weights).all() and np.isfinite(model.move_weights).all(), what
    assert np.isfinite(fit.residual_std) and np.isfinite(fit.cql_gap), what
    good, bad, absent = model.lower_bounds(np.vstack([move(GOOD), move(BAD), move(ABSENT)]))
    assert good > bad and good > absent, what


def test_with_the_simulator_a_history_keeps_a_bad_move_below_a_no_op() -> None:
    """The simulator's known no-op rewards set the level the history's moves are measured against."""
    both = concatenate([simulator(), history(120)])
    model, _ = fit_conservative_q(both, CqlSettings(iterations=3), seed=0)
    good, bad, absent = model.lower_bounds(np.vstack([move(GOOD), move(BAD), move(ABSENT)]))
    assert good > 0.0 > bad and absent < 0.0
    alone, _ = fit_conservative_q(simulator(), CqlSettings(iterations=3), seed=0)
    assert good == pytest.approx(alone.lower_bounds(move(GOOD))[0], abs=0.6)  # the history agrees with it


def test_a_history_measured_against_fitted_no_op_rewards_is_not_shifted() -> None:
    """History rewards at the simulator's no-op level: its moves get the simulator's values (no ridge-shrunk level)."""
    sim = simulator(transitions=200)
    history_only_moves = logged(Behaviour.HISTORY, 200, noop_known=False, noop_share=0.0, seed=3)
    model, _ = fit_conservative_q(concatenate([sim, history_only_moves]), CqlSettings(iterations=2), seed=0)
    good, bad = model.values(np.vstack([move(GOOD), move(BAD)]))
    assert good > 0.3 and bad < -0.3 and abs(good + bad) < 0.5


def test_concatenating_keeps_the_history_and_its_unknown_noop_rewards() -> None:
    both = concatenate([simulator(), history()])
    assert both.behaviour_counts()["history"] == 60
    is_history = both.behaviour == Behaviour.HISTORY
    assert np.isnan(both.noop_reward[is_history]).all() and np.isfinite(both.noop_reward[~is_history]).all()


def test_a_nan_reward_is_refused() -> None:
    log = history(transitions=5)
    broken = TransitionLog(**{**{f: getattr(log, f) for f in log.__dataclass_fields__}, "reward": log.reward * np.nan})
    with pytest.raises(ValueError, match="history: every reward must be finite"):
        fit_conservative_q(broken)
