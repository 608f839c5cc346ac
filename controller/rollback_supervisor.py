"""Watching applied changes on telemetry and rolling them back: automatically, or for an operator.

For every change in the ledger's APPLIED state, the AP's rollback triggers (site policy) are judged
once each when their window has passed (rollback_watch.py, on the KPIs the agents' telemetry
gives, against the stretch before the change); the first that fires rolls back the AP's latest
``rollback_depth`` changes, and their plans, through the agents' rollback tokens. A change whose
windows all passed is kept. Rollback reports are matched to changes by their token, so nothing
here is lost when the controller restarts between sending a rollback and hearing of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from controller.audit_chain import AuditDraft
from controller.change_audit import decision_draft, report_draft
from controller.change_ledger import ChangeEntry, ChangeLedger, ChangeState
from controller.network_view import NetworkView
from controller.radio_kpis import radio_kpis
from controller.rollback_watch import AppliedChange, due_triggers, judge, rollback_set, settled
from controller.site_policy import Kpi, SitePolicy
from rrm.v1 import agent_link_pb2 as pb


class Audit(Protocol):
    def append(self, draft: AuditDraft) -> object: ...


class RollbackSender(Protocol):
    def send_rollback(self, radio_id: str, rollback_token_id: str, *, reason: str) -> str: ...

    def owner_of(self, radio_id: str) -> str | None: ...


def applied_change(entry: ChangeEntry) -> AppliedChange:
    return AppliedChange(
        entry.change_id,
        entry.radio_id,
        entry.ap_id,
        entry.applied_at or entry.proposed_at,
        entry.rollback_token_id,
        entry.plan_id,
    )


class RollbackSupervisor:
    def __init__(
        self,
        *,
        ledger: ChangeLedger,
        audit: Audit,
        sender: RollbackSender,
        view: NetworkView,
        site: Callable[[], SitePolicy],
    ) -> None:
        self._ledger = ledger
        self._audit = audit
        self._sender = sender
        self._view = view
        self._site = site

    def baseline(self, entry: ChangeEntry, applied_at: float) -> dict[Kpi, float]:
        """The radio's KPIs over the longest trigger window before the change."""
        longest = max((t.window_s for t in self._site().for_ap(entry.ap_id).rollback_triggers), default=300.0)
        return self.kpis(entry.radio_id, applied_at - longest, applied_at)

    def watch(self, now: float) -> None:
        applied = self._ledger.in_state(ChangeState.APPLIED)
        site = self._site()
        for entry in applied:
            if entry.applied_at is None:
                continue
            triggers = site.for_ap(entry.ap_id).rollback_triggers
            change = applied_change(entry)
            judged = frozenset(entry.story.get("judged", []))
            due = due_triggers(change, triggers, judged, now)
            if due:
                fired = judge(change, triggers, due, _baseline_of(entry), self._kpi_source(entry.radio_id))
                story = dict(entry.story) | {"judged": sorted(judged | set(due))}
                self._ledger.replace_story(entry.change_id, story)
                if fired is not None:
                    group = rollback_set(change, [applied_change(e) for e in applied], fired.trigger.rollback_depth)
                    self.roll_back(group, f"rollback trigger {fired.describe()}", "controller:rollback_watch", now)
                    continue
            if settled(change, triggers, now):
                observed = self.kpis(entry.radio_id, change.applied_at, now)
                facts = {"observed": {k.value: v for k, v in observed.items()}}
                self._ledger.advance(entry.change_id, ChangeState.KEPT, now, "kept: no trigger fired", facts)
                self._audit.append(
                    decision_draft(
                        entry,
                        entry.change_id,
                        "change_kept",
                        "KEPT",
                        "every trigger window passed",
                        now,
                        observed=observed,
                    )
                )

    def roll_back(self, group: Sequence[AppliedChange], reason: str, actor: str, now: float) -> list[str]:
        """Send each change's rollback token to its agent, newest first; returns the change ids."""
        sent = []
        for change in group:
            self._sender.send_rollback(change.radio_id, change.rollback_token_id, reason=reason)
            entry = self._ledger.advance(
                change.change_id, ChangeState.ROLLING_BACK, now, "rollback sent", {"reason": reason, "by": actor}
            )
            self._audit.append(
                decision_draft(entry, change.change_id, "rollback_sent", "SENT", reason, now, actor=actor)
            )
            sent.append(change.change_id)
        return sent

    def on_rollback_report(self, report: pb.ActionReport, now: float) -> bool:
        """The agent's report of a rollback the supervisor sent; False when it is not one."""
        if report.origin != pb.ROLLBACK or not report.rollback_token.token_id:
            return False
        entry = self._ledger.by_token(report.rollback_token.token_id)
        if entry is None or entry.state is not ChangeState.ROLLING_BACK:
            return False
        status = pb.ActionStatus.Name(report.status)
        state = ChangeState.ROLLED_BACK if report.status == pb.ROLLED_BACK else ChangeState.APPLIED
        self._ledger.advance(entry.change_id, state, now, f"rollback: the agent said {status}", {"error": report.error})
        self._audit.append(report_draft(entry, "rollback_outcome", report, now))
        return True

    def kpis(self, radio_id: str, since: float, until: float) -> dict[Kpi, float]:
        agent_id = self._sender.owner_of(radio_id)
        if agent_id is None:
            return {}
        return radio_kpis(self._view.samples(agent_id, since, until, radio_id))

    def _kpi_source(self, radio_id: str) -> Callable[[float, float], dict[Kpi, float]]:
        return lambda since, until: self.kpis(radio_id, since, until)


def _baseline_of(entry: ChangeEntry) -> dict[Kpi, float]:
    for chapter in entry.story.get("history", []):
        if "baseline" in chapter:
            return {Kpi(k): float(v) for k, v in chapter["baseline"].items()}
    return {}
