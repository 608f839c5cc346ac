"""The edge agent: one driver, its local logic, the outbox and the controller link, as one process.

Four independent activities run side by side: the event pump (driver events -> records and the
event loop), the event loop (decisions and local actions with rollback, event_loop.py), the
telemetry sampler (driver state -> batches, and readings for the event loop), and the link. Local
work only ever writes to the outbox, so it goes on unchanged while the controller is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from dataclasses import dataclass, field

from drivers.protocol import DriverError, DriverEvent, RadioDriver, RadioInfo
from edge_agent.action_ledger import ActionLedger
from edge_agent.backoff import ExponentialBackoff
from edge_agent.command_executor import CommandExecutor
from edge_agent.command_journal import CommandJournal
from edge_agent.dfs_state import DfsState
from edge_agent.event_loop import EventLoop
from edge_agent.event_policy import EventPolicy
from edge_agent.link import ControllerLink, LinkSettings
from edge_agent.local_audit import LocalAuditLog
from edge_agent.outbox import Outbox, OutboxFull
from edge_agent.policy_book import PolicyBook
from edge_agent.radio_actions import RadioActions
from edge_agent.rollback_tokens import RollbackTokenStore
from edge_agent.telemetry import TelemetrySampler
from radio_domain.events import DEFAULT_SEVERITY, EventType
from radio_domain.identifiers import IdentifierHasher
from radio_domain.radio import RadioConfig
from radio_domain.regulatory import Region
from rrm import __version__
from rrm.clock import Clock
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import PROTOCOL_VERSION, descriptor_to_pb, event_type_to_pb, ms, severity_to_pb

log = logging.getLogger(__name__)

PUMP_YIELD_EVERY = 16  # driver events between two chances for the event loop to run


@dataclass(frozen=True, slots=True)
class AgentSettings:
    agent_id: str
    region: Region
    telemetry_interval_s: float = 10.0
    max_telemetry_backlog: int = 20_000
    max_durable_backlog: int = 200_000
    opted_out_clients: tuple[str, ...] = ()
    software_version: str = __version__
    event_policy: EventPolicy = field(default_factory=EventPolicy)


@dataclass
class AgentCounters:
    events: int = 0
    telemetry_batches: int = 0
    samples: int = 0
    driver_errors: int = 0
    by_event_type: dict[str, int] = field(default_factory=dict)


class AgentRuntime:
    def __init__(
        self,
        settings: AgentSettings,
        driver: RadioDriver,
        db: sqlite3.Connection,
        hasher: IdentifierHasher,
        clock: Clock,
        link_settings: LinkSettings | None,
        *,
        backoff: ExponentialBackoff | None = None,
        network_clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.driver = driver
        self.clock = clock
        self.outbox = Outbox(db, max_telemetry=settings.max_telemetry_backlog, max_durable=settings.max_durable_backlog)
        self.audit = LocalAuditLog(db)
        self.radios: dict[str, RadioInfo] = {r.radio_id: r for r in driver.radios()}
        self.configs: dict[str, RadioConfig] = {}
        self.counters = AgentCounters()
        self._sampler = TelemetrySampler(hasher, settings.opted_out_clients)
        self._last_trigger: dict[str, str] = {}
        self.dfs = DfsState(db, clock.now())
        journal = CommandJournal(db)
        policies = PolicyBook(db)
        self.ledger = ActionLedger(self.audit, self.emit, clock)
        self.actions = RadioActions(
            agent_id=settings.agent_id,
            region=settings.region,
            driver=driver,
            radios=self.radios,
            configs=self.configs,
            journal=journal,
            non_occupancy=self.dfs,
            tokens=RollbackTokenStore(db),
            policies=policies,
            clock=clock,
        )
        self.executor = CommandExecutor(
            actions=self.actions, ledger=self.ledger, journal=journal, policies=policies, clock=clock
        )
        self.event_loop = EventLoop(
            policy=settings.event_policy, actions=self.actions, ledger=self.ledger, dfs=self.dfs, clock=clock
        )
        self.link = (
            ControllerLink(
                link_settings,
                self.outbox,
                self.hello,
                self.executor.handle,
                backoff=backoff,
                network_clock=network_clock,
            )
            if link_settings is not None
            else None
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False  # set by stop(): the driver's event stream then ends on purpose

    def running_loops(self) -> list[str]:
        """Names of the agent's activities still running (event-pump, telemetry, link)."""
        return [task.get_name() for task in self._tasks if not task.done()]

    async def hello(self) -> pb.Hello:
        await self._refresh_configs()
        return pb.Hello(
            agent_id=self.settings.agent_id,
            software_version=self.settings.software_version,
            protocol_version=PROTOCOL_VERSION,
            regulatory_domain=self.settings.region.value,
            radios=[descriptor_to_pb(info, self.configs[rid]) for rid, info in self.radios.items()],
            outbox_depth=self.outbox.counters().depth,
        )

    async def _refresh_configs(self) -> None:
        for state in await self.driver.state():
            self.configs[state.radio_id] = state.config

    def emit(self, message: pb.AgentMessage) -> None:
        """Put a durable message in the outbox; a full outbox is logged and counted, never silent."""
        self._report_refusals()
        try:
            self.outbox.put(message)
        except OutboxFull as exc:
            log.error("%s", exc)
            return
        if self.link is not None:
            self.link.wake()

    def _report_refusals(self) -> None:
        """Once there is room again, say how many durable records the full outbox refused."""
        if not self.outbox.has_room_for_durable():
            return
        refused = self.outbox.take_refused_report()
        if not refused:
            return
        event = pb.RadioEvent(
            event_id=uuid.uuid4().hex,
            type=pb.OUTBOX_OVERFLOW,
            severity=pb.HIGH,
            timestamp_ms=ms(self.clock.now()),
            confidence=1.0,
            metadata={"refused_durable_records": str(refused)},
        )
        self.outbox.put(pb.AgentMessage(message_id=event.event_id, event=event))

    async def start(self) -> None:
        """Read the radios' configs and start the local loops and the link."""
        await self._refresh_configs()
        self._tasks = [
            asyncio.create_task(self._event_pump(), name="event-pump"),
            asyncio.create_task(self.event_loop.run(), name="event-loop"),
            asyncio.create_task(self._telemetry_loop(), name="telemetry"),
        ]
        if self.link is not None:
            self._tasks.append(asyncio.create_task(self.link.run(), name="link"))

    async def run(self) -> None:
        await self.start()
        await asyncio.gather(*self._tasks)  # a loop that fails ends the agent (crash and restart)

    def crashed(self) -> tuple[str, BaseException] | None:
        """The first of the agent's loops that ended with an error, and the error; None while all run.

        For hosts that ``start`` the agent without ``run`` (the system evaluation): a failed loop would
        otherwise leave the agent half alive, without telemetry or decisions, and nothing would say so.
        """
        for task in self._tasks:
            if task.done() and not task.cancelled() and (error := task.exception()) is not None:
                return task.get_name(), error
        return None

    async def stop(self, *, close_driver: bool = True) -> None:
        """Stop the loops and the link; ``close_driver=False`` leaves the radios' driver open."""
        self._stopping = True
        if self.link is not None:
            await self.link.stop()
        if close_driver:
            await self.driver.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def sample_telemetry(self) -> None:
        states = await self.driver.state()
        if not states:
            return
        batch = pb.TelemetryBatch()
        for state in states:
            self.configs[state.radio_id] = state.config
            batch.samples.append(self._sampler.sample(state))
        self.event_loop.observe_states(states)
        self.counters.telemetry_batches += 1
        self.counters.samples += len(states)
        self.emit(pb.AgentMessage(message_id=uuid.uuid4().hex, telemetry=batch))

    async def _telemetry_loop(self) -> None:
        while True:
            await self.clock.sleep(self.settings.telemetry_interval_s)
            try:
                await self.sample_telemetry()
            except DriverError as exc:
                self.counters.driver_errors += 1
                log.warning("telemetry skipped this interval: %s", exc)

    async def _event_pump(self) -> None:
        pumped = 0
        async for event in self.driver.events():
            pumped += 1
            if self.handle_event(event):
                await self.event_loop.process_pending()  # radar does not wait behind the rest of a burst
            elif pumped % PUMP_YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a burst of events lets the event loop decide as it goes
        if self._stopping:
            log.info("the %s driver's event stream ended: the agent is stopping", self.driver.name)
        else:
            log.error(
                "the %s driver's event stream ended; no more radio events until the agent restarts", self.driver.name
            )

    def handle_event(self, event: DriverEvent) -> bool:
        """Record a driver event and do the local follow-up (reports of the AP's own moves).

        Returns True when the event loop should act on it at once (a critical event).
        """
        event_id = uuid.uuid4().hex
        self.counters.events += 1
        self.counters.by_event_type[event.type.value] = self.counters.by_event_type.get(event.type.value, 0) + 1
        msg = pb.RadioEvent(
            event_id=event_id,
            radio_id=event.radio_id,
            type=event_type_to_pb(event.type),
            severity=severity_to_pb(DEFAULT_SEVERITY[event.type]),
            timestamp_ms=ms(event.timestamp),
            confidence=event.confidence,
            channel=event.channel,
            metadata=dict(event.metadata),
        )
        self.emit(pb.AgentMessage(message_id=event_id, event=msg))
        if event.type is EventType.CHANNEL_SWITCHED:
            self.executor.record_autonomous_move(event, self._last_trigger.get(event.radio_id, ""))
        else:
            self._last_trigger[event.radio_id] = event_id
        return self.event_loop.observe_driver_event(event, event_id)
