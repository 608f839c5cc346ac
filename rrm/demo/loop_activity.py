"""What each of the three loops did in a demo run, and the demo's operator for the slow loop's plans.

The event loop runs in the agents: its actions reach the controller as action reports (origin
LOCAL_EVENT_LOOP, AP_AUTONOMOUS for the AP's own radar moves, ROLLBACK for the agent's
post-action monitoring undoing one). The fast and slow loops run in the controller through the
scheduler: their changes are in the change ledger by loop and state, the scheduler counts its
locks and holds, the slow loop its plans. ``DemoOperator`` plays the operator: it asks for a
plan soon after the agents connect (the demo's clock starts at 00:00 UTC, outside the default
02:00-04:00 window) and approves each plan that waits for an approval a minute after it is filed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from controller.agent_reports import action_kind
from controller.app import ControllerApp
from controller.change_ledger import ChangeState
from controller.change_pipeline import PLAN_APPROVAL_LOOP
from rrm.v1 import agent_link_pb2 as pb

OPERATOR = "demo-operator"
APPROVE_AFTER_S = 60.0


@dataclass
class EventLoopTally:
    """A controller listener counting the agents' own actions by origin and status."""

    actions: Counter[str] = field(default_factory=Counter)

    def __call__(self, agent_id: str, msg: pb.AgentMessage) -> None:
        if msg.WhichOneof("body") != "action_report":
            return
        report = msg.action_report
        if report.origin == pb.CONTROLLER_COMMAND:
            return
        self.actions[action_kind(report)] += 1


@dataclass
class DemoOperator:
    plan_after_s: float | None
    asked: bool = False
    approved: list[str] = field(default_factory=list)

    def act(self, controller: ControllerApp, elapsed_s: float, now: float) -> None:
        shim = controller.scheduler
        if shim is None:
            return
        if not self.asked and self.plan_after_s is not None and elapsed_s >= self.plan_after_s:
            self.asked = True
            shim.request_plan(f"{OPERATOR}: a plan at the start of the demo")
        if controller.pipeline is None:
            return
        approvals = controller.pipeline.approvals
        for request in approvals.pending(now):
            if request.loop == PLAN_APPROVAL_LOOP and now - request.created_at >= APPROVE_AFTER_S:
                approvals.approve(request.request_id, OPERATOR, "approved by the demo's operator", now)
                self.approved.append(request.request_id)


def loop_activity(controller: ControllerApp, tally: EventLoopTally, operator: DemoOperator) -> dict[str, object]:
    """The demo report's ``loops`` section (module docstring)."""
    by_loop: dict[str, Counter[str]] = {}
    if controller.pipeline is not None:
        for entry in controller.pipeline.ledger.in_state(*ChangeState):
            by_loop.setdefault(entry.loop, Counter())[entry.state.value] += 1
    shim = controller.scheduler
    scheduler: dict[str, object] = {}
    slow: dict[str, object] = {"changes": dict(sorted(by_loop.get("SLOW", Counter()).items()))}
    if shim is not None:
        counters = shim.scheduler.counters
        scheduler = {
            "ticks": counters.ticks,
            "locks": counters.locks,
            "preempted": dict(sorted(counters.preempted.items())),
            "held_by_cooldown": dict(sorted(counters.cooled.items())),
            "off_plan_held": counters.off_plan_held,
            "off_plan_allowed": counters.off_plan_allowed,
        }
        runner = shim.slow
        if runner is not None:
            c = runner.counters
            slow |= {
                "policy": runner.policy.name,
                "plans": c.plans,
                "kept_current_plan": c.kept,
                "completed": c.completed,
                "rolled_back": c.rolled_back,
                "refused": c.refused,
                "approvals_requested": c.approvals_requested,
                "approvals_granted": c.approvals_granted,
                "moves": c.moves,
                "rollback_moves": c.rollback_moves,
                "plan_outcomes": [p["outcome"] for p in shim.activity.plans],
            }
    fast = {
        "mode": controller.settings.fast_loop,
        "changes": dict(sorted(by_loop.get("FAST", Counter()).items())),
    }
    return {
        "event": {"actions": dict(sorted(tally.actions.items()))},
        "fast": fast,
        "slow": slow,
        "scheduler": scheduler,
        "operator_approvals": list(operator.approved),
    }
