"""The scheduler inside the controller process: reports in, one tick, intents out through the pipeline.

``SchedulerShim`` is the thin I/O edge (STYLE.md point 1) around the pure ``LoopScheduler``:

- ``on_agent_message`` (a controller listener) turns the agents' stored events and their own
  applied actions (event loop, the AP's radar moves) into the next tick's reports;
- ``tick(now)``, every ``fast_loop_tick_s`` from the controller's scheduler task: operator plan
  requests (`rrm plan`), the plan's approval, then the scheduler's tick with the controller's
  sources; the fast loop is the controller's ``FastLoopService``, run as the tick's last step
  behind the tick's gate (installed on the pipeline for the call); the slow loop's staged changes
  go through ``ChangePipeline.propose`` (guardrails again, approvals of safe zones, commands with
  rollback tokens, ledger, audit) as one coordinated plan step; a plan above the site's size is
  filed as one approval request (loop ``SLOW_PLAN``, `rrm approvals approve PLAN_ID`); a plan
  rolled back for its QoE drop sends every change's rollback token;
- every decision of the tick (locks, holds, plans, changes that leave the plan) is a signed
  audit record ``scheduler_decision``.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.agent_reports import reported
from controller.ap_locks import ReportedAction, ReportedEvent
from controller.approvals import ApprovalState
from controller.audit_chain import AuditDraft
from controller.change_ledger import ChangeState
from controller.change_pipeline import PLAN_APPROVAL_LOOP, AuditSink, ChangePipeline
from controller.fast_gate import FastGate
from controller.guardrails import Proposal
from controller.network_view import NetworkView
from controller.operator_requests import OperatorRequest, RequestKind
from controller.rollback_supervisor import applied_change
from controller.scheduler import LoopScheduler, TickReports, TickResult, TickSources
from controller.scheduler_intents import (
    SLOW_LOOP,
    Decision,
    SlowApproval,
    SlowChange,
    SlowFinished,
    SlowRollback,
    Step,
)
from controller.scheduler_sources import ControllerSources
from controller.site_policy import SitePolicy
from controller.slow_loop.plan_execution import ExecutionState
from controller.slow_loop.quality_gate import replan_verdict
from controller.slow_loop_runner import SlowLoopRunner
from controller.telemetry_window import TelemetryWindows
from radio_domain.radio import split_radio_id
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import ms

if TYPE_CHECKING:
    from controller.fast_loop.intents import Intent
    from controller.fast_loop.service import FastLoopService

log = logging.getLogger(__name__)

ACTOR = "controller:scheduler"
APPROVED = (ApprovalState.APPROVED, ApprovalState.EXECUTED)
ENDED = (ApprovalState.REJECTED, ApprovalState.EXPIRED, ApprovalState.SUPERSEDED)


class ServiceStep:
    """The controller's fast-loop service as the tick's fast step, its proposals behind the gate."""

    def __init__(self, service: FastLoopService, pipeline: ChangePipeline) -> None:
        self.service = service
        self._pipeline = pipeline

    def step(self, now: float, gate: FastGate, sources: TickSources) -> Sequence[Intent]:
        self._pipeline.fast_gate = gate.wrap
        try:
            self.service.tick(now, gate.allows)
        finally:
            self._pipeline.fast_gate = None
        return []


@dataclass
class LoopActivity:
    """What the loops did, for the demo's report and `rrm controller` status."""

    decisions: Counter[str] = field(default_factory=Counter)  # step:action -> count
    slow_moves: int = 0
    slow_rollbacks: int = 0
    plans: list[dict[str, object]] = field(default_factory=list)


