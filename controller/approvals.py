"""Proposals that need an operator's approval, kept in ``controller.db`` until decided (ADR-106).

A proposal whose safe zone requires approval waits here as PENDING. An operator approves or
rejects it (``rrm approvals``, a separate process sharing the file); without a decision within
the window (30 minutes) it is rejected automatically as EXPIRED. The controller's loop executes
APPROVED requests and marks them EXECUTED with the outcome; each request carries who decided, so
the change is audited with its approver. A newer pending proposal for the same radio and
parameters makes the older one SUPERSEDED.

Every state change is one guarded ``UPDATE ... WHERE state = ...``: of two processes deciding the
same request, exactly one wins and the other is told who did. Time is always a parameter.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

DEFAULT_WINDOW_S = 1800.0
"""Seed 004: a pending request is rejected automatically after 30 minutes."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approval_requests (
    request_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    radio_id TEXT NOT NULL,
    ap_id TEXT NOT NULL,
    parameters TEXT NOT NULL,
    current TEXT NOT NULL,
    reason TEXT NOT NULL,
    loop TEXT NOT NULL,
    predicted_gain REAL NOT NULL,
    proposal_json TEXT NOT NULL,
    state TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at REAL,
    comment TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    executed_at REAL,
    expiry_reported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS approval_requests_by_state ON approval_requests (state, created_at);
CREATE INDEX IF NOT EXISTS approval_requests_by_radio ON approval_requests (radio_id, state);
"""

_COLUMNS = (
    "request_id, created_at, expires_at, radio_id, ap_id, parameters, current, reason, loop, "
    "predicted_gain, proposal_json, state, decided_by, decided_at, comment, outcome, executed_at"
)


class ApprovalError(ValueError):
    """A decision or execution that cannot be recorded as asked; the message says why."""


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTED = "executed"
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    request_id: str
    created_at: float
    expires_at: float
    radio_id: str
    ap_id: str
    parameters: Mapping[str, float]
    current: Mapping[str, float]
    reason: str
    loop: str
    predicted_gain: float
    proposal_json: str
    state: ApprovalState
    decided_by: str = ""
    decided_at: float | None = None
    comment: str = ""
    outcome: str = ""
    executed_at: float | None = None


def format_time(t: float) -> str:
    """A unix time as operators read it in messages: ISO 8601, UTC, whole seconds."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry_comment(window_s: float) -> str:
    return f"no decision within the {window_s / 60:g}-minute window"


def _values_json(values: Mapping[str, float]) -> str:
    return json.dumps({name: float(values[name]) for name in sorted(values)})


def _values(text: str) -> Mapping[str, float]:
    return MappingProxyType({str(k): float(v) for k, v in json.loads(text).items()})


def _request(row: tuple[Any, ...]) -> ApprovalRequest:
    """An ApprovalRequest from a row of ``SELECT {_COLUMNS}``."""
    return ApprovalRequest(
        request_id=row[0],
        created_at=float(row[1]),
        expires_at=float(row[2]),
        radio_id=row[3],
        ap_id=row[4],
        parameters=_values(row[5]),
        current=_values(row[6]),
        reason=row[7],
        loop=row[8],
        predicted_gain=float(row[9]),
        proposal_json=row[10],
        state=ApprovalState(row[11]),
        decided_by=row[12],
        decided_at=None if row[13] is None else float(row[13]),
        comment=row[14],
        outcome=row[15],
        executed_at=None if row[16] is None else float(row[16]),
    )


