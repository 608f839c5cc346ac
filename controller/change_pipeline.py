"""The one path every controller change takes to a live network: propose, judge, approve, send, watch.

``propose`` takes one loop iteration's proposals (or an operator's), freezes a NetworkSnapshot,
runs the guardrails (guardrails.py) and routes each verdict: refused; recorded as "would have
done" in shadow mode; queued for a human approval; or sent to the radio's agent as a command with
a rollback token. ``on_agent_message`` follows the agents' action reports (applied, refused,
failed, rolled back). ``tick`` does what waits: the site policy file's hot reload, approvals that
expired or were decided (approved ones are judged again on a fresh snapshot before they go),
rollback triggers on the telemetry after each applied change (rollback_supervisor.py: automatic
rollback, grouped changes together), and the operators' requests from `rrm change` and
`rrm rollback`. Every step is a
ChangeLedger chapter (what `rrm explain` prints) and a signed audit record.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, Protocol

from controller.approvals import ApprovalError, ApprovalQueue, ApprovalState
from controller.audit_chain import AuditDraft
from controller.change_audit import decision_draft, pb_config, report_draft
from controller.change_ledger import ChangeEntry, ChangeLedger, ChangeState
from controller.guardrails import NetworkSnapshot, Proposal, Verdict, changed_values, check_iteration
from controller.network_view import NetworkView
from controller.operator_requests import OperatorRequest, OperatorRequests, RequestKind
from controller.rollback_supervisor import RollbackSupervisor, applied_change
from controller.site_policy import SitePolicy
from controller.site_policy_wire import zones_update
from radio_domain.radio import ConfigChange, RadioConfig, split_radio_id
from rrm.clock import Clock
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import ms

log = logging.getLogger(__name__)

OPERATOR = "OPERATOR"
FAST = "FAST"
PLAN_APPROVAL_LOOP = "SLOW_PLAN"  # a slow-loop plan's approval: the scheduler's (controller/scheduler_shim.py)
PIPELINE_REQUESTS = (RequestKind.CHANGE, RequestKind.ROLLBACK_TOKEN, RequestKind.ROLLBACK_LAST)
Judge = Callable[[Sequence[Proposal]], Sequence[Verdict]]


class AuditSink(Protocol):
    def append(self, draft: AuditDraft) -> object: ...

    def flush(self) -> object: ...


class CommandSender(Protocol):
    """What the pipeline needs of the controller app (controller.app.ControllerApp)."""

    def send_config(
        self, radio_id: str, change: ConfigChange, *, reason: str, loop: str = ..., change_id: str = ...
    ) -> str: ...

    def send_rollback(self, radio_id: str, rollback_token_id: str, *, reason: str) -> str: ...

    def owner_of(self, radio_id: str) -> str | None: ...

    def send_policy(self, agent_id: str, policy: pb.PolicyUpdate) -> str: ...

    def known_agents(self) -> dict[str, pb.Hello]: ...


def _config_dict(config: RadioConfig | None) -> dict[str, object] | None:
    return None if config is None else asdict(config)


class ChangePipeline:
    def __init__(
        self,
        *,
        sender: CommandSender,
        view: NetworkView,
        site: Callable[[], SitePolicy],
        ledger: ChangeLedger,
        approvals: ApprovalQueue,
        audit: AuditSink,
        requests: OperatorRequests,
        clock: Clock,
        reload_site: Callable[[], str | None] | None = None,
    ) -> None:
        self._sender = sender
        self._view = view
        self._site = site
        self._reload_site = reload_site
        self.ledger = ledger
        self.approvals = approvals
        self._audit = audit
        self.requests = requests
        self._clock = clock
        self.rollbacks = RollbackSupervisor(ledger=ledger, audit=audit, sender=sender, view=view, site=site)
        self._zones_sent: dict[tuple[str, str], str] = {}  # (agent, AP) -> policy id of the zones it has
        self.fast_gate: Callable[[Judge], Judge] | None = None  # the scheduler's, during its fast-loop step

    # ------------------------------------------------------------------ proposals

    def propose(self, proposals: Sequence[Proposal]) -> list[Verdict]:
        """Judge one iteration's proposals and route each verdict (module docstring).

        The fast loop's proposals pass the scheduler's gate first while it holds one (its AP locks,
        cooldowns and the slow loop's plan: controller/fast_gate.py); what it refuses is not routed.
        """
        gate = self.fast_gate
        if gate is not None and proposals and all(p.loop == FAST for p in proposals):
            return list(gate(self._judge_and_route)(proposals))
        return self._judge_and_route(proposals)

    def _judge_and_route(self, proposals: Sequence[Proposal]) -> list[Verdict]:
        now = self._clock.now()
        snapshot = self._view.snapshot(now)
        site = self._site()
        verdicts = check_iteration(proposals, snapshot, site, now)
        for verdict in verdicts:
            self._route(verdict, snapshot, now, approver="")
        self._audit.flush()
        return verdicts

    def _route(self, verdict: Verdict, snapshot: NetworkSnapshot, now: float, approver: str) -> None:
        proposal = verdict.proposal
        radio = snapshot.radios.get(proposal.radio_id)
        ap_id = radio.ap_id if radio is not None else _ap_of(proposal.radio_id)
        before = radio.config if radio is not None else None
        after = proposal.change.apply_to(before) if before is not None else None
        verdict_facts: dict[str, Any] = {
            "allowed": verdict.allowed,
            "violations": [{"rule": v.rule.value, "message": v.message} for v in verdict.violations],
            "approval_needed_for": list(verdict.approval_needed_for),
            "shadow": verdict.shadow,
            "explanation": verdict.explain(),
            "snapshot_at": snapshot.taken_at,
        }
        story: dict[str, Any] = {
            "proposal": {
                "loop": proposal.loop,
                "reason": proposal.reason,
                "parameters": _parameters(proposal.change),
                "predicted_gain": proposal.predicted_gain,
                "plan_id": proposal.plan_id,
                "inputs": dict(proposal.inputs),
            },
            "before": _config_dict(before),
            "verdict": verdict_facts,
        }
        if approver:
            story["approval"] = {"approved_by": approver}
        if not verdict.allowed:
            state, record_type, outcome = ChangeState.REFUSED, "change_refused", "REFUSED"
        elif verdict.shadow:
            state, record_type, outcome = ChangeState.SHADOW, "change_would_be_made", "SHADOW"
        elif verdict.needs_approval and not approver:
            state, record_type, outcome = ChangeState.AWAITING_APPROVAL, "approval_requested", "PENDING"
        else:
            state, record_type, outcome = ChangeState.SENT, "change_sent", "SENT"
        existing = self.ledger.get(proposal.change_id)
        if existing is None:
            self.ledger.record(
                proposal.change_id, proposal.radio_id, ap_id, proposal.loop, proposal.plan_id, state, now, story
            )
        else:  # an approved change judged again before it goes
            self.ledger.advance(proposal.change_id, state, now, "judged again after approval", verdict_facts)
        if state is ChangeState.AWAITING_APPROVAL and before is not None:
            self.approvals.submit(
                proposal.change_id,
                radio_id=proposal.radio_id,
                ap_id=ap_id,
                parameters=changed_values(before, proposal.change),
                current={k: float(getattr(before, k)) for k in changed_values(before, proposal.change)},
                reason=proposal.reason,
                loop=proposal.loop,
                predicted_gain=proposal.predicted_gain,
                proposal_json=json.dumps(story["proposal"]),
                now=now,
                window_s=self._site().for_ap(ap_id).limits.approval_window_s,
            )
        token = ""
        if state is ChangeState.SENT:
            self._sender.send_config(
                proposal.radio_id,
                proposal.change,
                reason=proposal.reason,
                loop=proposal.loop,
                change_id=proposal.change_id,
            )
            token = f"rt-{proposal.change_id}"
            self.ledger.advance(proposal.change_id, state, now, "sent to the agent", {}, rollback_token_id=token)
        self._audit.append(
            AuditDraft(
                timestamp_ms=ms(now),
                actor=f"controller:{proposal.loop.lower()}",
                record_type=record_type,
                reason_code=_reason_code(verdict),
                reason=proposal.reason,
                ap_id=ap_id,
                radio_id=proposal.radio_id,
                change_id=proposal.change_id,
                rollback_token_id=token,
                inputs={"verdict": story["verdict"], "inputs": dict(proposal.inputs)},
                before=_config_dict(before),
                after=_config_dict(after),
                predicted_effect={"qoe_gain": proposal.predicted_gain},
                approver=approver,
                outcome=outcome,
            )
        )

    # ------------------------------------------------------------------ what agents report

    def on_agent_message(self, agent_id: str, msg: pb.AgentMessage) -> None:
        """Follow the action reports of the changes and rollbacks the pipeline sent."""
        if msg.WhichOneof("body") != "action_report":
            return
        report = msg.action_report
        now = self._clock.now()
        if self.rollbacks.on_rollback_report(report, now):
            self._audit.flush()
            return
        entry = self.ledger.get(report.change_id)
        if entry is None or entry.state is not ChangeState.SENT:
            return
        status = pb.ActionStatus.Name(report.status)
        if report.status == pb.APPLIED:
            applied_at = report.completed_at_ms / 1000.0
            baseline = self.rollbacks.baseline(entry, applied_at)
            self.ledger.advance(
                entry.change_id,
                ChangeState.APPLIED,
                now,
                "applied by the agent",
                {"baseline": {k.value: v for k, v in baseline.items()}, "after": pb_config(report.after)},
                applied_at=applied_at,
            )
        else:
            self.ledger.advance(
                entry.change_id, ChangeState.FAILED, now, f"the agent said {status}", {"error": report.error}
            )
        self._audit.append(report_draft(entry, f"change_{status.lower()}", report, now))
        self._audit.flush()

    # ------------------------------------------------------------------ what waits

    def tick(self) -> None:
        """Reload, approvals, rollback triggers, operator requests (module docstring)."""
        now = self._clock.now()
        if self._reload_site is not None:
            problem = self._reload_site()
            if problem:
                log.error("site policy not reloaded, keeping the last good one: %s", problem)
        self._push_zones(now)
        self._expire_approvals(now)
        self._execute_approved(now)
        self.rollbacks.watch(now)
        for request in self.requests.take_pending(PIPELINE_REQUESTS):
            self._operator_request(request, now)
        self._audit.flush()

    def _push_zones(self, now: float) -> None:
        """Every agent enforces its APs' safe zones too (invariant 2): send them when they change."""
        site = self._site()
        for agent_id, hello in self._sender.known_agents().items():
            by_ap: dict[str, list[str]] = {}
            for radio in hello.radios:
                by_ap.setdefault(radio.ap_id, []).append(radio.radio_id)
            for ap_id, radio_ids in by_ap.items():
                update = zones_update(site.for_ap(ap_id), sorted(radio_ids))
                if self._zones_sent.get((agent_id, ap_id)) == update.policy_id:
                    continue
                self._sender.send_policy(agent_id, update)
                self._zones_sent[(agent_id, ap_id)] = update.policy_id
                self._audit.append(
                    AuditDraft(
                        timestamp_ms=ms(now),
                        actor="controller:site_policy",
                        record_type="safe_zones_sent",
                        reason_code="SAFE_ZONES",
                        reason=f"the safe zones of AP {ap_id} for its agent {agent_id} to enforce",
                        ap_id=ap_id,
                        inputs={"policy_id": update.policy_id, "radio_ids": sorted(radio_ids)},
                        outcome="SENT",
                    )
                )

    def _expire_approvals(self, now: float) -> None:
        for request in self.approvals.expire_overdue(now):
            self.ledger.advance(
                request.request_id, ChangeState.REJECTED, now, "no approval in time", {"comment": request.comment}
            )
            self._audit.append(
                decision_draft(
                    self.ledger.get(request.request_id),
                    request.request_id,
                    "approval_expired",
                    "EXPIRED",
                    request.comment,
                    now,
                )
            )
        for entry in self.ledger.in_state(ChangeState.AWAITING_APPROVAL):
            decided = self.approvals.get(entry.change_id)
            if decided is None or decided.state not in (ApprovalState.REJECTED, ApprovalState.SUPERSEDED):
                continue
            facts = {"by": decided.decided_by, "comment": decided.comment}
            rejected = self.ledger.advance(
                entry.change_id, ChangeState.REJECTED, now, f"approval {decided.state.value}", facts
            )
            record_type = f"approval_{decided.state.value}"
            self._audit.append(
                decision_draft(
                    rejected,
                    entry.change_id,
                    record_type,
                    decided.state.name,
                    decided.comment,
                    now,
                    approver=decided.decided_by,
                )
            )

    def _execute_approved(self, now: float) -> None:
        for request in self.approvals.approved_to_execute():
            if request.loop == PLAN_APPROVAL_LOOP:
                continue  # a plan's approval: the scheduler carries the plan out
            entry = self.ledger.get(request.request_id)
            if entry is None:
                self.approvals.mark_executed(request.request_id, "unknown change: not executed", now)
                continue
            proposal = _proposal_of(entry, request.request_id)
            snapshot = self._view.snapshot(now)
            verdict = check_iteration([proposal], snapshot, self._site(), now)[0]
            self._route(verdict, snapshot, now, approver=request.decided_by)
            outcome = "sent" if verdict.allowed and not verdict.shadow else verdict.explain()
            try:
                self.approvals.mark_executed(request.request_id, outcome, now)
            except ApprovalError as exc:
                log.warning("approval %s: %s", request.request_id, exc)

    # ------------------------------------------------------------------ operators

    def _operator_request(self, request: OperatorRequest, now: float) -> None:
        args = request.arguments
        try:
            if request.kind is RequestKind.CHANGE:
                result = self._operator_change(request, now)
            elif request.kind is RequestKind.ROLLBACK_TOKEN:
                entry = self.ledger.by_token(str(args["token_id"]))
                if entry is None or entry.state not in (ChangeState.APPLIED, ChangeState.KEPT):
                    raise ValueError(f"no applied change holds rollback token {args['token_id']!r}")
                reason = f"operator {request.operator}: {args.get('reason', '')}".strip()
                actor = f"operator:{request.operator}"
                result = {"rolled_back": self.rollbacks.roll_back([applied_change(entry)], reason, actor, now)}
            else:
                entries = self.ledger.latest_applied(str(args["ap_id"]), int(args["count"]))
                if not entries:
                    raise ValueError(f"AP {args['ap_id']!r} has no applied change to roll back")
                reason = f"operator {request.operator}: {args.get('reason', '')}".strip()
                group = [applied_change(e) for e in entries]
                result = {"rolled_back": self.rollbacks.roll_back(group, reason, f"operator:{request.operator}", now)}
        except (KeyError, ValueError) as exc:
            self.requests.finish(request.request_id, False, {"error": str(exc)}, now)
            return
        self.requests.finish(request.request_id, True, result, now)

    def _operator_change(self, request: OperatorRequest, now: float) -> dict[str, Any]:
        args = request.arguments
        change = _change_of(dict(args["parameters"]))
        proposal = Proposal(
            change_id=uuid.uuid4().hex,
            radio_id=str(args["radio_id"]),
            change=change,
            loop=OPERATOR,
            reason=f"operator {request.operator}: {args.get('reason', '')}".strip(),
            inputs={"operator": request.operator, "request_id": request.request_id},
        )
        if args.get("dry_run"):
            snapshot = self._view.snapshot(now)
            verdict = check_iteration([proposal], snapshot, self._site(), now)[0]
            return {"change_id": "", "verdict": verdict.explain(), "dry_run": True}
        verdict = self.propose([proposal])[0]
        return {"change_id": proposal.change_id, "verdict": verdict.explain()}


def _ap_of(radio_id: str) -> str:
    try:
        return split_radio_id(radio_id)[0]
    except ValueError:
        return ""


def _parameters(change: ConfigChange) -> dict[str, float]:
    return {k: float(v) for k, v in asdict(change).items() if v is not None}


def _reason_code(verdict: Verdict) -> str:
    if verdict.violations:
        return "GUARDRAIL_" + verdict.violations[0].rule.name
    return f"{verdict.proposal.loop}_CHANGE"


def _change_of(parameters: Mapping[str, Any]) -> ConfigChange:
    """A ConfigChange from stored or requested values; raises ValueError naming an unknown parameter."""
    unknown = sorted(set(parameters) - {"channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm"})
    if unknown:
        raise ValueError(f"unknown parameters {unknown}")
    return ConfigChange(
        channel=int(parameters["channel"]) if "channel" in parameters else None,
        width_mhz=int(parameters["width_mhz"]) if "width_mhz" in parameters else None,
        tx_power_dbm=float(parameters["tx_power_dbm"]) if "tx_power_dbm" in parameters else None,
        obss_pd_dbm=int(parameters["obss_pd_dbm"]) if "obss_pd_dbm" in parameters else None,
    )


def _proposal_of(entry: ChangeEntry, change_id: str) -> Proposal:
    stated = entry.story["proposal"]
    return Proposal(
        change_id,
        entry.radio_id,
        _change_of(stated["parameters"]),
        entry.loop,
        str(stated["reason"]),
        float(stated["predicted_gain"]),
        entry.plan_id,
        dict(stated.get("inputs", {})),
    )