class SchedulerShim:
    def __init__(
        self,
        scheduler: LoopScheduler,
        *,
        pipeline: ChangePipeline,
        view: NetworkView,
        telemetry: TelemetryWindows | None,
        audit: AuditSink,
        site: Callable[[], SitePolicy],
        hellos: Callable[[], Mapping[str, pb.Hello]],
        site_name: str = "default",
    ) -> None:
        self.scheduler = scheduler
        self.site_name = site_name
        self._pipeline = pipeline
        self._view = view
        self._telemetry = telemetry
        self._audit = audit
        self._site = site
        self._hellos = hellos
        self._events: list[ReportedEvent] = []
        self._actions: list[ReportedAction] = []
        self.activity = LoopActivity()

    def attach_fast_loop(self, service: FastLoopService | None) -> None:
        """The controller's fast-loop service becomes the tick's fast step (None: no fast loop)."""
        self.scheduler.fast = ServiceStep(service, self._pipeline) if service is not None else None

    def request_plan(self, reason: str) -> None:
        """A slow-loop plan at the next tick (the demo's at its start; operators use `rrm plan`)."""
        self.scheduler.request_plan(reason)

    @property
    def slow(self) -> SlowLoopRunner | None:
        runner = self.scheduler.slow
        return runner if isinstance(runner, SlowLoopRunner) else None

    def on_agent_message(self, agent_id: str, msg: pb.AgentMessage) -> None:
        report = reported(msg)
        if isinstance(report, ReportedEvent):
            self._events.append(report)
        elif isinstance(report, ReportedAction):
            self._actions.append(report)

    def sources(self, now: float) -> ControllerSources:
        """What a tick at ``now`` reads (controller/scheduler_sources.py)."""
        return ControllerSources(now, self._view, self._telemetry, self._site, self._hellos)

    def tick(self, now: float) -> TickResult:
        requests = self._pipeline.requests.take_pending((RequestKind.PLAN,))
        answers = [self._plan_request(r, now) for r in requests]
        self._follow_plan_approval(now)
        reports = TickReports(tuple(self._events), tuple(self._actions))
        self._events, self._actions = [], []
        result = self.scheduler.tick(now, reports, self.sources(now))
        for decision in result.decisions:
            self._audit_decision(decision, now)
        self._carry_out(result, now)
        for request, answer in zip(requests, answers, strict=True):
            if answer is None:
                self._pipeline.requests.finish(request.request_id, True, self._plan_answer(result), now)
        self._audit.flush()
        return result

    # -- operators ----------------------------------------------------------------------------

    def _plan_request(self, request: OperatorRequest, now: float) -> dict[str, object] | None:
        """A dry run is answered now; a real request is answered after the tick that starts it."""
        slow = self.slow
        site = str(request.arguments.get("site", ""))
        problem = ""
        if slow is None:
            problem = "the slow loop is off on this controller (--slow-loop off)"
        elif site != self.site_name:
            problem = f"this controller plans site {self.site_name!r}, not {site!r}"
        if problem:
            answer: dict[str, object] = {"error": problem}
            self._pipeline.requests.finish(request.request_id, False, answer, now)
            return answer
        assert slow is not None
        if request.arguments.get("dry_run"):
            sources = self.sources(now)
            graph = sources.graph()
            gate = replan_verdict(sources.radio_qoe(slow.quality_since(now)), slow.settings.quality_threshold)
            answer = {
                "dry_run": True,
                "plan": slow.preview(graph, now).as_json(),
                "radios": len(graph.nodes),
                # what the window's own plan would do; `rrm plan` itself is never gated
                "window_quality_gate": {"would_plan": gate.replan, "reason": gate.reason},
            }
            self._pipeline.requests.finish(request.request_id, True, answer, now)
            return answer
        reason = str(request.arguments.get("reason", "")) or "on demand"
        self.scheduler.request_plan(f"operator {request.operator}: {reason}")
        return None

    def _plan_answer(self, result: TickResult) -> dict[str, object]:
        slow = self.slow
        execution = slow.execution if slow is not None else None
        decisions = [d for d in result.decisions if d.step is Step.SLOW_LOOP and d.action.startswith("plan_")]
        answer: dict[str, object] = {"decisions": [f"{d.action}: {d.reason}" for d in decisions]}
        if execution is not None:
            answer |= {
                "plan_id": execution.plan_id,
                "state": execution.state.value,
                "steps": len(execution.steps),
                "radios": list(execution.plan.changed(execution.graph)),
                "needs_approval": execution.state is ExecutionState.AWAITING_APPROVAL,
            }
        return answer

    def _follow_plan_approval(self, now: float) -> None:
        slow = self.slow
        execution = slow.execution if slow is not None else None
        if slow is None or execution is None or execution.state is not ExecutionState.AWAITING_APPROVAL:
            return
        request = self._pipeline.approvals.get(execution.plan_id)
        if request is None:
            return
        if request.state in APPROVED:
            slow.approve(execution.plan_id, request.decided_by)
            if request.state is ApprovalState.APPROVED:
                self._pipeline.approvals.mark_executed(execution.plan_id, "the plan is carried out in steps", now)
        elif request.state in ENDED:
            for intent in slow.reject(execution.plan_id, f"{request.state.value} {request.comment}".strip()):
                self._audit_decision(Decision(Step.SLOW_LOOP, f"plan_{intent.outcome}", intent.reason), now)

    # -- intents ------------------------------------------------------------------------------

    def _carry_out(self, result: TickResult, now: float) -> None:
        changes = [i for i in result.slow if isinstance(i, SlowChange)]
        if changes:
            self._pipeline.propose([_proposal(c) for c in changes])
            self.activity.slow_moves += len(changes)
        for intent in result.slow:
            if isinstance(intent, SlowApproval):
                self._file_approval(intent, now)
            elif isinstance(intent, SlowRollback):
                self._roll_back(intent, now)
            elif isinstance(intent, SlowFinished):
                self.activity.plans.append({"plan_id": intent.plan_id, "outcome": intent.outcome, "at": now})

    def _file_approval(self, intent: SlowApproval, now: float) -> None:
        aps = sorted({_ap(r) for r in intent.radios})
        self._pipeline.approvals.submit(
            intent.plan_id,
            radio_id=f"plan:{intent.plan_id}",
            ap_id="",
            parameters={"aps": float(len(aps)), "radios": float(len(intent.radios))},
            current={},
            reason=intent.reason,
            loop=PLAN_APPROVAL_LOOP,
            predicted_gain=0.0,
            proposal_json=json.dumps({"plan_id": intent.plan_id, "radios": list(intent.radios)}),
            now=now,
            window_s=self._site().network_wide().limits.approval_window_s,
        )

    def _roll_back(self, intent: SlowRollback, now: float) -> None:
        group = []
        for change in intent.changes:
            entry = self._pipeline.ledger.get(change.change_id.removesuffix(":rollback"))
            if entry is not None and entry.state in (ChangeState.APPLIED, ChangeState.KEPT):
                group.append(applied_change(entry))
        if group:
            self._pipeline.rollbacks.roll_back(group, intent.reason, ACTOR, now)
        self.activity.slow_rollbacks += 1

    def _audit_decision(self, decision: Decision, now: float) -> None:
        self.activity.decisions[f"{decision.step.value}:{decision.action}"] += 1
        self._audit.append(
            AuditDraft(
                timestamp_ms=ms(now),
                actor=ACTOR,
                record_type="scheduler_decision",
                reason_code=f"{decision.step.value}:{decision.action}".upper(),
                reason=decision.reason,
                ap_id=decision.ap_id,
                radio_id=decision.radio_id,
                inputs={"loop": decision.loop, **dict(decision.facts)},
                outcome=decision.action.upper(),
            )
        )


def _proposal(change: SlowChange) -> Proposal:
    return Proposal(
        change_id=change.change_id,
        radio_id=change.radio_id,
        change=change.change,
        loop=SLOW_LOOP,
        reason=change.reason,
        predicted_gain=change.predicted_gain,
        plan_id=change.plan_id,
        inputs={"plan_id": change.plan_id, "stage": change.stage},
    )


def _ap(radio_id: str) -> str:
    try:
        return split_radio_id(radio_id)[0]
    except ValueError:
        return radio_id