def _refusal(request: ApprovalRequest | None, request_id: str) -> ApprovalError:
    """Why ``request`` cannot be decided now (it was not PENDING, or its window has passed)."""
    if request is None:
        return ApprovalError(f"no approval request {request_id!r}")
    name = f"approval request {request_id}"
    decided = format_time(request.decided_at) if request.decided_at is not None else "?"
    if request.state is ApprovalState.PENDING or request.state is ApprovalState.EXPIRED:
        window = expiry_comment(request.expires_at - request.created_at)
        return ApprovalError(f"{name} expired at {format_time(request.expires_at)}: {window}")
    if request.state is ApprovalState.SUPERSEDED:
        return ApprovalError(f"{name} was {request.comment or 'superseded'} at {decided}")
    verb = "rejected" if request.state is ApprovalState.REJECTED else "approved"
    executed = ", and executed" if request.state is ApprovalState.EXECUTED else ""
    return ApprovalError(f"{name} was already {verb} by {request.decided_by} at {decided}{executed}")


class ApprovalQueue:
    """The approval requests in one database; safe to use from several processes at once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        conn.executescript(_SCHEMA)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken before the first read so no other writer interleaves."""
        if self._conn.in_transaction:  # the caller owns a transaction: join it
            yield self._conn
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def submit(
        self,
        request_id: str,
        *,
        radio_id: str,
        ap_id: str,
        parameters: Mapping[str, float],
        current: Mapping[str, float],
        reason: str,
        loop: str,
        predicted_gain: float,
        proposal_json: str,
        now: float,
        window_s: float = DEFAULT_WINDOW_S,
    ) -> ApprovalRequest:
        """Queue a proposal as PENDING until ``now + window_s``; returns the stored request.

        Submitting an id again returns the stored request unchanged. A new request makes every
        other live PENDING request for the same radio that sets any of the same parameters
        SUPERSEDED (requests already overdue are left for :meth:`expire_overdue`).
        """
        if not parameters:
            raise ApprovalError(f"approval request {request_id}: no parameters to change")
        if window_s <= 0:
            raise ApprovalError(f"approval request {request_id}: the window must be positive, not {window_s:g} s")
        with self._write() as conn:
            inserted = conn.execute(
                f"INSERT OR IGNORE INTO approval_requests ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', NULL, '', '', NULL)",
                (
                    request_id,
                    now,
                    now + window_s,
                    radio_id,
                    ap_id,
                    _values_json(parameters),
                    _values_json(current),
                    reason,
                    loop,
                    predicted_gain,
                    proposal_json,
                    ApprovalState.PENDING.value,
                ),
            ).rowcount
            if inserted:
                self._supersede_older(request_id, radio_id, set(parameters), now)
        stored = self.get(request_id)
        assert stored is not None
        return stored

    def _supersede_older(self, request_id: str, radio_id: str, names: set[str], now: float) -> None:
        rows = self._conn.execute(
            "SELECT request_id, parameters FROM approval_requests "
            "WHERE radio_id = ? AND state = ? AND request_id != ? AND expires_at > ?",
            (radio_id, ApprovalState.PENDING.value, request_id, now),
        ).fetchall()
        for older_id, params in rows:
            if names & set(json.loads(params)):
                self._conn.execute(
                    "UPDATE approval_requests SET state = ?, decided_at = ?, comment = ? "
                    "WHERE request_id = ? AND state = ?",
                    (
                        ApprovalState.SUPERSEDED.value,
                        now,
                        f"superseded by {request_id}",
                        older_id,
                        ApprovalState.PENDING.value,
                    ),
                )

    def _mark_overdue(self, now: float) -> None:
        rows = self._conn.execute(
            "SELECT request_id, expires_at - created_at FROM approval_requests WHERE state = ? AND expires_at <= ?",
            (ApprovalState.PENDING.value, now),
        ).fetchall()
        for request_id, window_s in rows:
            self._conn.execute(
                "UPDATE approval_requests SET state = ?, decided_at = expires_at, comment = ? "
                "WHERE request_id = ? AND state = ?",
                (ApprovalState.EXPIRED.value, expiry_comment(window_s), request_id, ApprovalState.PENDING.value),
            )

    def expire_overdue(self, now: float) -> builtins.list[ApprovalRequest]:
        """Reject automatically every PENDING request whose window has passed; returns them to audit.

        Returns every EXPIRED request no earlier call returned, including ones another process
        (``rrm approvals list``) marked expired, so each automatic rejection is audited once.
        """
        with self._write() as conn:
            self._mark_overdue(now)
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM approval_requests WHERE state = ? AND expiry_reported = 0 "
                "ORDER BY expires_at, rowid",
                (ApprovalState.EXPIRED.value,),
            ).fetchall()
            conn.execute(
                "UPDATE approval_requests SET expiry_reported = 1 WHERE state = ? AND expiry_reported = 0",
                (ApprovalState.EXPIRED.value,),
            )
        return [_request(r) for r in rows]

    def pending(self, now: float) -> builtins.list[ApprovalRequest]:
        """The requests awaiting a decision, oldest first; overdue ones are marked EXPIRED first.

        The expired ones are not returned here: :meth:`expire_overdue` hands them out for audit.
        """
        with self._write():
            self._mark_overdue(now)
        return self._select("WHERE state = ? ORDER BY created_at, rowid", (ApprovalState.PENDING.value,))

    def get(self, request_id: str) -> ApprovalRequest | None:
        found = self._select("WHERE request_id = ?", (request_id,))
        return found[0] if found else None

    def approve(self, request_id: str, operator: str, comment: str, now: float) -> ApprovalRequest:
        """Record an operator's approval; the controller executes it later (:meth:`approved_to_execute`)."""
        return self._decide(request_id, ApprovalState.APPROVED, operator, comment, now)

    def reject(self, request_id: str, operator: str, comment: str, now: float) -> ApprovalRequest:
        """Record an operator's rejection; ``comment`` (the reason) is required."""
        if not comment.strip():
            raise ApprovalError(f"approval request {request_id}: a reason is required to reject it")
        return self._decide(request_id, ApprovalState.REJECTED, operator, comment, now)

    def _decide(
        self, request_id: str, state: ApprovalState, operator: str, comment: str, now: float
    ) -> ApprovalRequest:
        if not operator.strip():
            raise ApprovalError(f"approval request {request_id}: an operator identity is required to decide it")
        decided = self._conn.execute(
            "UPDATE approval_requests SET state = ?, decided_by = ?, decided_at = ?, comment = ? "
            "WHERE request_id = ? AND state = ? AND expires_at > ?",
            (state.value, operator.strip(), now, comment, request_id, ApprovalState.PENDING.value, now),
        ).rowcount
        request = self.get(request_id)
        if not decided:
            raise _refusal(request, request_id)
        assert request is not None
        return request

    def approved_to_execute(self) -> builtins.list[ApprovalRequest]:
        """APPROVED requests not yet executed, oldest proposal first (so newer values land last)."""
        return self._select("WHERE state = ? ORDER BY created_at, rowid", (ApprovalState.APPROVED.value,))

    def mark_executed(self, request_id: str, outcome: str, now: float) -> ApprovalRequest:
        """Record that an APPROVED request was executed; marking it again returns it unchanged."""
        done = self._conn.execute(
            "UPDATE approval_requests SET state = ?, outcome = ?, executed_at = ? WHERE request_id = ? AND state = ?",
            (ApprovalState.EXECUTED.value, outcome, now, request_id, ApprovalState.APPROVED.value),
        ).rowcount
        request = self.get(request_id)
        if request is None:
            raise ApprovalError(f"no approval request {request_id!r}")
        if not done and request.state is not ApprovalState.EXECUTED:
            raise ApprovalError(f"approval request {request_id} is {request.state.value}, not approved: not executed")
        return request

    def list(self, state: ApprovalState | None = None, limit: int = 100) -> builtins.list[ApprovalRequest]:
        """Requests newest first, all of them or those in ``state``; no state is changed."""
        if state is None:
            return self._select("ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,))
        return self._select("WHERE state = ? ORDER BY created_at DESC, rowid DESC LIMIT ?", (state.value, limit))

    def _select(self, where: str, args: tuple[object, ...]) -> builtins.list[ApprovalRequest]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM approval_requests {where}", args).fetchall()
        return [_request(r) for r in rows]
