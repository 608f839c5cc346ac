"""Every change the controller considered, what the guardrails said, and what became of it.

One row per proposal in ``controller.db``: the proposal (radio, parameters, loop, reason, predicted
gain, inputs), the verdict with every violated rule, the approval (who, when, comment), the
command sent, the agent's report (applied, refused, failed), the monitoring outcome (kept or
rolled back, and by which trigger), and the rollback token. It is what ``rrm explain CHANGE_ID``
prints and what ``rrm rollback --last N --ap AP`` chooses from; the signed audit trail holds the
same decisions as tamper-evident records.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    change_id TEXT PRIMARY KEY,
    radio_id TEXT NOT NULL,
    ap_id TEXT NOT NULL,
    loop TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    proposed_at REAL NOT NULL,
    state TEXT NOT NULL,
    updated_at REAL NOT NULL,
    applied_at REAL,
    rollback_token_id TEXT NOT NULL DEFAULT '',
    story TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_ap ON changes (ap_id, applied_at);
CREATE INDEX IF NOT EXISTS changes_state ON changes (state);
"""


class ChangeState(StrEnum):
    REFUSED = "refused"  # a guardrail said no
    SHADOW = "shadow"  # would have been sent; shadow mode
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"  # by an operator, or no decision within the window
    SENT = "sent"  # the command is on its way to the agent
    APPLIED = "applied"  # the agent applied it; being watched
    ROLLING_BACK = "rolling_back"  # a trigger fired or an operator asked; the rollback is on its way
    FAILED = "failed"  # the agent refused it or the radio failed
    KEPT = "kept"  # every rollback trigger's window passed
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True, slots=True)
class ChangeEntry:
    change_id: str
    radio_id: str
    ap_id: str
    loop: str
    plan_id: str
    proposed_at: float
    state: ChangeState
    updated_at: float
    applied_at: float | None
    rollback_token_id: str
    story: Mapping[str, Any]  # the proposal, verdict, approval, outcome: what `rrm explain` prints


class ChangeLedger:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)

    def record(
        self,
        change_id: str,
        radio_id: str,
        ap_id: str,
        loop: str,
        plan_id: str,
        state: ChangeState,
        now: float,
        story: Mapping[str, Any],
    ) -> None:
        """A new proposal and what the guardrails made of it (idempotent on the change id)."""
        self._conn.execute(
            "INSERT OR IGNORE INTO changes (change_id, radio_id, ap_id, loop, plan_id, proposed_at, state, updated_at,"
            " story) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (change_id, radio_id, ap_id, loop, plan_id, now, state.value, now, json.dumps(story, default=str)),
        )

    def advance(
        self,
        change_id: str,
        state: ChangeState,
        now: float,
        chapter: str,
        facts: Mapping[str, Any],
        *,
        applied_at: float | None = None,
        rollback_token_id: str = "",
    ) -> ChangeEntry | None:
        """Move a change on, adding a chapter to its story; None for an unknown change id."""
        entry = self.get(change_id)
        if entry is None:
            return None
        story = dict(entry.story)
        story.setdefault("history", []).append({"at": now, "state": state.value, "chapter": chapter, **facts})
        self._conn.execute(
            "UPDATE changes SET state = ?, updated_at = ?, story = ?, applied_at = COALESCE(?, applied_at),"
            " rollback_token_id = CASE WHEN ? = '' THEN rollback_token_id ELSE ? END WHERE change_id = ?",
            (
                state.value,
                now,
                json.dumps(story, default=str),
                applied_at,
                rollback_token_id,
                rollback_token_id,
                change_id,
            ),
        )
        return self.get(change_id)

    def replace_story(self, change_id: str, story: Mapping[str, Any]) -> None:
        """Keep bookkeeping in the story without a new chapter (e.g. which triggers were judged)."""
        self._conn.execute(
            "UPDATE changes SET story = ? WHERE change_id = ?", (json.dumps(story, default=str), change_id)
        )

    def get(self, change_id: str) -> ChangeEntry | None:
        row = self._conn.execute(
            "SELECT change_id, radio_id, ap_id, loop, plan_id, proposed_at, state, updated_at, applied_at,"
            " rollback_token_id, story FROM changes WHERE change_id = ?",
            (change_id,),
        ).fetchone()
        return _entry(row) if row else None

    def in_state(self, *states: ChangeState) -> list[ChangeEntry]:
        marks = ",".join("?" for _ in states)
        rows = self._conn.execute(
            "SELECT change_id, radio_id, ap_id, loop, plan_id, proposed_at, state, updated_at, applied_at,"
            f" rollback_token_id, story FROM changes WHERE state IN ({marks}) ORDER BY proposed_at",
            [s.value for s in states],
        ).fetchall()
        return [_entry(r) for r in rows]

    def latest_applied(self, ap_id: str, count: int) -> list[ChangeEntry]:
        """The AP's latest changes that reached its radios and were not rolled back, newest first."""
        rows = self._conn.execute(
            "SELECT change_id, radio_id, ap_id, loop, plan_id, proposed_at, state, updated_at, applied_at,"
            " rollback_token_id, story FROM changes WHERE ap_id = ? AND state IN ('applied', 'kept')"
            " ORDER BY applied_at DESC LIMIT ?",
            (ap_id, count),
        ).fetchall()
        return [_entry(r) for r in rows]

    def by_token(self, token_id: str) -> ChangeEntry | None:
        row = self._conn.execute(
            "SELECT change_id, radio_id, ap_id, loop, plan_id, proposed_at, state, updated_at, applied_at,"
            " rollback_token_id, story FROM changes WHERE rollback_token_id = ?",
            (token_id,),
        ).fetchone()
        return _entry(row) if row else None


def _entry(row: tuple[Any, ...]) -> ChangeEntry:
    return ChangeEntry(
        change_id=str(row[0]),
        radio_id=str(row[1]),
        ap_id=str(row[2]),
        loop=str(row[3]),
        plan_id=str(row[4]),
        proposed_at=float(row[5]),
        state=ChangeState(row[6]),
        updated_at=float(row[7]),
        applied_at=None if row[8] is None else float(row[8]),
        rollback_token_id=str(row[9]),
        story=json.loads(row[10]),
    )
