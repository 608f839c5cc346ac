"""`rrm approvals list|show|approve|reject`: the operator's side of the approval workflow (ADR-106).

Decisions are written to the controller's database; the running controller picks approved
requests up and executes them. The database is found from ``--state-dir DIR``:
``DIR/controller.db`` is where `rrm controller --state-dir DIR` keeps it (its state dir is DIR),
``DIR/controller/controller.db`` where `rrm demo --state-dir DIR` does (the demo gives its
controller DIR/controller).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rrm.cli.controller_state import controller_database
from rrm.cli.errors import UsageError

if TYPE_CHECKING:
    from controller.approvals import ApprovalQueue, ApprovalRequest

_REASON_WIDTH = 48


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("approvals", help="list, show, approve or reject changes waiting for an operator's approval")
    approvals_sub = p.add_subparsers(dest="approvals_command", required=True, metavar="{list,show,approve,reject}")

    listing = approvals_sub.add_parser("list", help="the requests awaiting a decision (or all of them)")
    _state_dir_option(listing)
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every request, newest first, whatever its state")
    which.add_argument("--state", metavar="S", help="only requests in state S (pending, approved, rejected, ...)")
    listing.add_argument("--limit", type=int, default=100, metavar="N", help="at most N rows (default: %(default)s)")
    listing.set_defaults(handler=_list)

    show = approvals_sub.add_parser("show", help="everything about one request, with the full proposal")
    show.add_argument("request_id", metavar="ID")
    _state_dir_option(show)
    show.set_defaults(handler=_show)

    approve = approvals_sub.add_parser("approve", help="approve a pending request; the controller then applies it")
    approve.add_argument("request_id", metavar="ID")
    _state_dir_option(approve)
    approve.add_argument("--operator", required=True, metavar="NAME", help="who approves (recorded in the audit)")
    approve.add_argument("--comment", default="", metavar="TEXT", help="why, for the audit")
    approve.set_defaults(handler=_approve)

    reject = approvals_sub.add_parser("reject", help="reject a pending request, with a reason")
    reject.add_argument("request_id", metavar="ID")
    _state_dir_option(reject)
    reject.add_argument("--operator", required=True, metavar="NAME", help="who rejects (recorded in the audit)")
    reject.add_argument("--comment", required=True, metavar="TEXT", help="why (required)")
    reject.set_defaults(handler=_reject)


def _state_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--state-dir",
        type=Path,
        required=True,
        metavar="DIR",
        help="the controller's state dir (as given to `rrm controller` or `rrm demo`)",
    )


@contextmanager
def _queue(state_dir: Path) -> Iterator[ApprovalQueue]:
    from controller.approvals import ApprovalQueue
    from rrm.sqlite_files import open_database

    conn = open_database(controller_database(state_dir))
    try:
        yield ApprovalQueue(conn)
    except sqlite3.Error as exc:
        raise UsageError(f"{state_dir}: the controller database cannot be used: {exc}") from None
    finally:
        conn.close()


def _now() -> float:
    from rrm.clock import WallClock

    return WallClock().now()


def _change(request: ApprovalRequest) -> str:
    parts = []
    for name, value in request.parameters.items():
        before = request.current.get(name)
        parts.append(f"{name} {'?' if before is None else f'{before:g}'} -> {value:g}")
    return ", ".join(parts)


def _age(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _list(ns: argparse.Namespace) -> int:
    from controller.approvals import ApprovalState

    if ns.limit <= 0:
        raise UsageError(f"--limit must be positive, not {ns.limit}")
    state: ApprovalState | None = None
    if ns.state is not None:
        try:
            state = ApprovalState(ns.state.lower())
        except ValueError:
            raise UsageError(
                f"--state {ns.state!r} is not one of {', '.join(s.value for s in ApprovalState)}"
            ) from None
    now = _now()
    with _queue(ns.state_dir) as queue:
        pending = queue.pending(now)  # marks overdue requests EXPIRED first, so every state shown is true now
        if ns.all or (state is not None and state is not ApprovalState.PENDING):
            requests = queue.list(state, limit=ns.limit)
        else:
            requests = pending[: ns.limit]
    if not requests:
        print("no approval requests" + ("" if ns.all else f" {state or ApprovalState.PENDING}"))
        return 0
    rows = [
        (r.request_id, _age(now - r.created_at), r.radio_id, _change(r), _short(r.reason, _REASON_WIDTH), r.state.value)
        for r in requests
    ]
    header = ("ID", "AGE", "RADIO", "CHANGE", "REASON", "STATE")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _show(ns: argparse.Namespace) -> int:
    from controller.approvals import format_time

    with _queue(ns.state_dir) as queue:
        queue.pending(_now())  # an overdue request shows as the EXPIRED it is
        request = queue.get(ns.request_id)
    if request is None:
        raise UsageError(f"no approval request {ns.request_id!r}")
    lines = [
        ("request", request.request_id),
        ("state", request.state.value),
        ("radio", f"{request.radio_id} (AP {request.ap_id})"),
        ("change", _change(request)),
        ("reason", request.reason),
        ("loop", request.loop),
        ("predicted gain", f"{request.predicted_gain:g}"),
        ("created", format_time(request.created_at)),
        ("expires", format_time(request.expires_at)),
    ]
    if request.decided_at is not None:
        who = f"by {request.decided_by}" if request.decided_by else "(automatic)"
        lines.append(("decided", f"{format_time(request.decided_at)} {who}"))
    if request.comment:
        lines.append(("comment", request.comment))
    if request.executed_at is not None:
        lines.append(("executed", f"{format_time(request.executed_at)}: {request.outcome}"))
    for label, value in lines:
        print(f"{label + ':':<16}{value}")
    print("proposal:")
    print(_indented_proposal(request.proposal_json))
    return 0


def _indented_proposal(text: str) -> str:
    try:
        body = json.dumps(json.loads(text), indent=2, sort_keys=True)
    except ValueError:
        body = text
    return "\n".join("  " + line for line in body.splitlines())


def _approve(ns: argparse.Namespace) -> int:
    from controller.approvals import ApprovalError

    with _queue(ns.state_dir) as queue:
        try:
            request = queue.approve(ns.request_id, ns.operator, ns.comment, _now())
        except ApprovalError as exc:
            raise UsageError(str(exc)) from None
    print(
        f"approved {request.request_id} ({request.radio_id}: {_change(request)}) as {request.decided_by}; "
        "the controller applies it on its next pass"
    )
    return 0


def _reject(ns: argparse.Namespace) -> int:
    from controller.approvals import ApprovalError

    with _queue(ns.state_dir) as queue:
        try:
            request = queue.reject(ns.request_id, ns.operator, ns.comment, _now())
        except ApprovalError as exc:
            raise UsageError(str(exc)) from None
    print(f"rejected {request.request_id} ({request.radio_id}: {_change(request)}) as {request.decided_by}")
    return 0
