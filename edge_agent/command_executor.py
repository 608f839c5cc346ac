"""Executing the controller's commands on the radios, with rollback tokens and reports.

For each ConfigCommand: refuse it if late, unknown or inadmissible (change_admission), else
apply it through the driver, keep a rollback token with the full prior config, and report the
outcome (ActionReport) and audit it (AuditRecord) through the outbox. A RollbackCommand restores
a token's config. Every command is handled once: a resent command id is only acknowledged again.
Changes the AP made on its own (a DFS fallback) are reported the same way, as AP_AUTONOMOUS.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from drivers.protocol import (
    CapabilityRefused,
    ChangeRejected,
    DriverError,
    DriverEvent,
    RadioDriver,
    RadioInfo,
)
from edge_agent.change_admission import admission_violations, changed_parameters
from edge_agent.command_journal import CommandJournal
from edge_agent.local_audit import LocalAuditLog
from edge_agent.non_occupancy import NonOccupancyTimers
from edge_agent.policy_book import PolicyBook, PolicyError
from edge_agent.rollback_tokens import RollbackTokenStore
from radio_domain.radio import ConfigChange, RadioConfig
from radio_domain.regulatory import Region
from rrm.clock import Clock
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import change_from_pb, config_from_pb, config_to_pb, ms

log = logging.getLogger(__name__)

TOKEN_TTL_S = 7 * 24 * 3600.0

Emit = Callable[[pb.AgentMessage], None]


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: pb.ActionStatus.ValueType
    before: RadioConfig | None
    after: RadioConfig | None
    error: str = ""
    token: pb.RollbackToken | None = None


class CommandExecutor:
    def __init__(
        self,
        *,
        agent_id: str,
        region: Region,
        driver: RadioDriver,
        radios: Mapping[str, RadioInfo],
        known_configs: dict[str, RadioConfig],
        journal: CommandJournal,
        non_occupancy: NonOccupancyTimers,
        tokens: RollbackTokenStore,
        policies: PolicyBook,
        audit: LocalAuditLog,
        emit: Emit,
        clock: Clock,
    ) -> None:
        self._agent_id = agent_id
        self._region = region
        self._driver = driver
        self._radios = radios
        self._configs = known_configs
        self._journal = journal
        self._non_occupancy = non_occupancy
        self._tokens = tokens
        self._policies = policies
        self._audit = audit
        self._emit = emit
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self.actions = 0
        self.rollbacks = 0

    async def handle(self, msg: pb.ControllerMessage) -> None:
        """Handle a durable controller message once; returns when its outcome is in the outbox."""
        if self._journal.status_of(msg.message_id) is not None:
            log.info("command %s was already handled; acknowledging again", msg.message_id)
            return
        body = msg.WhichOneof("body")
        if body == "config_command":
            status = await self._config_command(msg.config_command)
        elif body == "rollback_command":
            status = await self._rollback_command(msg.rollback_command)
        elif body == "policy_update":
            status = self._policy_update(msg.policy_update)
        else:
            status = "unsupported"
        self._journal.record(msg.message_id, status, ms(self._clock.now()))

    def _lock(self, radio_id: str) -> asyncio.Lock:
        return self._locks.setdefault(radio_id, asyncio.Lock())

    async def _run_for_radio(
        self,
        radio_id: str,
        change_id: str,
        reason: str,
        origin: pb.ActionOrigin.ValueType,
        record_type: str,
        work: Callable[[float], Awaitable[_Outcome]],
    ) -> str:
        """Run one command's work under the radio's lock, then report and audit its outcome."""
        started = self._clock.now()
        async with self._lock(radio_id):
            outcome = await work(started)
        self._report(
            origin=origin,
            radio_id=radio_id,
            change_id=change_id,
            reason=reason,
            outcome=outcome,
            started=started,
            actor="controller",
            record_type=record_type,
        )
        return pb.ActionStatus.Name(outcome.status)

    async def _config_command(self, cmd: pb.ConfigCommand) -> str:
        return await self._run_for_radio(
            cmd.radio_id,
            cmd.change_id,
            cmd.reason,
            pb.CONTROLLER_COMMAND,
            "config_command",
            lambda started: self._apply_command(cmd, started),
        )

    async def _apply_command(self, cmd: pb.ConfigCommand, now: float) -> _Outcome:
        if cmd.deadline_ms and ms(now) > cmd.deadline_ms:
            return _Outcome(pb.EXPIRED, None, None, f"arrived after its deadline ({cmd.deadline_ms} ms)")
        radio = self._radios.get(cmd.radio_id)
        if radio is None:
            return _Outcome(pb.REFUSED, None, None, f"radio {cmd.radio_id!r} is not managed by agent {self._agent_id}")
        current = self._configs[cmd.radio_id]
        change = change_from_pb(cmd.parameters)
        violations = admission_violations(
            radio,
            self._region,
            current,
            change,
            self._policies.zones_for(cmd.radio_id),
            self._journal.changes_last_hour(cmd.radio_id, ms(now)),
            self._non_occupancy.blocked(cmd.radio_id, now),
        )
        if violations:
            return _Outcome(pb.REFUSED, current, current, "; ".join(violations))
        token = pb.RollbackToken(
            token_id=cmd.rollback_token_id or uuid.uuid4().hex,
            radio_id=cmd.radio_id,
            prior_config=config_to_pb(current),
            created_at_ms=ms(now),
            expires_at_ms=ms(now + TOKEN_TTL_S),
            loop=cmd.loop or "OPERATOR",
            change_id=cmd.change_id,
        )
        outcome = await self._drive(cmd.radio_id, current, change, pb.APPLIED)
        if outcome.status == pb.APPLIED:
            self._tokens.save(token)
            return _Outcome(outcome.status, outcome.before, outcome.after, token=token)
        return outcome

    async def _drive(
        self, radio_id: str, current: RadioConfig, change: ConfigChange, success: pb.ActionStatus.ValueType
    ) -> _Outcome:
        try:
            result = await self._driver.apply(radio_id, change)
        except (ChangeRejected, CapabilityRefused) as exc:
            return _Outcome(pb.REFUSED, current, current, str(exc))
        except DriverError as exc:
            return _Outcome(pb.FAILED, current, current, str(exc))
        self._configs[radio_id] = result.after
        changed = changed_parameters(result.before, change)
        self._journal.record_changes(radio_id, changed, ms(self._clock.now()))
        return _Outcome(success, result.before, result.after)

    async def _rollback_command(self, cmd: pb.RollbackCommand) -> str:
        return await self._run_for_radio(
            cmd.radio_id,
            cmd.rollback_id,
            cmd.reason,
            pb.ROLLBACK,
            "rollback_command",
            lambda started: self._restore(cmd, started),
        )

    async def _restore(self, cmd: pb.RollbackCommand, now: float) -> _Outcome:
        if cmd.deadline_ms and ms(now) > cmd.deadline_ms:
            return _Outcome(pb.EXPIRED, None, None, f"arrived after its deadline ({cmd.deadline_ms} ms)")
        token = self._tokens.get(cmd.rollback_token_id)
        radio = self._radios.get(cmd.radio_id)
        if token is None or radio is None or token.radio_id != cmd.radio_id:
            return _Outcome(
                pb.REFUSED,
                None,
                None,
                f"no rollback token {cmd.rollback_token_id!r} for radio {cmd.radio_id!r}",
            )
        current = self._configs[cmd.radio_id]
        change = ConfigChange.between(current, config_from_pb(token.prior_config))
        # A rollback ignores safe-zone rate limits (it undoes a change) but never radar blocks.
        violations = admission_violations(
            radio, self._region, current, change, non_occupancy=self._non_occupancy.blocked(cmd.radio_id, now)
        )
        if violations:
            return _Outcome(pb.REFUSED, current, current, "; ".join(violations))
        outcome = await self._drive(cmd.radio_id, current, change, pb.ROLLED_BACK)
        if outcome.status == pb.ROLLED_BACK:
            self.rollbacks += 1
        return _Outcome(outcome.status, outcome.before, outcome.after, outcome.error, token)

    def _policy_update(self, policy: pb.PolicyUpdate) -> str:
        try:
            self._policies.update(policy)
        except PolicyError as exc:
            log.error("policy %s refused: %s", policy.policy_id, exc)
            self._audit_record("policy_update", "", "POLICY_REFUSED", None, None, "", str(exc), "controller")
            return "REFUSED"
        self._audit_record("policy_update", "", "POLICY_APPLIED", None, None, "", policy.policy_id, "controller")
        return "APPLIED"

    def record_autonomous_move(self, event: DriverEvent, trigger_event_id: str) -> None:
        """Report a channel change the AP made by itself (e.g. hostapd's DFS fallback)."""
        if event.config is None:
            return
        before = self._configs.get(event.radio_id)
        self._configs[event.radio_id] = event.config
        token = None
        if before is not None:
            token = pb.RollbackToken(
                token_id=uuid.uuid4().hex,
                radio_id=event.radio_id,
                prior_config=config_to_pb(before),
                created_at_ms=ms(event.timestamp),
                expires_at_ms=ms(event.timestamp + TOKEN_TTL_S),
                loop="EVENT",
            )
            self._tokens.save(token)
        self._report(
            origin=pb.AP_AUTONOMOUS,
            radio_id=event.radio_id,
            change_id="",
            reason=event.metadata.get("reason", event.type.value),
            outcome=_Outcome(pb.APPLIED, before, event.config, token=token),
            started=event.timestamp,
            actor=f"ap:{event.radio_id}",
            record_type="ap_autonomous_move",
            trigger_event_id=trigger_event_id,
        )

    def _report(
        self,
        *,
        origin: pb.ActionOrigin.ValueType,
        radio_id: str,
        change_id: str,
        reason: str,
        outcome: _Outcome,
        started: float,
        actor: str,
        record_type: str,
        trigger_event_id: str = "",
    ) -> None:
        action_id = uuid.uuid4().hex
        report = pb.ActionReport(
            action_id=action_id,
            change_id=change_id,
            radio_id=radio_id,
            origin=origin,
            status=outcome.status,
            reason=reason,
            trigger_event_id=trigger_event_id,
            started_at_ms=ms(started),
            completed_at_ms=ms(self._clock.now()),
            error=outcome.error,
        )
        if outcome.token is not None:
            report.rollback_token.CopyFrom(outcome.token)
        if outcome.before is not None:
            report.before.CopyFrom(config_to_pb(outcome.before))
        if outcome.after is not None:
            report.after.CopyFrom(config_to_pb(outcome.after))
        if outcome.status in (pb.APPLIED, pb.ROLLED_BACK):
            self.actions += 1
        log.info(
            "%s on %s: %s%s",
            record_type,
            radio_id,
            pb.ActionStatus.Name(outcome.status),
            f" ({outcome.error})" if outcome.error else "",
        )
        self._emit(pb.AgentMessage(message_id=action_id, action_report=report))
        self._audit_record(
            record_type,
            radio_id,
            pb.ActionStatus.Name(outcome.status),
            outcome.before,
            outcome.after,
            outcome.token.token_id if outcome.token else "",
            json.dumps({"change_id": change_id, "reason": reason, "error": outcome.error}, sort_keys=True),
            actor,
        )

    def _audit_record(
        self,
        record_type: str,
        radio_id: str,
        outcome: str,
        before: RadioConfig | None,
        after: RadioConfig | None,
        token_id: str,
        details: str,
        actor: str,
    ) -> None:
        record = pb.AuditRecord(
            timestamp_ms=ms(self._clock.now()),
            actor=actor,
            record_type=record_type,
            radio_id=radio_id,
            reason_code=record_type.upper(),
            rollback_token_id=token_id,
            outcome=outcome,
            details_json=details,
        )
        if before is not None:
            record.before.CopyFrom(config_to_pb(before))
        if after is not None:
            record.after.CopyFrom(config_to_pb(after))
        chained = self._audit.append(record)
        self._emit(pb.AgentMessage(message_id=chained.record_id, audit=chained))
