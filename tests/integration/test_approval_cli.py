"""`rrm approvals` against a real controller database, as an operator runs it beside the controller."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.approvals import ApprovalQueue, ApprovalState
from rrm.cli.main import main
from rrm.sqlite_files import open_database

pytestmark = pytest.mark.integration


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A state dir as `rrm controller --state-dir DIR` leaves it: DIR/controller.db."""
    return tmp_path / "state"


@pytest.fixture
def controller_db(state_dir: Path) -> Iterator[sqlite3.Connection]:
    conn = open_database(state_dir / "controller.db")
    yield conn
    conn.close()


@pytest.fixture
def queue(controller_db: sqlite3.Connection) -> ApprovalQueue:
    return ApprovalQueue(controller_db)


def propose(queue: ApprovalQueue, request_id: str, radio_id: str = "ap-1/5g", age_s: float = 120.0) -> None:
    queue.submit(
        request_id,
        radio_id=radio_id,
        ap_id=radio_id.partition("/")[0],
        parameters={"tx_power_dbm": 14.0},
        current={"tx_power_dbm": 20.0},
        reason="co-channel interference from ap-2",
        loop="SLOW",
        predicted_gain=0.04,
        proposal_json=json.dumps({"change_id": request_id, "parameters": {"tx_power_dbm": 14}}),
        now=time.time() - age_s,
    )


