"""The controller's own slow-loop history: one SQLite row per executed plan stage (issue 8 item 4).

A file in the controller's state directory (``HISTORY_DB_FILE``), three tables:

- ``slow_loop_history_meta``: the format, its version and the names of the state and move
  features (move_features.py) the rows were computed with; a file whose format, version or
  feature names differ from this code's is refused (``HistoryFileError`` naming the file and
  what differs), so a model never trains on columns that mean something else (the layout:
  history_transitions_schema.py);
- ``slow_loop_history_states``: a state as the slow loop saw it at a stage's decision or after its
  window: the state features and the move features of every candidate move it offered (float64,
  zlib-compressed blobs). A stage's next state is the following stage's state, stored once;
- ``slow_loop_history_transitions``: one row per stage (primary key plan id, stage index): its
  state and next state, the policy that planned it, the decision and judging times, the moves
  taken (radios and move features), the network QoE before and after the stage's monitoring
  window, the penalty counts of step_reward.py (channel and power moves, dark client share,
  refused moves), the reward, terminal and the outcome (``StageOutcome``).

Written by the controller's slow loop (history_transitions_recorder.py); read by
history_transitions_export.py to train (`rrm train slow-loop --history DB`).
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from controller.slow_loop.history_transitions_schema import (
    META_TABLE,
    TRANSITION_COLUMNS,
    create_tables,
    meta_problems,
    table_names,
)
from controller.slow_loop.move_features import N_MOVE_FEATURES, N_STATE_FEATURES
from rrm.sqlite_files import StateFileError, open_database, transaction

HISTORY_DB_FILE = "slow_loop_history.db"
FloatArray = npt.NDArray[np.float64]


class HistoryFileError(ValueError):
    """A history database that cannot be used as one; the message names the file and what is wrong."""


class StageOutcome(StrEnum):
    CONTINUED = "continued"  # the plan went on to its next stage
    COMPLETE = "complete"  # the plan's last stage: terminal
    ROLLED_BACK = "rolled_back"  # the stage's window saw the QoE drop that rolled the plan back: terminal


@dataclass(frozen=True, slots=True)
class HistoryState:
    taken_at: float
    radios: int
    features: FloatArray  # (N_STATE_FEATURES,)
    candidates: FloatArray  # (k, N_MOVE_FEATURES)


@dataclass(frozen=True, slots=True)
class StageTransition:
    """One executed stage (module docstring); ``reward`` is step_reward.py's of these figures."""

    plan_id: str
    stage: int
    policy: str
    decided_at: float
    judged_at: float
    moved_radios: tuple[str, ...]
    moves: FloatArray  # (len(moved_radios), N_MOVE_FEATURES)
    qoe_before: float | None
    qoe_after: float
    channel_moves: int
    power_moves: int
    dark_client_share: float
    violations: int
    reward: float
    outcome: StageOutcome

    @property
    def terminal(self) -> bool:
        return self.outcome is not StageOutcome.CONTINUED


