"""Persistence of the fast loop across controller restarts: observations, learned state, change times.

SQLite, on a connection the caller owns (the controller's state database or a file of its own).
Three tables:

- ``fast_loop_observations``: every observation of every radio, append-only, one row each;
- ``fast_loop_state``: per radio, ``LearningState`` as JSON (trust radius, counts, the last fitted
  hyperparameters, the pending change): a handful of numbers, never a pickled model;
- ``fast_loop_changes``: when each AP's radios were changed, for the rolling daily budget;
- ``fast_loop_plan`` and ``fast_loop_serial``: the change planner's per-radio state (the watched
  change, due time, window start) and its change-id serial (planner_state.py).

A warm start (``load_optimizer``) reads the newest ``history_rows`` observations of the radio,
rebuilds the window from them and reuses the stored hyperparameters, so a restart does not refit
every GP; the model itself is rebuilt from the observations on the first ``decide``. The decisions
of the restored optimiser equal those of the one that was saved (tested).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from controller.fast_loop.exploration import DAY_S, ChangeBudget
from controller.fast_loop.history import LearningState, Observation
from controller.fast_loop.optimizer import FastLoopOptimizer, OptimizerSettings
from controller.fast_loop.planner_state import RadioPlanState
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fast_loop_observations (
    radio_id TEXT NOT NULL, ts_s REAL NOT NULL, channel INTEGER NOT NULL, width_mhz INTEGER NOT NULL,
    tx_power_dbm REAL NOT NULL, obss_pd_dbm INTEGER NOT NULL, load REAL NOT NULL, reward REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS fast_loop_observations_radio ON fast_loop_observations (radio_id, ts_s);
CREATE TABLE IF NOT EXISTS fast_loop_state (radio_id TEXT PRIMARY KEY, state_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fast_loop_changes (ap_id TEXT NOT NULL, radio_id TEXT NOT NULL, ts_s REAL NOT NULL);
CREATE INDEX IF NOT EXISTS fast_loop_changes_ap ON fast_loop_changes (ap_id, ts_s);
CREATE TABLE IF NOT EXISTS fast_loop_plan (radio_id TEXT PRIMARY KEY, state_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fast_loop_serial (site TEXT PRIMARY KEY, serial INTEGER NOT NULL);
"""


class FastLoopStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)

    @staticmethod
    def open(path: Path) -> FastLoopStore:
        return FastLoopStore(sqlite3.connect(path))

    def close(self) -> None:
        self._conn.close()

    def append(self, radio_id: str, obs: Observation) -> None:
        c = obs.config
        with self._conn:
            self._conn.execute(
                "INSERT INTO fast_loop_observations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (radio_id, obs.ts_s, c.channel, c.width_mhz, c.tx_power_dbm, c.obss_pd_dbm, obs.load, obs.reward),
            )

    def observations(self, radio_id: str, limit: int) -> list[Observation]:
        """The newest ``limit`` observations of the radio, oldest first."""
        rows = self._conn.execute(
            "SELECT ts_s, channel, width_mhz, tx_power_dbm, obss_pd_dbm, load, reward FROM fast_loop_observations "
            "WHERE radio_id = ? ORDER BY ts_s DESC, rowid DESC LIMIT ?",
            (radio_id, limit),
        ).fetchall()
        return [
            Observation(float(ts), RadioConfig(int(ch), int(w), float(p), int(o)), float(load), float(reward))
            for ts, ch, w, p, o, load, reward in reversed(rows)
        ]

    def save_state(self, radio_id: str, state: LearningState) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO fast_loop_state VALUES (?, ?)",
                (radio_id, json.dumps(state.to_json(), sort_keys=True)),
            )

    def load_state(self, radio_id: str) -> LearningState | None:
        row = self._conn.execute("SELECT state_json FROM fast_loop_state WHERE radio_id = ?", (radio_id,)).fetchone()
        return None if row is None else LearningState.from_json(json.loads(row[0]))

    def save_plan(self, radio_id: str, state: RadioPlanState) -> None:
        """The planner's state of one radio (planner_state.py: due time, window, watched change)."""
        with self._conn:
            self._conn.execute(
                "INSERT OR REPLACE INTO fast_loop_plan VALUES (?, ?)",
                (radio_id, json.dumps(state.to_json(), sort_keys=True)),
            )

    def load_plan(self, radio_id: str) -> RadioPlanState | None:
        row = self._conn.execute("SELECT state_json FROM fast_loop_plan WHERE radio_id = ?", (radio_id,)).fetchone()
        return None if row is None else RadioPlanState.from_json(json.loads(row[0]))

    def save_serial(self, site: str, serial: int) -> None:
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO fast_loop_serial VALUES (?, ?)", (site, serial))

    def load_serial(self, site: str) -> int:
        row = self._conn.execute("SELECT serial FROM fast_loop_serial WHERE site = ?", (site,)).fetchone()
        return 0 if row is None else int(row[0])

    def record_change(self, ap_id: str, radio_id: str, ts_s: float) -> None:
        with self._conn:
            self._conn.execute("INSERT INTO fast_loop_changes VALUES (?, ?, ?)", (ap_id, radio_id, ts_s))

    def load_budget(self, ap_id: str, now_s: float, max_per_day: int) -> ChangeBudget:
        """The AP's budget with the changes of the last 24 h before ``now_s``."""
        rows = self._conn.execute(
            "SELECT ts_s FROM fast_loop_changes WHERE ap_id = ? AND ts_s > ? AND ts_s <= ?",
            (ap_id, now_s - DAY_S, now_s),
        ).fetchall()
        return ChangeBudget(max_per_day, (float(ts) for (ts,) in rows))

    def load_optimizer(
        self,
        radio_id: str,
        region: Region,
        band: Band,
        *,
        seed: int,
        settings: OptimizerSettings | None = None,
        budget: ChangeBudget | None = None,
        history_rows: int = 2000,
    ) -> FastLoopOptimizer:
        """Warm start: the radio's optimiser rebuilt from its stored observations and state."""
        return FastLoopOptimizer(
            radio_id,
            region,
            band,
            seed=seed,
            settings=settings,
            budget=budget,
            observations=self.observations(radio_id, history_rows),
            state=self.load_state(radio_id),
        )
