"""The audit records of a change's later chapters: the agent's report, a decision, a rollback sent.

Small builders shared by the change pipeline and the rollback supervisor, so every record of a
change carries the same identifiers (AP, radio, change id, rollback token).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from controller.audit_chain import AuditDraft
from controller.change_ledger import ChangeEntry
from controller.site_policy import Kpi
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import config_from_pb, ms


def pb_config(config: pb.RadioConfig) -> dict[str, object]:
    return asdict(config_from_pb(config))


def report_draft(entry: ChangeEntry, record_type: str, report: pb.ActionReport, now: float) -> AuditDraft:
    """What the agent said about a change (or its rollback)."""
    status = pb.ActionStatus.Name(report.status)
    return AuditDraft(
        timestamp_ms=ms(now),
        actor=f"agent-report:{entry.radio_id}",
        record_type=record_type,
        reason_code=status,
        reason=report.error or report.reason,
        ap_id=entry.ap_id,
        radio_id=entry.radio_id,
        change_id=entry.change_id,
        rollback_token_id=entry.rollback_token_id,
        before=pb_config(report.before),
        after=pb_config(report.after),
        outcome=status,
    )


def decision_draft(
    entry: ChangeEntry | None,
    change_id: str,
    record_type: str,
    outcome: str,
    reason: str,
    now: float,
    *,
    actor: str = "controller:pipeline",
    approver: str = "",
    observed: Mapping[Kpi, float] | None = None,
) -> AuditDraft:
    """A decision about a change: an approval's fate, kept after monitoring, a rollback sent."""
    return AuditDraft(
        timestamp_ms=ms(now),
        actor=actor,
        record_type=record_type,
        reason_code=outcome,
        reason=reason,
        ap_id=entry.ap_id if entry else "",
        radio_id=entry.radio_id if entry else "",
        change_id=change_id,
        rollback_token_id=entry.rollback_token_id if entry else "",
        observed_effect={k.value: v for k, v in observed.items()} if observed else None,
        approver=approver,
        outcome=outcome,
    )
