"""The real edge agents of the system evaluation, in one process, without the gRPC link.

One ``AgentRuntime`` per AP on the simulated driver, its event loop, telemetry and outbox as in
production; the link is replaced by this module: ``drain`` reads what each agent would send (its
outbox), turns events and the agents' own applied actions into the scheduler's reports and
acknowledges everything; ``send_config`` and ``roll_back`` hand controller commands to the
agent's command executor (admission checks, rollback tokens, the agent's own audit), as the
link does when a command arrives. Tallies what the event loops did, from the reports.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from controller.agent_reports import action_kind, reported
from controller.ap_locks import ReportedAction, ReportedEvent
from controller.scheduler import TickReports
from drivers.sim.driver import SimDriver
from drivers.sim.world import SimWorld
from edge_agent.event_policy import EventPolicy
from edge_agent.runtime import AgentRuntime, AgentSettings
from radio_domain.identifiers import IdentifierHasher
from radio_domain.radio import ConfigChange, split_radio_id
from rrm.clock import VirtualClock
from rrm.evaluation.fast_loop_checks import AppliedConfig
from rrm.evaluation.fast_loop_world import ChangeLedger
from rrm.sqlite_files import open_database
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import change_to_pb, config_from_pb

DRAIN_LIMIT = 10_000
_KEY = b"system-eval-identifier-key-32byt"


@dataclass
class AgentTally:
    events: Counter[str] = field(default_factory=Counter)  # event type -> reported events
    actions: Counter[str] = field(default_factory=Counter)  # origin:status -> action reports
    commanded: list[AppliedConfig] = field(default_factory=list)  # what the controller's commands changed


class AgentCrashed(RuntimeError):
    """One of the in-process agents' loops ended with an error during the evaluation."""


class InProcessAgents:
    def __init__(
        self, world: SimWorld, clock: VirtualClock, state_dir: Path, policy: EventPolicy, ledger: ChangeLedger
    ) -> None:
        self.world = world
        self.ledger = ledger  # every change and rollback the agents report, as the NetworkView derives them
        self.drivers: list[SimDriver] = []
        self.agents: dict[str, AgentRuntime] = {}
        hasher = IdentifierHasher(_KEY)
        for ap_id in world.ap_ids():
            driver = SimDriver(world, [ap_id])
            self.drivers.append(driver)
            settings = AgentSettings(agent_id=ap_id, region=world.region, event_policy=policy)
            db = open_database(state_dir / f"{ap_id}.db")
            self.agents[ap_id] = AgentRuntime(settings, driver, db, hasher, clock, None)
        self.tally = AgentTally()

    async def start(self) -> None:
        for agent in self.agents.values():
            await agent.start()

    async def stop(self) -> None:
        for agent in self.agents.values():
            await agent.stop()

    def check_running(self) -> None:
        """Raise AgentCrashed if an agent's loop has failed: the figures would not be the loops' any more."""
        for ap_id, agent in self.agents.items():
            crash = agent.crashed()
            if crash is not None:
                loop, error = crash
                raise AgentCrashed(f"agent {ap_id}: its {loop} loop failed: {type(error).__name__}: {error}") from error

    def drain(self) -> TickReports:
        events: list[ReportedEvent] = []
        actions: list[ReportedAction] = []
        for agent in self.agents.values():
            outbox = agent.outbox
            telemetry = outbox.pending(durable=False, after_seq=0, limit=DRAIN_LIMIT)
            durable = outbox.pending(durable=True, after_seq=0, limit=DRAIN_LIMIT)
            for entry in durable:
                msg = pb.AgentMessage.FromString(entry.payload)
                self._count(msg)
                report = reported(msg)
                if isinstance(report, ReportedEvent):
                    events.append(report)
                elif isinstance(report, ReportedAction):
                    actions.append(report)
            outbox.ack([e.message_id for e in telemetry + durable])
        return TickReports(tuple(events), tuple(actions))

    def _count(self, msg: pb.AgentMessage) -> None:
        body = msg.WhichOneof("body")
        if body == "event":
            self.tally.events[pb.EventType.Name(msg.event.type)] += 1
        elif body == "action_report":
            r = msg.action_report
            self.tally.actions[action_kind(r)] += 1
            self._ledger(r)

    def _ledger(self, r: pb.ActionReport) -> None:
        if r.status not in (pb.APPLIED, pb.ROLLED_BACK) or not (r.HasField("before") and r.HasField("after")):
            return
        at = r.completed_at_ms / 1000.0
        before, after = config_from_pb(r.before), config_from_pb(r.after)
        change_id = r.change_id or r.action_id
        self.ledger.record(r.radio_id, change_id, before, after, at)
        rollback = r.status == pb.ROLLED_BACK
        if rollback:
            self.ledger.rollback(r.radio_id, at)
        if r.origin == pb.CONTROLLER_COMMAND or (rollback and r.change_id):
            self.tally.commanded.append(AppliedConfig(r.radio_id, change_id, before, after, at, rollback))

    async def send_config(self, radio_id: str, change: ConfigChange, change_id: str, loop: str, reason: str) -> bool:
        """The command as the agent receives it; True when the radio took the change."""
        before = self.world.config(radio_id)
        command = pb.ConfigCommand(
            change_id=change_id,
            radio_id=radio_id,
            parameters=change_to_pb(change),
            rollback_token_id=f"rt-{change_id}",
            reason=reason,
            loop=loop,
        )
        await self._agent(radio_id).executor.handle(pb.ControllerMessage(message_id=change_id, config_command=command))
        await asyncio.sleep(0)
        return self.world.config(radio_id) != before

    async def roll_back(self, radio_id: str, change_id: str, reason: str) -> bool:
        before = self.world.config(radio_id)
        rollback_id = f"{change_id}-rollback"
        command = pb.RollbackCommand(
            rollback_id=rollback_id, radio_id=radio_id, rollback_token_id=f"rt-{change_id}", reason=reason
        )
        message = pb.ControllerMessage(message_id=rollback_id, rollback_command=command)
        await self._agent(radio_id).executor.handle(message)
        return self.world.config(radio_id) != before

    def _agent(self, radio_id: str) -> AgentRuntime:
        return self.agents[split_radio_id(radio_id)[0]]

    def event_loop_stats(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for agent in self.agents.values():
            stats = agent.event_loop.stats
            totals["processed"] += stats.processed
            totals["actions"] += stats.actions
            totals["rollbacks"] += stats.rollbacks
            totals["deferred_by_cooldown"] += stats.deferred_by_cooldown
            totals["alarms"] += stats.alarms
        return dict(sorted(totals.items()))
