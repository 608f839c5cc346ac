"""Executing the controller's commands on the radios, once each, with reports.

For each ConfigCommand: refuse it if late, else apply it through RadioActions (the same checks as
the agent's own moves) and report the outcome through the ActionLedger. A RollbackCommand restores
a token's config. A PolicyUpdate replaces the radio's safe zones. Every command is handled once:
a resent command id is only acknowledged again. Changes the AP made on its own (a DFS fallback)
are reported the same way, as AP_AUTONOMOUS.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from drivers.protocol import DriverEvent
from edge_agent.action_ledger import ActionLedger, ActionOutcome, ActionRecord
from edge_agent.command_journal import CommandJournal
from edge_agent.policy_book import PolicyBook, PolicyError
from edge_agent.radio_actions import RadioActions
from rrm.clock import Clock
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import change_from_pb, ms

log = logging.getLogger(__name__)


class CommandExecutor:
    def __init__(
        self,
        *,
        actions: RadioActions,
        ledger: ActionLedger,
        journal: CommandJournal,
        policies: PolicyBook,
        clock: Clock,
    ) -> None:
        self._actions = actions
        self._ledger = ledger
        self._journal = journal
        self._policies = policies
        self._clock = clock

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

    async def _run_for_radio(
        self,
        radio_id: str,
        change_id: str,
        reason: str,
        origin: pb.ActionOrigin.ValueType,
        record_type: str,
        deadline_ms: int,
        work: Callable[[], Awaitable[ActionOutcome]],
    ) -> str:
        """Run one command under the radio's lock unless it is late, then report its outcome."""
        started = self._clock.now()
        if deadline_ms and ms(started) > deadline_ms:
            outcome = ActionOutcome(pb.EXPIRED, None, None, f"arrived after its deadline ({deadline_ms} ms)")
        else:
            async with self._actions.lock(radio_id):
                outcome = await work()
        self._ledger.report(
            ActionRecord(
                origin=origin,
                radio_id=radio_id,
                record_type=record_type,
                reason_code=record_type.upper(),
                reason=reason,
                outcome=outcome,
                started=started,
                actor="controller",
                change_id=change_id,
            )
        )
        return pb.ActionStatus.Name(outcome.status)

    async def _config_command(self, cmd: pb.ConfigCommand) -> str:
        return await self._run_for_radio(
            cmd.radio_id,
            cmd.change_id,
            cmd.reason,
            pb.CONTROLLER_COMMAND,
            "config_command",
            cmd.deadline_ms,
            lambda: self._actions.change(
                cmd.radio_id,
                change_from_pb(cmd.parameters),
                loop=cmd.loop or "OPERATOR",
                token_id=cmd.rollback_token_id,
                change_id=cmd.change_id,
            ),
        )

    async def _rollback_command(self, cmd: pb.RollbackCommand) -> str:
        return await self._run_for_radio(
            cmd.radio_id,
            cmd.rollback_id,
            cmd.reason,
            pb.ROLLBACK,
            "rollback_command",
            cmd.deadline_ms,
            lambda: self._actions.restore(cmd.radio_id, cmd.rollback_token_id),
        )

    def _policy_update(self, policy: pb.PolicyUpdate) -> str:
        try:
            self._policies.update(policy)
        except PolicyError as exc:
            log.error("policy %s refused: %s", policy.policy_id, exc)
            self._ledger.note("policy_update", "", "POLICY_REFUSED", {"error": str(exc)}, "controller")
            return "REFUSED"
        self._ledger.note("policy_update", "", "POLICY_APPLIED", {"policy_id": policy.policy_id}, "controller")
        return "APPLIED"

    def record_autonomous_move(self, event: DriverEvent, trigger_event_id: str) -> None:
        """Report a channel change the AP made by itself (e.g. hostapd's DFS fallback)."""
        if event.config is None:
            return
        before = self._actions.configs.get(event.radio_id)
        self._actions.configs[event.radio_id] = event.config
        token = self._actions.autonomous_move_token(event.radio_id, before, event.timestamp) if before else None
        self._ledger.report(
            ActionRecord(
                origin=pb.AP_AUTONOMOUS,
                radio_id=event.radio_id,
                record_type="ap_autonomous_move",
                reason_code=event.metadata.get("reason", event.type.value).upper(),
                reason=event.metadata.get("reason", event.type.value),
                outcome=ActionOutcome(pb.APPLIED, before, event.config, token=token),
                started=event.timestamp,
                actor=f"ap:{event.radio_id}",
                trigger_event_id=trigger_event_id,
                inputs=dict(event.metadata),
            )
        )