def rrm(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_what_is_pending(queue: ApprovalQueue, state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The default listing is the pending requests, one row each: id, age, radio, change, reason."""
    propose(queue, "c1")
    propose(queue, "c2", radio_id="ap-2/5g")
    queue.reject("c2", "bob", "not now", time.time())
    code, out, err = rrm(capsys, "approvals", "list", "--state-dir", str(state_dir))
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == ["ID", "AGE", "RADIO", "CHANGE", "REASON", "STATE"]
    assert len(rows) == 1
    assert rows[0].startswith("c1  ")
    assert "ap-1/5g" in rows[0] and "tx_power_dbm 20 -> 14" in rows[0] and rows[0].endswith("pending")
    assert " 2m0" in rows[0]
    code, out, _ = rrm(capsys, "approvals", "list", "--state-dir", str(state_dir), "--all")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["c2", "c1"]
    code, out, _ = rrm(capsys, "approvals", "list", "--state-dir", str(state_dir), "--state", "rejected")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["c2"]


def test_approve_records_the_operator_for_the_controller(
    queue: ApprovalQueue, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An approval from the CLI is what the controller's queue offers for execution, with the approver."""
    propose(queue, "c1")
    code, out, err = rrm(
        capsys, "approvals", "approve", "c1", "--state-dir", str(state_dir), "--operator", "alice", "--comment", "ok"
    )
    assert (code, err) == (0, "")
    assert out.startswith("approved c1 (ap-1/5g: tx_power_dbm 20 -> 14) as alice")
    [approved] = queue.approved_to_execute()
    assert (approved.request_id, approved.decided_by, approved.comment) == ("c1", "alice", "ok")
    code, out, err = rrm(
        capsys, "approvals", "reject", "c1", "--state-dir", str(state_dir), "--operator", "bob", "--comment", "no"
    )
    assert code == 2 and out == ""
    assert err.startswith("rrm approvals: error: approval request c1 was already approved by alice at ")
    assert len(err.strip().splitlines()) == 1


def test_reject_needs_an_operator_and_a_reason(
    queue: ApprovalQueue, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rejecting records who and why; an empty operator or reason is a one-line error."""
    propose(queue, "c1")
    base = ("approvals", "reject", "c1", "--state-dir", str(state_dir))
    code, _, err = rrm(capsys, *base, "--operator", "", "--comment", "busy floor")
    assert code == 2 and err.strip() == (
        "rrm approvals: error: approval request c1: an operator identity is required to decide it"
    )
    code, _, err = rrm(capsys, *base, "--operator", "bob", "--comment", "")
    assert code == 2 and "a reason is required to reject it" in err
    with pytest.raises(SystemExit):  # argparse: --comment is required
        main([*base, "--operator", "bob"])
    capsys.readouterr()
    code, out, _ = rrm(capsys, *base, "--operator", "bob", "--comment", "busy floor")
    assert code == 0 and out.strip() == "rejected c1 (ap-1/5g: tx_power_dbm 20 -> 14) as bob"
    request = queue.get("c1")
    assert request is not None
    assert (request.state, request.decided_by, request.comment) == (ApprovalState.REJECTED, "bob", "busy floor")


def test_an_expired_request_cannot_be_approved(
    queue: ApprovalQueue, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past the 30-minute window the approval is refused naming the expiry; the listing shows it expired."""
    propose(queue, "late", age_s=3600.0)
    code, out, err = rrm(capsys, "approvals", "approve", "late", "--state-dir", str(state_dir), "--operator", "alice")
    assert code == 2 and out == ""
    assert "approval request late expired at " in err
    assert err.strip().endswith("no decision within the 30-minute window")
    code, out, _ = rrm(capsys, "approvals", "list", "--state-dir", str(state_dir))
    assert (code, out.strip()) == (0, "no approval requests pending")
    code, out, _ = rrm(capsys, "approvals", "list", "--state-dir", str(state_dir), "--state", "expired")
    assert code == 0 and out.splitlines()[1].split()[0] == "late"
    [expired] = queue.expire_overdue(time.time())  # the controller still audits the automatic rejection
    assert expired.request_id == "late"


def test_show_prints_the_request_and_its_proposal(
    queue: ApprovalQueue, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`show` gives every field and the proposal as the proposer serialised it."""
    propose(queue, "c1")
    code, out, err = rrm(capsys, "approvals", "show", "c1", "--state-dir", str(state_dir))
    assert (code, err) == (0, "")
    assert "request:        c1" in out
    assert "radio:          ap-1/5g (AP ap-1)" in out
    assert "change:         tx_power_dbm 20 -> 14" in out
    assert "loop:           SLOW" in out
    assert '"change_id": "c1"' in out


def test_unknown_ids_and_missing_databases_are_one_line_errors(
    queue: ApprovalQueue, state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An id nobody proposed, a state dir with no controller database, or a bad --state: exit 2, one line."""
    code, _, err = rrm(capsys, "approvals", "show", "ghost", "--state-dir", str(state_dir))
    assert (code, err.strip()) == (2, "rrm approvals: error: no approval request 'ghost'")
    code, _, err = rrm(capsys, "approvals", "approve", "ghost", "--state-dir", str(state_dir), "--operator", "a")
    assert (code, err.strip()) == (2, "rrm approvals: error: no approval request 'ghost'")
    empty = tmp_path / "empty"
    code, _, err = rrm(capsys, "approvals", "list", "--state-dir", str(empty))
    assert code == 2 and err.startswith(f"rrm approvals: error: no controller database in {empty}")
    assert len(err.strip().splitlines()) == 1
    assert not empty.exists()  # looking must not create a database
    code, _, err = rrm(capsys, "approvals", "list", "--state-dir", str(state_dir), "--state", "maybe")
    assert code == 2 and "--state 'maybe' is not one of pending, approved" in err


def test_the_demo_layout_is_found_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`rrm demo --state-dir DIR` keeps the database in DIR/controller/: found too, unless both layouts exist."""
    conn = open_database(tmp_path / "controller" / "controller.db")
    try:
        propose(ApprovalQueue(conn), "d1")
        code, out, _ = rrm(capsys, "approvals", "approve", "d1", "--state-dir", str(tmp_path), "--operator", "alice")
        assert code == 0 and out.startswith("approved d1")
        open_database(tmp_path / "controller.db").close()
        code, _, err = rrm(capsys, "approvals", "list", "--state-dir", str(tmp_path))
        assert code == 2 and f"holds two controller databases; pass --state-dir {tmp_path / 'controller'}" in err
    finally:
        conn.close()
