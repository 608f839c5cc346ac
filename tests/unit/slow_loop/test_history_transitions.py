"""The controller's slow-loop history table: round trip to a TransitionLog, and files it refuses."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

from controller.slow_loop.history_transitions import (
    HistoryFileError,
    HistoryState,
    PlanHistory,
    StageOutcome,
    StageTransition,
)
from controller.slow_loop.history_transitions_export import history_log
from controller.slow_loop.move_features import N_MOVE_FEATURES, N_STATE_FEATURES
from controller.slow_loop.step_reward import RewardWeights, StepOutcome

pytestmark = pytest.mark.unit


def state(at: float, level: float, candidates: int = 3) -> HistoryState:
    features = np.full(N_STATE_FEATURES, level)
    rows = np.arange(candidates * N_MOVE_FEATURES, dtype=np.float64).reshape(candidates, N_MOVE_FEATURES) * level
    return HistoryState(at, 6, features, rows)


def stage(
    plan_id: str, index: int, outcome: StageOutcome, qoe: float = 0.9, moves: int = 2, start: float = 1000.0
) -> StageTransition:
    figures = StepOutcome(qoe, 1, moves - 1, 0.05, 1)
    return StageTransition(
        plan_id=plan_id,
        stage=index,
        policy="heuristic",
        decided_at=start + 600.0 * index,
        judged_at=start + 600.0 * (index + 1),
        moved_radios=tuple(f"ap-{k}/5g" for k in range(moves)),
        moves=np.full((moves, N_MOVE_FEATURES), 0.5 + index),
        qoe_before=None if index == 0 else 0.85,
        qoe_after=qoe,
        channel_moves=1,
        power_moves=moves - 1,
        dark_client_share=0.05,
        violations=1,
        reward=figures.reward(RewardWeights()),
        outcome=outcome,
    )


def two_plans(path: Path) -> list[StageTransition]:
    """Plan A: two stages, chained, complete; plan B: one stage, rolled back."""
    history = PlanHistory.open(path)
    stages = [
        stage("plan-a", 0, StageOutcome.CONTINUED),
        stage("plan-a", 1, StageOutcome.COMPLETE, qoe=0.93, moves=1),
        stage("plan-b", 0, StageOutcome.ROLLED_BACK, qoe=0.7, moves=3, start=5000.0),
    ]
    middle = history.record(state(1000.0, 1.0), state(1600.0, 2.0), stages[0])
    history.record(middle, state(2200.0, 3.0), stages[1])
    history.record(state(5000.0, 4.0, candidates=0), state(5600.0, 5.0), stages[2])
    history.close()
    return stages


def test_stages_round_trip_through_the_table(tmp_path: Path) -> None:
    """Every stored figure reads back; a chained stage's next state is the following stage's state, stored once."""
    path = tmp_path / "history.db"
    written = two_plans(path)
    history = PlanHistory.open(path, create=False)
    try:
        read = history.transitions()
        states = history.states()
    finally:
        history.close()
    assert len(states) == 5
    assert read[0][1] == read[1][0]  # plan A's middle state
    for (state_id, next_id, got), want in zip(read, written, strict=True):
        assert got.moved_radios == want.moved_radios
        assert np.array_equal(got.moves, want.moves)
        assert _figures(got) == _figures(want)
        assert states[state_id].taken_at == want.decided_at
        assert states[next_id].taken_at == want.judged_at
        assert states[next_id].features.shape == (N_STATE_FEATURES,)
    assert states[read[2][0]].candidates.shape == (0, N_MOVE_FEATURES)


def _figures(t: StageTransition) -> dict[str, object]:
    return {f.name: getattr(t, f.name) for f in fields(t) if f.name != "moves"}


def test_the_table_becomes_a_history_transition_log(tmp_path: Path) -> None:
    """Behaviour HISTORY, no-op reward NaN, terminal where the plan ended, the reward of step_reward.py."""
    path = tmp_path / "history.db"
    written = two_plans(path)
    log = history_log(path)
    assert log.n_transitions == 3 and log.n_states == 5
    assert log.behaviour_counts() == {"history": 3}
    assert np.isnan(log.noop_reward).all()
    assert log.terminal.tolist() == [False, True, True]
    assert log.next_state_ix[0] == log.state_ix[1]
    assert np.allclose(log.reward, [w.reward for w in written])
    assert [log.moves(i).shape[0] for i in range(3)] == [2, 1, 3]
    assert np.array_equal(log.state_features[log.state_ix[1]], np.full(N_STATE_FEATURES, 2.0))
    assert np.array_equal(log.candidates(int(log.state_ix[0])), state(1000.0, 1.0).candidates)
    assert str(path) in log.source and "3 stages of 2 plans" in log.source


def test_the_reward_is_scored_with_the_weights_asked_for(tmp_path: Path) -> None:
    """The stored penalty counts are rescored, so history and simulator transitions share one reward."""
    path = tmp_path / "history.db"
    two_plans(path)
    weights = RewardWeights(violation=0.0)
    log = history_log(path, weights)
    assert np.allclose(log.reward, history_log(path).reward + RewardWeights().violation * 1)


def test_reopening_keeps_the_rows(tmp_path: Path) -> None:
    """The controller reopens its history after a restart and appends to it."""
    path = tmp_path / "history.db"
    two_plans(path)
    history = PlanHistory.open(path)
    history.record(state(9000.0, 6.0), state(9600.0, 7.0), stage("plan-c", 0, StageOutcome.COMPLETE, start=9000.0))
    history.close()
    assert history_log(path).n_transitions == 4


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("move_features", json.dumps(["d_coupling_cost", "something_else"]), "move_features"),
        ("state_features", json.dumps(["bias"]), "state_features"),
        ("version", "99", "version is '99'"),
        ("format", "rrm-other", "format is 'rrm-other'"),
    ],
)
def test_a_history_of_another_format_or_feature_set_is_refused(
    tmp_path: Path, key: str, value: str, named: str
) -> None:
    """Reading and writing both refuse it, naming the file and what differs."""
    path = tmp_path / "old-history.db"
    two_plans(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE slow_loop_history_meta SET value = ? WHERE key = ?", (value, key))
    for create in (False, True):
        with pytest.raises(HistoryFileError, match=r"old-history\.db") as refused:
            PlanHistory.open(path, create=create)
        assert named in str(refused.value)
    with pytest.raises(HistoryFileError, match=named):
        history_log(path)


def test_files_that_are_not_a_history_are_refused(tmp_path: Path) -> None:
    """A missing file, a text file, another SQLite database, an empty history: each named, none created."""
    missing = tmp_path / "missing.db"
    with pytest.raises(HistoryFileError, match=r"missing\.db: no such slow-loop history file"):
        history_log(missing)
    assert not missing.exists()
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, but long enough to have a header " * 4)
    with pytest.raises(HistoryFileError, match=r"notes\.txt"):
        history_log(text)
    other = tmp_path / "controller.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE agents (agent_id TEXT)")
    with pytest.raises(HistoryFileError, match=r"controller\.db: not a slow-loop history database \(tables agents"):
        history_log(other)
    with pytest.raises(HistoryFileError, match="not a slow-loop history"):
        PlanHistory.open(other)  # the controller never takes over a database that is not its history
    empty = tmp_path / "empty.db"
    PlanHistory.open(empty).close()
    with pytest.raises(HistoryFileError, match=r"empty\.db: the slow-loop history holds no transitions yet"):
        history_log(empty)


def test_a_damaged_feature_blob_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    two_plans(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE slow_loop_history_transitions SET move_count = 7 WHERE plan_id = 'plan-b'")
    with pytest.raises(HistoryFileError, match=r"history\.db: stage 0 of plan-b: 39 feature values, expected 7 x 13"):
        history_log(path)


def test_one_stage_writes_three_small_rows(tmp_path: Path) -> None:
    """A stage stores its moves once and its states as their own rows (a chain shares them)."""
    path = tmp_path / "history.db"
    two_plans(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM slow_loop_history_transitions").fetchone() == (3,)
        assert conn.execute("SELECT COUNT(*) FROM slow_loop_history_states").fetchone() == (5,)
