"""The layout of the slow-loop history file (history_transitions.py): its tables and the meta naming its features."""

from __future__ import annotations

import json
import sqlite3

from controller.slow_loop.move_features import MOVE_FEATURES, STATE_FEATURES
from rrm.sqlite_files import transaction

FORMAT = "rrm-slow-loop-history"
VERSION = 1
META_TABLE = "slow_loop_history_meta"

SCHEMA = """
CREATE TABLE IF NOT EXISTS slow_loop_history_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS slow_loop_history_states (
    state_id INTEGER PRIMARY KEY, taken_at REAL NOT NULL, radios INTEGER NOT NULL,
    features BLOB NOT NULL, candidate_count INTEGER NOT NULL, candidates BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS slow_loop_history_transitions (
    plan_id TEXT NOT NULL, stage INTEGER NOT NULL, policy TEXT NOT NULL,
    decided_at REAL NOT NULL, judged_at REAL NOT NULL,
    state_id INTEGER NOT NULL REFERENCES slow_loop_history_states (state_id),
    next_state_id INTEGER NOT NULL REFERENCES slow_loop_history_states (state_id),
    moved_radios TEXT NOT NULL, move_count INTEGER NOT NULL, moves BLOB NOT NULL,
    qoe_before REAL, qoe_after REAL NOT NULL, channel_moves INTEGER NOT NULL, power_moves INTEGER NOT NULL,
    dark_client_share REAL NOT NULL, violations INTEGER NOT NULL, reward REAL NOT NULL,
    terminal INTEGER NOT NULL, outcome TEXT NOT NULL,
    PRIMARY KEY (plan_id, stage)
);
"""
TRANSITION_COLUMNS = (
    "plan_id, stage, policy, decided_at, judged_at, state_id, next_state_id, moved_radios, move_count, moves, "
    "qoe_before, qoe_after, channel_moves, power_moves, dark_client_share, violations, reward, terminal, outcome"
)


def expected_meta() -> dict[str, str]:
    """What this version writes in the meta table, and reads only when it finds it unchanged."""
    return {
        "format": FORMAT,
        "version": str(VERSION),
        "state_features": json.dumps(list(STATE_FEATURES)),
        "move_features": json.dumps(list(MOVE_FEATURES)),
    }


def table_names(conn: sqlite3.Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def create_tables(conn: sqlite3.Connection) -> None:
    """The tables and this version's meta, in one transaction (a new, empty file)."""
    with transaction(conn):  # executescript would commit on its own: one statement at a time
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.executemany(f"INSERT INTO {META_TABLE} VALUES (?, ?)", sorted(expected_meta().items()))


def meta_problems(conn: sqlite3.Connection) -> list[str]:
    """How the file's meta differs from ``expected_meta`` (nothing: the file is this version's)."""
    found = dict(conn.execute(f"SELECT key, value FROM {META_TABLE}").fetchall())
    return [
        f"{key} is {found.get(key)!r}, this version writes {value!r}"
        for key, value in expected_meta().items()
        if found.get(key) != value
    ]
