"""The controller records its executed plan stages, and `rrm train slow-loop --history` trains on them.

A real controller (plan windows of 60 s so a plan ends in minutes of virtual time) and three real
agents over mTLS on the simulated floor; the plan is asked for as `rrm plan` does. Then the
training command itself reads the controller's history file.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from controller.app import ControllerApp
from controller.operator_requests import OperatorRequests, RequestKind
from controller.slow_loop.history_transitions import HISTORY_DB_FILE, PlanHistory, StageOutcome
from controller.slow_loop.history_transitions_export import history_log
from controller.slow_loop.move_features import N_MOVE_FEATURES, N_STATE_FEATURES
from controller.slow_loop.transition_log import Behaviour, TransitionLog
from rrm.cli.main import main
from rrm.sqlite_files import open_database
from tests.integration.conftest import Site

pytestmark = pytest.mark.integration

OBSERVATION_S = 60.0


async def _plan_to_the_end(site: Site) -> ControllerApp:
    controller = await site.start_connected(replace(site.controller_settings(), plan_observation_s=OBSERVATION_S))
    await site.advance(21)  # two telemetry readings with the neighbours every radio hears
    conn = open_database(site.state / "controller" / "controller.db")
    try:
        OperatorRequests(conn).submit(
            RequestKind.PLAN, {"site": "default", "reason": "history"}, "alice", site.clock.now()
        )
    finally:
        conn.close()
    shim = controller.scheduler
    assert shim is not None
    for _ in range(60):
        await site.advance(10)
        if any(p["outcome"] in ("completed", "rolled_back") for p in shim.activity.plans):
            return controller
    raise AssertionError(f"no plan ended within 600 simulated seconds: {shim.activity.plans}")


async def test_a_plan_run_by_the_controller_leaves_one_row_per_stage(site: Site) -> None:
    """Every stage the plan sent is a row: its moves, QoE after the window, features of this version."""
    controller = await _plan_to_the_end(site)
    shim = controller.scheduler
    assert shim is not None and shim.slow is not None and shim.slow.execution is not None
    execution = shim.slow.execution
    recorder = shim.slow.history
    assert recorder is not None
    assert recorder.counters.failures == 0 and not recorder.counters.skipped
    history = PlanHistory.open(site.state / "controller" / HISTORY_DB_FILE, create=False)
    try:
        rows = [t for _, _, t in history.transitions()]
    finally:
        history.close()
    sent = execution.steps[: execution.next_step]
    assert [(t.plan_id, t.stage) for t in rows] == [(execution.plan_id, s.index) for s in sent]
    assert recorder.counters.rows == len(rows) >= 1
    assert [t.outcome for t in rows][-1] in (StageOutcome.COMPLETE, StageOutcome.ROLLED_BACK)
    assert all(t.outcome is StageOutcome.CONTINUED for t in rows[:-1])
    for row, step in zip(rows, sent, strict=True):
        assert set(row.moved_radios) <= set(step.radio_ids)
        assert row.moves.shape == (len(row.moved_radios), N_MOVE_FEATURES)
        assert 0.0 < row.qoe_after <= 1.0 and row.judged_at - row.decided_at >= OBSERVATION_S
        assert row.policy == execution.plan.source
    log = history_log(site.state / "controller" / HISTORY_DB_FILE)
    assert log.n_transitions == len(rows) and log.behaviour_counts() == {"history": len(rows)}
    assert log.state_features.shape[1] == N_STATE_FEATURES and log.candidate_features.shape[0] > 0


async def test_train_slow_loop_learns_from_the_controllers_history(site: Site, tmp_path: Path) -> None:
    """`--history STATE_DIR/slow_loop_history.db`: the controller's stages join one simulator episode."""
    await _plan_to_the_end(site)
    await site.close()
    db = site.state / "controller" / HISTORY_DB_FILE
    stages = history_log(db).n_transitions
    model, log_path, figures_path = tmp_path / "model.npz", tmp_path / "log.npz", tmp_path / "figures.json"
    argv = ["train", "slow-loop", "--episodes", "1", "--held-out", "0", "--seed", "3", "--history", str(db)]
    assert main([*argv, "--out", str(model), "--transitions", str(log_path), "--json", str(figures_path)]) == 0
    figures = json.loads(figures_path.read_text())
    assert figures["history"] == [{"file": str(db), "transitions": stages}]
    assert figures["behaviour"]["history"] == stages
    assert figures["transitions"] == figures["simulator_transitions"] + stages
    saved = TransitionLog.load(log_path)
    is_history = saved.behaviour == Behaviour.HISTORY
    assert int(is_history.sum()) == stages and np.isnan(saved.noop_reward[is_history]).all()
    assert model.exists()


def test_train_refuses_a_bad_history_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Missing, not a database, another database, an empty history: exit 2, the file named, no traceback."""
    text = tmp_path / "notes.txt"
    text.write_text("no database here " * 20)
    other = tmp_path / "controller.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE agents (agent_id TEXT)")
    empty = tmp_path / "empty.db"
    PlanHistory.open(empty).close()
    cases = {
        tmp_path / "missing.db": "no such slow-loop history file",
        text: "not a slow-loop history database",
        other: "not a slow-loop history database (tables agents",
        empty: "holds no transitions yet",
    }
    for path, problem in cases.items():
        model = tmp_path / "model.npz"
        argv = ["train", "slow-loop", "--episodes", "1", "--held-out", "0", "--history", str(path)]
        assert main([*argv, "--out", str(model)]) == 2, path
        err = capsys.readouterr().err
        assert f"rrm train: error: --history {path}: " in err and problem in err, err
        assert "Traceback" not in err
        assert not model.exists()
