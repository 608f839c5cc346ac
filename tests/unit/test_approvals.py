"""The approval queue on virtual time: decisions, the 30-minute window, supersede, two processes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from controller.approvals import ApprovalError, ApprovalQueue, ApprovalRequest, ApprovalState
from rrm.sqlite_files import open_database

pytestmark = pytest.mark.unit

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
WINDOW_S = 1800.0


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "controller.db"


@pytest.fixture
def conn(db_path: Path) -> Iterator[sqlite3.Connection]:
    connection = open_database(db_path)
    yield connection
    connection.close()


@pytest.fixture
def queue(conn: sqlite3.Connection) -> ApprovalQueue:
    return ApprovalQueue(conn)


def submit(
    queue: ApprovalQueue,
    request_id: str,
    now: float = T0,
    *,
    radio_id: str = "ap-1/5g",
    parameters: Mapping[str, float] | None = None,
) -> ApprovalRequest:
    params = {"tx_power_dbm": 14.0} if parameters is None else parameters
    return queue.submit(
        request_id,
        radio_id=radio_id,
        ap_id=radio_id.partition("/")[0],
        parameters=params,
        current=dict.fromkeys(params, 20.0),
        reason="co-channel interference from ap-2",
        loop="SLOW",
        predicted_gain=0.04,
        proposal_json=json.dumps({"change_id": request_id, "parameters": dict(params)}),
        now=now,
    )


def test_a_submitted_request_waits_pending_with_the_proposal_as_given(queue: ApprovalQueue) -> None:
    """A new request is PENDING for 30 minutes and keeps every field the proposer gave."""
    request = submit(queue, "c1")
    assert request.state is ApprovalState.PENDING
    assert (request.created_at, request.expires_at) == (T0, T0 + WINDOW_S)
    assert dict(request.parameters) == {"tx_power_dbm": 14.0}
    assert dict(request.current) == {"tx_power_dbm": 20.0}
    assert (request.radio_id, request.ap_id, request.loop) == ("ap-1/5g", "ap-1", "SLOW")
    assert json.loads(request.proposal_json)["change_id"] == "c1"
    assert queue.pending(T0 + 60) == [request]
    assert queue.get("c1") == request
    assert queue.get("nope") is None


def test_submitting_the_same_id_again_changes_nothing(queue: ApprovalQueue) -> None:
    """Submit is idempotent on the change id: a resend neither duplicates nor supersedes."""
    first = submit(queue, "c1")
    again = submit(queue, "c1", now=T0 + 300, parameters={"tx_power_dbm": 11.0})
    assert again == first
    assert [r.request_id for r in queue.list()] == ["c1"]


def test_approve_records_the_operator_and_hands_the_change_to_the_controller(queue: ApprovalQueue) -> None:
    """An approved request carries who approved, when and why, and is offered for execution."""
    submit(queue, "c1")
    approved = queue.approve("c1", "alice", "checked the floor plan", T0 + 120)
    assert approved.state is ApprovalState.APPROVED
    assert (approved.decided_by, approved.decided_at, approved.comment) == ("alice", T0 + 120, "checked the floor plan")
    assert queue.pending(T0 + 130) == []
    assert queue.approved_to_execute() == [approved]
    executed = queue.mark_executed("c1", "applied by ap-1", T0 + 140)
    assert (executed.state, executed.outcome, executed.executed_at) == (
        ApprovalState.EXECUTED,
        "applied by ap-1",
        T0 + 140,
    )
    assert executed.decided_by == "alice"
    assert queue.approved_to_execute() == []
    assert queue.mark_executed("c1", "applied twice?", T0 + 150) == executed


def test_reject_needs_a_reason_and_is_never_executed(queue: ApprovalQueue) -> None:
    """A rejection records the operator and reason; a blank reason is refused."""
    submit(queue, "c1")
    with pytest.raises(ApprovalError, match="a reason is required"):
        queue.reject("c1", "bob", "  ", T0 + 60)
    rejected = queue.reject("c1", "bob", "maintenance window tonight", T0 + 60)
    assert (rejected.state, rejected.decided_by, rejected.comment) == (
        ApprovalState.REJECTED,
        "bob",
        "maintenance window tonight",
    )
    assert queue.approved_to_execute() == []
    with pytest.raises(ApprovalError, match="is rejected, not approved"):
        queue.mark_executed("c1", "applied", T0 + 70)


def test_an_operator_identity_is_required(queue: ApprovalQueue) -> None:
    """Approving or rejecting without saying who is refused, and the request stays pending."""
    submit(queue, "c1")
    with pytest.raises(ApprovalError, match="an operator identity is required"):
        queue.approve("c1", " ", "", T0 + 60)
    with pytest.raises(ApprovalError, match="an operator identity is required"):
        queue.reject("c1", "", "no", T0 + 60)
    assert [r.request_id for r in queue.pending(T0 + 60)] == ["c1"]


def test_unknown_ids_are_named(queue: ApprovalQueue) -> None:
    """Deciding or executing an id nobody submitted says so."""
    with pytest.raises(ApprovalError, match="no approval request 'ghost'"):
        queue.approve("ghost", "alice", "", T0)
    with pytest.raises(ApprovalError, match="no approval request 'ghost'"):
        queue.mark_executed("ghost", "applied", T0)


def test_no_decision_in_30_minutes_is_an_automatic_rejection(queue: ApprovalQueue) -> None:
    """At the end of the window the request is EXPIRED, handed out once for audit, and not pending."""
    submit(queue, "c1")
    submit(queue, "c2", now=T0 + 600, radio_id="ap-2/5g")
    assert queue.expire_overdue(T0 + WINDOW_S - 1) == []
    expired = queue.expire_overdue(T0 + WINDOW_S)
    assert [r.request_id for r in expired] == ["c1"]
    assert expired[0].state is ApprovalState.EXPIRED
    assert expired[0].comment == "no decision within the 30-minute window"
    assert expired[0].decided_at == T0 + WINDOW_S
    assert expired[0].decided_by == ""
    assert queue.expire_overdue(T0 + WINDOW_S + 1) == []
    assert [r.request_id for r in queue.pending(T0 + WINDOW_S + 1)] == ["c2"]


def test_approving_after_the_window_fails_naming_the_expiry(queue: ApprovalQueue) -> None:
    """A late approval is refused with the expiry time, whether or not the expiry was recorded yet."""
    submit(queue, "c1")
    submit(queue, "c2", radio_id="ap-2/5g")
    message = "approval request c1 expired at 2026-01-01T00:30:00Z: no decision within the 30-minute window"
    with pytest.raises(ApprovalError, match=message):
        queue.approve("c1", "alice", "", T0 + WINDOW_S)  # still stored as pending: the window decides
    late = queue.get("c1")
    assert late is not None and late.state is ApprovalState.PENDING  # expire_overdue records it, for audit
    queue.expire_overdue(T0 + WINDOW_S + 5)
    with pytest.raises(ApprovalError, match="approval request c2 expired at 2026-01-01T00:30:00Z"):
        queue.reject("c2", "alice", "too late anyway", T0 + WINDOW_S + 10)


def test_expiries_noticed_by_another_process_are_still_handed_out_for_audit(db_path: Path) -> None:
    """The CLI's listing may mark a request EXPIRED first; the controller still gets it to audit."""
    controller_conn, cli_conn = open_database(db_path), open_database(db_path)
    try:
        controller, cli = ApprovalQueue(controller_conn), ApprovalQueue(cli_conn)
        submit(controller, "c1")
        assert cli.pending(T0 + WINDOW_S + 1) == []
        assert cli.list(ApprovalState.EXPIRED)[0].request_id == "c1"
        assert [r.request_id for r in controller.expire_overdue(T0 + WINDOW_S + 2)] == ["c1"]
        assert controller.expire_overdue(T0 + WINDOW_S + 3) == []
    finally:
        controller_conn.close()
        cli_conn.close()


