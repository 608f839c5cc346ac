"""What an operator asks of a running controller from another process (`rrm change`, `rrm rollback`).

The CLI and the controller share ``controller.db`` (SQLite in WAL mode): the CLI writes a request,
the controller's pipeline takes pending requests on its next tick, carries each out through the
same guardrails, approvals and audit as the loops' proposals, and writes the result, which the
CLI waits for. A request is taken once (``UPDATE ... WHERE state = 'pending'``), so two
controllers on one database, or a restart, never carry it out twice.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS operator_requests (
    request_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    arguments TEXT NOT NULL,
    operator TEXT NOT NULL,
    created_at REAL NOT NULL,
    state TEXT NOT NULL,
    result TEXT NOT NULL DEFAULT '{}',
    done_at REAL
);
"""


class RequestKind(StrEnum):
    CHANGE = "change"  # {"radio_id", "parameters": {...}, "reason", "dry_run"}
    ROLLBACK_TOKEN = "rollback_token"  # {"token_id", "reason"}
    ROLLBACK_LAST = "rollback_last"  # {"ap_id", "count", "reason"}
    PLAN = "plan"  # {"site", "dry_run", "reason"}: the scheduler's slow loop (controller/scheduler_shim.py)


class RequestState(StrEnum):
    PENDING = "pending"
    TAKEN = "taken"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OperatorRequest:
    request_id: str
    kind: RequestKind
    arguments: Mapping[str, Any]
    operator: str
    created_at: float
    state: RequestState
    result: Mapping[str, Any]
    done_at: float | None


class OperatorRequests:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)

    def submit(self, kind: RequestKind, arguments: Mapping[str, Any], operator: str, now: float) -> str:
        if not operator.strip():
            raise ValueError("an operator request needs the operator's name (--operator)")
        request_id = uuid.uuid4().hex
        self._conn.execute(
            "INSERT INTO operator_requests (request_id, kind, arguments, operator, created_at, state)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (request_id, kind.value, json.dumps(arguments), operator, now, RequestState.PENDING.value),
        )
        return request_id

    def take_pending(self, kinds: Collection[RequestKind] | None = None) -> list[OperatorRequest]:
        """Pending requests (of ``kinds`` when given), oldest first, each marked taken so no one else takes it."""
        taken = []
        wanted = [k.value for k in (kinds if kinds is not None else RequestKind)]
        marks = ", ".join("?" for _ in wanted)
        for row in self._conn.execute(
            f"SELECT request_id FROM operator_requests WHERE state = ? AND kind IN ({marks}) ORDER BY created_at",
            (RequestState.PENDING.value, *wanted),
        ).fetchall():
            claimed = self._conn.execute(
                "UPDATE operator_requests SET state = ? WHERE request_id = ? AND state = ?",
                (RequestState.TAKEN.value, row[0], RequestState.PENDING.value),
            ).rowcount
            if claimed and (request := self.get(str(row[0]))) is not None:
                taken.append(request)
        return taken

    def finish(self, request_id: str, ok: bool, result: Mapping[str, Any], now: float) -> None:
        state = RequestState.DONE if ok else RequestState.FAILED
        self._conn.execute(
            "UPDATE operator_requests SET state = ?, result = ?, done_at = ? WHERE request_id = ?",
            (state.value, json.dumps(result, default=str), now, request_id),
        )

    def get(self, request_id: str) -> OperatorRequest | None:
        row = self._conn.execute(
            "SELECT request_id, kind, arguments, operator, created_at, state, result, done_at"
            " FROM operator_requests WHERE request_id = ?",
            (request_id,),
        ).fetchone()
        if row is None:
            return None
        return OperatorRequest(
            str(row[0]),
            RequestKind(row[1]),
            json.loads(row[2]),
            str(row[3]),
            float(row[4]),
            RequestState(row[5]),
            json.loads(row[6]),
            None if row[7] is None else float(row[7]),
        )
