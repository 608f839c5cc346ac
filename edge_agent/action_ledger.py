"""Every action, rollback and refusal as an action report for the controller and an audit record.

The one place that turns an outcome into the two durable records (STYLE.md point 12: audit is
the record of decisions): an ActionReport with the rollback token and before/after config, and a
hash-chained AuditRecord with the reason code and the inputs the decision was made on. Both go
through the outbox, so they survive controller outages.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from edge_agent.local_audit import LocalAuditLog
from radio_domain.radio import RadioConfig
from rrm.clock import Clock
from rrm.sqlite_files import transaction
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import config_to_pb, ms

log = logging.getLogger(__name__)

Emit = Callable[[pb.AgentMessage], None]


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    status: pb.ActionStatus.ValueType
    before: RadioConfig | None
    after: RadioConfig | None
    error: str = ""
    token: pb.RollbackToken | None = None


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """Who did what to which radio, why, on what inputs, and what came of it."""

    origin: pb.ActionOrigin.ValueType
    radio_id: str
    record_type: str
    reason_code: str
    reason: str
    outcome: ActionOutcome
    started: float
    actor: str
    change_id: str = ""
    trigger_event_id: str = ""
    inputs: Mapping[str, object] = field(default_factory=dict)


class ActionLedger:
    def __init__(self, audit: LocalAuditLog, emit: Emit, clock: Clock) -> None:
        self._audit = audit
        self._conn = audit.connection
        self._emit = emit
        self._clock = clock
        self.actions = 0
        self.rollbacks = 0

    def report(self, record: ActionRecord) -> str:
        """Emit the action report and its audit record, committed together; returns the action id."""
        with transaction(self._conn):
            return self._report(record)

    def _report(self, record: ActionRecord) -> str:
        outcome = record.outcome
        action_id = uuid.uuid4().hex
        report = pb.ActionReport(
            action_id=action_id,
            change_id=record.change_id,
            radio_id=record.radio_id,
            origin=record.origin,
            status=outcome.status,
            reason=record.reason,
            trigger_event_id=record.trigger_event_id,
            started_at_ms=ms(record.started),
            completed_at_ms=ms(self._clock.now()),
            error=outcome.error,
        )
        if outcome.token is not None:
            report.rollback_token.CopyFrom(outcome.token)
        if outcome.before is not None:
            report.before.CopyFrom(config_to_pb(outcome.before))
        if outcome.after is not None:
            report.after.CopyFrom(config_to_pb(outcome.after))
        self.actions += outcome.status == pb.APPLIED
        self.rollbacks += outcome.status == pb.ROLLED_BACK
        status = pb.ActionStatus.Name(outcome.status)
        log.info(
            "%s on %s: %s%s",
            record.record_type,
            record.radio_id,
            status,
            f" ({outcome.error})" if outcome.error else "",
        )
        self._emit(pb.AgentMessage(message_id=action_id, action_report=report))
        details = {
            "change_id": record.change_id,
            "reason": record.reason,
            "error": outcome.error,
            "trigger_event_id": record.trigger_event_id,
            "inputs": dict(record.inputs),
        }
        self.note(
            record.record_type,
            record.radio_id,
            status,
            details,
            record.actor,
            reason_code=record.reason_code,
            before=outcome.before,
            after=outcome.after,
            token_id=outcome.token.token_id if outcome.token else "",
        )
        return action_id

    def note(
        self,
        record_type: str,
        radio_id: str,
        outcome: str,
        details: Mapping[str, object],
        actor: str,
        *,
        reason_code: str = "",
        before: RadioConfig | None = None,
        after: RadioConfig | None = None,
        token_id: str = "",
    ) -> None:
        """An audit record without an action report (policy updates, steering, alarms)."""
        record = pb.AuditRecord(
            timestamp_ms=ms(self._clock.now()),
            actor=actor,
            record_type=record_type,
            radio_id=radio_id,
            reason_code=reason_code or record_type.upper(),
            rollback_token_id=token_id,
            outcome=outcome,
            details_json=json.dumps(details, sort_keys=True, default=str),
        )
        if before is not None:
            record.before.CopyFrom(config_to_pb(before))
        if after is not None:
            record.after.CopyFrom(config_to_pb(after))
        chained = self._audit.append(record)
        self._emit(pb.AgentMessage(message_id=chained.record_id, audit=chained))
