"""The conservative offline Q fit: pessimism where the data is silent, determinism, the model file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from controller.slow_loop.cql_model import ConservativeQ, ModelFileError
from controller.slow_loop.cql_training import CqlSettings, fit_conservative_q
from controller.slow_loop.move_features import N_MOVE_FEATURES, N_STATE_FEATURES
from controller.slow_loop.transition_log import Behaviour, TransitionLog, TransitionLogBuilder

SUPPORTED = 0  # the feature column the data's moves vary
ABSENT = 5  # a column no logged move ever has


def _move(column: int, size: float) -> np.ndarray:
    move = np.zeros(N_MOVE_FEATURES)
    move[column] = size
    return move


def synthetic_log(seed: int = 0, transitions: int = 120) -> TransitionLog:
    """Every state offers a supported move, a harmful one and one the data never takes (ABSENT).

    The logged behaviour takes the supported move (reward +1 over a no-op) or the harmful one
    (-1) or nothing; the absent move is only ever offered.
    """
    rng = np.random.default_rng(seed)
    builder = TransitionLogBuilder(source="synthetic")
    state = np.zeros(N_STATE_FEATURES)
    state[0] = 1.0
    offered = np.vstack([_move(SUPPORTED, 1.0), _move(SUPPORTED, -1.0), _move(ABSENT, 1.0)])
    current = builder.add_state(state, offered)
    for i in range(transitions):
        pick = int(rng.integers(3))
        moves = [offered[:1], offered[1:2], np.zeros((0, N_MOVE_FEATURES))][pick]
        gain = [1.0, -1.0, 0.0][pick] + rng.normal(0.0, 0.1)
        following = builder.add_state(state, offered)
        behaviour = Behaviour.NOOP if pick == 2 else Behaviour.RANDOM
        builder.add_transition(current, following, moves, 90.0 + gain, 90.0, i % 10 == 9, behaviour)
        current = following
    return builder.build()


def test_an_absent_action_is_valued_below_a_supported_one() -> None:
    """The move the data never took gets a lower conservative value than the good supported one."""
    model, _ = fit_conservative_q(synthetic_log(), CqlSettings(iterations=3), seed=1)
    supported, absent = _move(SUPPORTED, 1.0), _move(ABSENT, 1.0)
    assert model.lower_bounds(absent)[0] < model.lower_bounds(supported)[0]
    assert model.values(absent)[0] < model.values(supported)[0]
    assert model.uncertainties(absent)[0] > model.uncertainties(supported)[0]


def test_the_cql_term_pushes_the_absent_action_down() -> None:
    """With the regulariser the absent move is valued lower than without it."""
    log = synthetic_log()
    plain, _ = fit_conservative_q(log, CqlSettings(iterations=3, cql_alpha=0.0), seed=1)
    conservative, _ = fit_conservative_q(log, CqlSettings(iterations=3, cql_alpha=2.0), seed=1)
    absent = _move(ABSENT, 1.0)
    assert conservative.values(absent)[0] < plain.values(absent)[0]
    assert conservative.values(absent)[0] < 0.0


def test_the_fit_is_deterministic_with_a_seed() -> None:
    log = synthetic_log()
    first, _ = fit_conservative_q(log, CqlSettings(iterations=2, logsumexp_candidates=2), seed=4)
    second, _ = fit_conservative_q(log, CqlSettings(iterations=2, logsumexp_candidates=2), seed=4)
    assert np.array_equal(first.move_weights, second.move_weights)
    assert np.array_equal(first.state_weights, second.state_weights)


def test_model_file_round_trip(tmp_path: Path) -> None:
    """A saved model loads back with the same values and bounds."""
    model, _ = fit_conservative_q(synthetic_log(), CqlSettings(iterations=2), seed=1)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = ConservativeQ.load(path)
    probe = np.vstack([_move(SUPPORTED, 1.0), _move(ABSENT, 1.0), _move(3, -0.5)])
    assert np.array_equal(loaded.values(probe), model.values(probe))
    assert np.array_equal(loaded.lower_bounds(probe), model.lower_bounds(probe))
    assert loaded.residual_std == model.residual_std
    assert loaded.trained_on == "synthetic"


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not-a-model.npz"
    synthetic_log(transitions=4).save(path)  # a transition file, not a model
    with pytest.raises(ModelFileError, match=r"not-a-model\.npz"):
        ConservativeQ.load(path)


def test_transition_file_round_trip(tmp_path: Path) -> None:
    log = synthetic_log(transitions=12)
    path = tmp_path / "log.npz"
    log.save(path)
    loaded = TransitionLog.load(path)
    assert loaded.n_transitions == log.n_transitions
    assert np.array_equal(loaded.reward, log.reward)
    assert np.array_equal(loaded.move_features, log.move_features)
    assert np.array_equal(loaded.candidate_offsets, log.candidate_offsets)
    assert loaded.behaviour_counts() == log.behaviour_counts()