def test_a_newer_proposal_for_the_same_radio_and_parameter_supersedes_the_pending_one(queue: ApprovalQueue) -> None:
    """Only live pending requests on the same radio touching a common parameter are superseded."""
    submit(queue, "old", parameters={"tx_power_dbm": 14.0, "channel": 40.0})
    submit(queue, "other-radio", radio_id="ap-2/5g")
    submit(queue, "other-param", parameters={"width_mhz": 40.0})
    submit(queue, "new", now=T0 + 300, parameters={"tx_power_dbm": 12.0})
    old = queue.get("old")
    assert old is not None
    assert (old.state, old.comment, old.decided_at) == (ApprovalState.SUPERSEDED, "superseded by new", T0 + 300)
    assert {r.request_id for r in queue.pending(T0 + 301)} == {"other-radio", "other-param", "new"}
    with pytest.raises(ApprovalError, match="approval request old was superseded by new at 2026-01-01T00:05:00Z"):
        queue.approve("old", "alice", "", T0 + 310)


def test_an_approved_request_is_not_superseded(queue: ApprovalQueue) -> None:
    """An operator's decision stands; both approved changes execute, oldest proposal first."""
    submit(queue, "first")
    queue.approve("first", "alice", "", T0 + 10)
    submit(queue, "second", now=T0 + 20, parameters={"tx_power_dbm": 12.0})
    queue.approve("second", "alice", "", T0 + 30)
    assert [r.request_id for r in queue.approved_to_execute()] == ["first", "second"]


