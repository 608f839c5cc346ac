"""`rrm plan --site S [--dry-run] [--json]`: ask the running controller for a slow-loop plan now.

Like `rrm change`, the request goes through the controller's database (controller/
operator_requests.py): the controller's scheduler takes it on its next tick. ``--dry-run``
prints the plan the slow loop would carry out (each radio before and after, the predicted cost,
the staging in steps of at most 3 APs, whether it needs an approval) and changes nothing;
without it the scheduler starts the plan at once (out of its window), in the same guarded,
staged, audited way as a plan in the window.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rrm.cli.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan",
        help="ask the running controller for a slow-loop plan of a site now (--dry-run: only show it)",
        description="Asks the controller running on --state-dir to plan the site's channels and power now. With "
        "--dry-run the plan is printed (per radio before/after, predicted cost, staging, approval) and nothing "
        "changes; otherwise the controller starts it, staged and guarded like a plan in its slow-loop window.",
    )
    p.add_argument("--site", required=True, metavar="S", help="the site the controller owns (`rrm controller --site`)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, apply nothing")
    p.add_argument("--json", action="store_true", help="print the controller's answer as JSON")
    p.add_argument("--state-dir", type=Path, required=True, metavar="DIR", help="the controller's state dir")
    p.add_argument("--operator", required=True, metavar="NAME", help="who asks (recorded in the audit trail)")
    p.add_argument("--reason", default="", help="why (recorded in the audit trail)")
    p.add_argument("--wait", type=float, default=60.0, metavar="S", help="seconds to wait for the controller")
    p.set_defaults(handler=_plan)


def _plan(ns: argparse.Namespace) -> int:
    from controller.operator_requests import RequestKind, RequestState
    from rrm.cli.change_commands import ask_controller

    arguments = {"site": ns.site, "dry_run": ns.dry_run, "reason": ns.reason}
    request = ask_controller(ns, RequestKind.PLAN, arguments)
    if request.state is RequestState.FAILED:
        raise UsageError(str(request.result.get("error", "the controller refused the plan request")))
    if ns.json:
        print(json.dumps(dict(request.result), indent=2, sort_keys=True, default=str))
    elif ns.dry_run:
        print("\n".join(preview_lines(ns.site, request.result)))
    else:
        print("\n".join(started_lines(ns.site, request.result)))
    return 0


def preview_lines(site: str, answer: Mapping[str, Any]) -> list[str]:
    plan = answer.get("plan", {})
    changes = plan.get("changes", [])
    lines = [
        f"site {site}: {plan.get('source')} plan (dry run, nothing applied): {plan.get('reason')}",
        f"  predicted cost {plan.get('cost_before')} -> {plan.get('cost_after')} over {answer.get('radios')} radios",
        f"  {len(changes)} radio(s) change:",
    ]
    for change in changes:
        lines.append(f"    {change['radio_id']:<12} {_radio(change['before'])} -> {_radio(change['after'])}")
    for step in plan.get("steps", []):
        lines.append(f"  step {step['index'] + 1}: APs {', '.join(step['ap_ids'])}")
    lines.append("  needs an operator's approval" if plan.get("needs_approval") else "  no approval needed")
    for why in plan.get("refused", []):
        lines.append(f"  REFUSED: {why}")
    gate = answer.get("window_quality_gate")
    if gate is not None:
        verdict = "would plan" if gate.get("would_plan") else "would keep the current plan"
        lines.append(f"  the slow-loop window {verdict}: {gate.get('reason')}")
    return lines


def started_lines(site: str, answer: Mapping[str, Any]) -> list[str]:
    lines = [f"site {site}: " + "; ".join(str(d) for d in answer.get("decisions", [])) or f"site {site}: no decision"]
    if "plan_id" in answer:
        lines.append(
            f"  plan {answer['plan_id']}: {answer['state']}, {len(answer.get('radios', []))} radio(s) in "
            f"{answer['steps']} step(s)"
        )
        if answer.get("needs_approval"):
            lines.append(f"  waiting for an approval: rrm approvals approve {answer['plan_id']} --operator NAME")
    return lines


def _radio(assignment: Mapping[str, Any]) -> str:
    return f"ch {assignment['channel']}/{assignment['width_mhz']} MHz {assignment['tx_power_dbm']:g} dBm"
