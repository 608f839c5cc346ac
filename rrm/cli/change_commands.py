"""`rrm change`, `rrm rollback`, `rrm explain`: an operator's changes, reverts and questions.

`change` and `rollback` ask the running controller (through its database, controller/
operator_requests.py) and wait for its answer: the change goes through the same guardrails,
approvals, shadow mode and audit as the loops' proposals; a rollback sends the change's rollback
token back to its agent. `explain` reads the change ledger: what triggered a change, the inputs,
the guardrail verdict, the approval and what became of it.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rrm.cli.controller_state import controller_database
from rrm.cli.errors import UsageError

if TYPE_CHECKING:
    from controller.operator_requests import OperatorRequest, RequestKind


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    change = sub.add_parser(
        "change",
        help="ask the running controller to change a radio (guardrails, approvals and audit apply)",
        description="Asks the controller running on --state-dir to change one radio. The change is judged by "
        "the guardrails like any loop's proposal (pins do not bind an operator), waits for an approval where a "
        "safe zone requires one, is recorded only in shadow mode, and is audited with the operator's name.",
    )
    change.add_argument("--radio", required=True, metavar="RADIO_ID", help="e.g. ap-3/5g")
    change.add_argument("--channel", type=int)
    change.add_argument("--width", type=int, dest="width_mhz", metavar="MHZ")
    change.add_argument("--tx-power", type=float, dest="tx_power_dbm", metavar="DBM")
    change.add_argument("--obss-pd", type=int, dest="obss_pd_dbm", metavar="DBM")
    change.add_argument("--dry-run", action="store_true", help="only print what the guardrails would say")
    _common(change, reason_required=True)
    change.set_defaults(handler=_change)

    rollback = sub.add_parser(
        "rollback",
        help="undo a change by its rollback token, or an AP's last N changes",
        description="Asks the running controller to send the rollback token(s) back to the agent, which restores "
        "the prior configuration (never onto a channel closed by radar since).",
    )
    what = rollback.add_mutually_exclusive_group(required=True)
    what.add_argument("token", nargs="?", metavar="TOKEN", help="a rollback token (rt-<change id>)")
    what.add_argument("--last", type=int, metavar="N", help="the AP's last N changes (with --ap)")
    rollback.add_argument("--ap", metavar="AP_ID")
    _common(rollback, reason_required=False)
    rollback.set_defaults(handler=_rollback)

    explain = sub.add_parser("explain", help="why a change was (or was not) made, and what became of it")
    explain.add_argument("change_id", metavar="CHANGE_ID")
    explain.add_argument("--state-dir", type=Path, required=True, metavar="DIR", help="the controller's state dir")
    explain.add_argument("--json", action="store_true", help="the whole record as JSON")
    explain.set_defaults(handler=_explain)


def _common(p: argparse.ArgumentParser, *, reason_required: bool) -> None:
    p.add_argument("--state-dir", type=Path, required=True, metavar="DIR", help="the controller's state dir")
    p.add_argument("--operator", required=True, metavar="NAME", help="who asks (recorded in the audit trail)")
    p.add_argument("--reason", required=reason_required, default="", help="why (recorded in the audit trail)")
    p.add_argument("--wait", type=float, default=30.0, metavar="S", help="seconds to wait for the controller")


@contextmanager
def _database(state_dir: Path) -> Iterator[sqlite3.Connection]:
    from rrm.sqlite_files import open_database

    conn = open_database(controller_database(state_dir))
    try:
        yield conn
    finally:
        conn.close()


def ask_controller(ns: argparse.Namespace, kind: RequestKind, arguments: Mapping[str, Any]) -> OperatorRequest:
    from controller.operator_requests import OperatorRequests, RequestState

    if not ns.operator.strip():
        raise UsageError("--operator must name who asks")
    with _database(ns.state_dir) as conn:
        requests = OperatorRequests(conn)
        request_id = requests.submit(kind, arguments, ns.operator, time.time())
        deadline = time.monotonic() + ns.wait
        while True:
            request = requests.get(request_id)
            assert request is not None
            if request.state in (RequestState.DONE, RequestState.FAILED):
                return request
            if time.monotonic() > deadline:
                raise UsageError(
                    f"the controller did not take request {request_id} within {ns.wait:g} s; is it running on "
                    f"{ns.state_dir}? (the request stays queued and runs when it does)"
                )
            time.sleep(0.2)


def _change(ns: argparse.Namespace) -> int:
    from controller.operator_requests import RequestKind, RequestState

    parameters = {
        name: getattr(ns, name)
        for name in ("channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm")
        if getattr(ns, name) is not None
    }
    if not parameters:
        raise UsageError("name at least one of --channel, --width, --tx-power, --obss-pd")
    arguments = {"radio_id": ns.radio, "parameters": parameters, "reason": ns.reason, "dry_run": ns.dry_run}
    request = ask_controller(ns, RequestKind.CHANGE, arguments)
    if request.state is RequestState.FAILED:
        raise UsageError(f"change refused before judging: {request.result.get('error', '?')}")
    verdict = str(request.result.get("verdict", ""))
    change_id = request.result.get("change_id") or "(dry run)"
    print(f"{ns.radio}: {verdict}; change {change_id}")
    return 0 if not verdict.startswith("refused") else 1


def _rollback(ns: argparse.Namespace) -> int:
    from controller.operator_requests import RequestKind, RequestState

    if ns.token:
        request = ask_controller(ns, RequestKind.ROLLBACK_TOKEN, {"token_id": ns.token, "reason": ns.reason})
    else:
        if not ns.ap or ns.last < 1:
            raise UsageError("--last N needs N >= 1 and --ap AP_ID")
        request = ask_controller(ns, RequestKind.ROLLBACK_LAST, {"ap_id": ns.ap, "count": ns.last, "reason": ns.reason})
    if request.state is RequestState.FAILED:
        raise UsageError(str(request.result.get("error", "the rollback failed")))
    undone = list(request.result.get("rolled_back", []))
    print(f"rollback sent for {len(undone)} change(s): {', '.join(undone)}")
    return 0


def _when(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _explain(ns: argparse.Namespace) -> int:
    from controller.change_ledger import ChangeLedger

    with _database(ns.state_dir) as conn:
        entry = ChangeLedger(conn).get(ns.change_id)
    if entry is None:
        raise UsageError(f"no change {ns.change_id!r} in {ns.state_dir}")
    story = entry.story
    if ns.json:
        print(json.dumps({"change_id": entry.change_id, "state": entry.state.value, **story}, indent=2, default=str))
        return 0
    proposal, verdict = story.get("proposal", {}), story.get("verdict", {})
    lines = [
        f"change {entry.change_id} on {entry.radio_id} (AP {entry.ap_id}): {entry.state.value}",
        f"  proposed {_when(entry.proposed_at)} by the {entry.loop} loop: {proposal.get('reason', '')}",
        f"  parameters: {proposal.get('parameters')} (was {story.get('before')})",
        f"  predicted QoE gain: {proposal.get('predicted_gain')}",
    ]
    inputs = proposal.get("inputs") or {}
    if inputs:
        lines.append(f"  inputs: {json.dumps(inputs, default=str)}")
    if "alternatives" in inputs:
        lines.append(f"  alternatives considered: {inputs['alternatives']}")
    lines.append(f"  guardrails: {verdict.get('explanation', '?')}")
    for violation in verdict.get("violations", []):
        lines.append(f"    - {violation['rule']}: {violation['message']}")
    for chapter in story.get("history", []):
        facts = {k: v for k, v in chapter.items() if k not in ("at", "state", "chapter")}
        detail = f" {json.dumps(facts, default=str)}" if facts else ""
        lines.append(f"  {_when(chapter.get('at'))} {chapter.get('state')}: {chapter.get('chapter')}{detail}")
    if entry.rollback_token_id:
        lines.append(f"  rollback token: {entry.rollback_token_id}")
    print("\n".join(lines))
    return 0