def test_a_second_decision_is_refused_naming_who_decided_first(queue: ApprovalQueue) -> None:
    """Once decided, a request cannot be decided again; the message names the first decider."""
    submit(queue, "c1")
    queue.approve("c1", "alice", "ok", T0 + 60)
    with pytest.raises(ApprovalError, match="c1 was already approved by alice at 2026-01-01T00:01:00Z"):
        queue.reject("c1", "bob", "no", T0 + 90)
    submit(queue, "c2", radio_id="ap-2/5g")
    queue.reject("c2", "bob", "no", T0 + 120)
    with pytest.raises(ApprovalError, match="c2 was already rejected by bob at 2026-01-01T00:02:00Z"):
        queue.approve("c2", "alice", "", T0 + 130)
    first = queue.get("c1")
    assert first is not None and first.state is ApprovalState.APPROVED


def test_two_processes_deciding_at_once_only_one_wins(db_path: Path) -> None:
    """Two queues on two connections to one file: the second approval fails, the first stands."""
    conn_a, conn_b = open_database(db_path), open_database(db_path)
    try:
        a, b = ApprovalQueue(conn_a), ApprovalQueue(conn_b)
        submit(a, "c1")
        seen_by_b = b.get("c1")
        assert seen_by_b is not None and seen_by_b.state is ApprovalState.PENDING
        a.approve("c1", "alice", "", T0 + 60)
        with pytest.raises(ApprovalError, match="already approved by alice"):
            b.approve("c1", "bob", "", T0 + 61)
        decided = b.get("c1")
        assert decided is not None and decided.decided_by == "alice"
    finally:
        conn_a.close()
        conn_b.close()


def test_list_filters_by_state_newest_first(queue: ApprovalQueue) -> None:
    """The listing is newest first, optionally one state, bounded by the limit."""
    for i in range(3):
        submit(queue, f"c{i}", now=T0 + i, radio_id=f"ap-{i}/5g")
    queue.reject("c1", "bob", "no", T0 + 10)
    assert [r.request_id for r in queue.list()] == ["c2", "c1", "c0"]
    assert [r.request_id for r in queue.list(ApprovalState.PENDING)] == ["c2", "c0"]
    assert [r.request_id for r in queue.list(limit=1)] == ["c2"]