class PlanHistory:
    """The history table of one file (module docstring)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @staticmethod
    def open(path: str | Path, *, create: bool = True) -> PlanHistory:
        """The history at ``path``: with ``create`` the controller's (created if new), else read only.

        Raises HistoryFileError naming the file when it is missing (read only), not a SQLite
        database, not a history or one of another format, version or feature set.
        """
        path = Path(path)
        if not create and not path.is_file():
            raise HistoryFileError(f"{path}: no such slow-loop history file")
        try:
            conn = open_database(path) if create else sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        except (StateFileError, sqlite3.Error) as exc:
            raise HistoryFileError(f"{path}: cannot open the slow-loop history: {exc}") from None
        try:
            _check_or_create(conn, path, create)
        except sqlite3.Error as exc:
            conn.close()
            raise HistoryFileError(f"{path}: not a slow-loop history database: {exc}") from None
        except HistoryFileError:
            conn.close()
            raise
        return PlanHistory(conn, path)

    def close(self) -> None:
        self._conn.close()

    def record(self, state: HistoryState | int, next_state: HistoryState | int, stage: StageTransition) -> int:
        """Store a stage (and whichever of its states is not stored yet, given by id); returns the next state's id."""
        with transaction(self._conn):
            state_id = state if isinstance(state, int) else self._add_state(state)
            next_id = next_state if isinstance(next_state, int) else self._add_state(next_state)
            self._conn.execute(
                f"INSERT INTO slow_loop_history_transitions ({TRANSITION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stage.plan_id,
                    stage.stage,
                    stage.policy,
                    stage.decided_at,
                    stage.judged_at,
                    state_id,
                    next_id,
                    json.dumps(list(stage.moved_radios)),
                    len(stage.moved_radios),
                    pack(stage.moves, N_MOVE_FEATURES),
                    stage.qoe_before,
                    stage.qoe_after,
                    stage.channel_moves,
                    stage.power_moves,
                    stage.dark_client_share,
                    stage.violations,
                    stage.reward,
                    int(stage.terminal),
                    stage.outcome.value,
                ),
            )
        return next_id

    def states(self) -> dict[int, HistoryState]:
        rows = self._conn.execute(
            "SELECT state_id, taken_at, radios, features, candidate_count, candidates FROM slow_loop_history_states"
        ).fetchall()
        return {
            int(i): HistoryState(
                float(at),
                int(radios),
                self._unpack(features, 1, N_STATE_FEATURES, f"state {i}").reshape(N_STATE_FEATURES),
                self._unpack(candidates, int(count), N_MOVE_FEATURES, f"state {i}"),
            )
            for i, at, radios, features, count, candidates in rows
        }

    def transitions(self) -> list[tuple[int, int, StageTransition]]:
        """(state id, next state id, stage) of every stage, in decision order."""
        query = f"SELECT {TRANSITION_COLUMNS} FROM slow_loop_history_transitions ORDER BY decided_at, plan_id, stage"
        found = []
        for row in self._conn.execute(query).fetchall():
            plan_id, stage, policy, decided, judged, state_id, next_id, radios, count, moves, *rest = row
            qoe_before, qoe_after, channel, power, dark, violations, reward, _terminal, outcome = rest
            where = f"stage {stage} of {plan_id}"
            try:
                outcome_value = StageOutcome(outcome)
            except ValueError:
                raise HistoryFileError(f"{self.path}: {where}: unknown outcome {outcome!r}") from None
            transition = StageTransition(
                str(plan_id),
                int(stage),
                str(policy),
                float(decided),
                float(judged),
                tuple(json.loads(radios)),
                self._unpack(moves, int(count), N_MOVE_FEATURES, where),
                None if qoe_before is None else float(qoe_before),
                float(qoe_after),
                int(channel),
                int(power),
                float(dark),
                int(violations),
                float(reward),
                outcome_value,
            )
            found.append((int(state_id), int(next_id), transition))
        return found

    def _add_state(self, state: HistoryState) -> int:
        cursor = self._conn.execute(
            "INSERT INTO slow_loop_history_states (taken_at, radios, features, candidate_count, candidates) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                state.taken_at,
                state.radios,
                pack(state.features, N_STATE_FEATURES),
                int(state.candidates.shape[0]),
                pack(state.candidates, N_MOVE_FEATURES),
            ),
        )
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    def _unpack(self, blob: bytes, rows: int, width: int, where: str) -> FloatArray:
        try:
            values = np.frombuffer(zlib.decompress(blob), dtype="<f8")
        except (zlib.error, TypeError) as exc:
            raise HistoryFileError(f"{self.path}: {where}: unreadable features: {exc}") from None
        if values.size != rows * width:
            raise HistoryFileError(f"{self.path}: {where}: {values.size} feature values, expected {rows} x {width}")
        return values.reshape(rows, width).astype(np.float64)


def pack(rows: FloatArray, width: int) -> bytes:
    """Feature rows as the table stores them: little-endian float64, zlib-compressed."""
    values = np.ascontiguousarray(np.asarray(rows, dtype="<f8").reshape(-1, width))
    return zlib.compress(values.tobytes())


def _check_or_create(conn: sqlite3.Connection, path: Path, create: bool) -> None:
    tables = table_names(conn)
    if META_TABLE not in tables:
        if not create or tables:
            what = f"tables {', '.join(sorted(tables))}" if tables else "no tables"
            raise HistoryFileError(f"{path}: not a slow-loop history database ({what}, no {META_TABLE})")
        create_tables(conn)
        return
    problems = meta_problems(conn)
    if problems:
        raise HistoryFileError(
            f"{path}: a slow-loop history this version cannot use: {'; '.join(problems)} "
            "(move the file aside to start a new history)"
        )
