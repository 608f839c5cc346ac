"""The controller process core: its stores, the agent link server and the commands it sends.

State lives in ``state_dir``: ``controller.db`` (agents, commands; written on the event loop) and
``ingest.db`` (everything agents send; written only by the ingest writer process), so the two writers never
wait for each other.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from controller.command_queue import CommandQueue
from controller.ingest_store import open_ingest_database
from controller.ingest_writer import IngestItem, IngestWriter
from controller.link_servicer import AgentLinkServicer, LinkPolicy
from controller.registry import AgentRegistry, AgentSession
from controller.server import build_server, mark_not_serving, mark_serving
from controller.telemetry_window import TelemetryWindows
from radio_domain.radio import ConfigChange
from rrm.clock import Clock
from rrm.sqlite_files import open_database
from rrm.tls_files import CertPaths
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import change_to_pb, ms

log = logging.getLogger(__name__)

Listener = Callable[[str, pb.AgentMessage], None]
"""Called with (agent id, message) for every newly stored event, action report and audit record."""


class UnknownRadio(LookupError):
    """No agent has ever said it manages this radio."""


@dataclass(frozen=True, slots=True)
class ControllerSettings:
    state_dir: Path
    listen: str = "127.0.0.1:50051"
    tls: CertPaths | None = None
    controller_id: str = "controller"
    heartbeat_interval_s: int = 10
    max_message_bytes: int = 4 * 1024 * 1024
    max_batch_samples: int = 2000
    telemetry_retention_s: float = 24 * 3600.0
    telemetry_window_s: float = 300.0


@dataclass
class IngestCounters:
    telemetry_messages: int = 0
    telemetry_samples: int = 0
    duplicates: int = 0
    events_by_type: Counter[str] = field(default_factory=Counter)
    actions: int = 0
    rollbacks: int = 0


class ControllerApp:
    def __init__(self, settings: ControllerSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self._db = open_database(settings.state_dir / "controller.db")
        self.registry = AgentRegistry(self._db)
        self.commands = CommandQueue(self._db)
        self.counters = IngestCounters()
        self.listeners: list[Listener] = []
        self._writer: IngestWriter | None = None
        self.telemetry: TelemetryWindows | None = None
        self._server: grpc.aio.Server | None = None
        self.port = 0
        self.servicer: AgentLinkServicer | None = None
        self.fatal = ""
        self.failed = asyncio.Event()

    async def start(self) -> int:
        """Open the stores and serve; returns the bound port."""
        if self.settings.tls is None:
            log.warning("the agent link is PLAIN TEXT (--insecure): agents are not authenticated")
        self._writer = IngestWriter(
            self.settings.state_dir / "ingest.db",
            self._on_stored,
            self.settings.telemetry_retention_s,
            on_failure=self._fail,
        )
        self._writer.start()
        self.telemetry = TelemetryWindows(
            open_ingest_database(self.settings.state_dir / "ingest.db"),
            self.registry.owner_of,
            window_s=self.settings.telemetry_window_s,
        )
        policy = LinkPolicy(
            controller_id=self.settings.controller_id,
            require_client_certificate=self.settings.tls is not None,
            heartbeat_interval_s=self.settings.heartbeat_interval_s,
            max_batch_samples=self.settings.max_batch_samples,
        )
        self.servicer = AgentLinkServicer(policy, self.registry, self._writer, self.commands, self.clock)
        self._server, self.port, self._health = build_server(
            self.servicer, self.settings.listen, self.settings.tls, self.settings.max_message_bytes
        )
        await self._server.start()
        await mark_serving(self._health)
        log.info("controller %s listening on port %d", self.settings.controller_id, self.port)
        return self.port

    @property
    def ingest_writer_pid(self) -> int | None:
        return self._writer.pid if self._writer is not None else None

    def _fail(self, why: str) -> None:
        """Something the controller cannot work without broke: its runner should exit and be restarted."""
        self.fatal = why
        self.failed.set()

    async def stop(self, grace_s: float = 1.0) -> None:
        """Stop serving, store what was received, close the databases."""
        if self._server is not None:
            await mark_not_serving(self._health)
            await self._server.stop(grace_s)
            self._server = None
        if self._writer is not None:
            await self._writer.stop()
            self._writer = None
        if self.telemetry is not None:
            self.telemetry.close()
        self._db.close()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()

    def _on_stored(self, results: Sequence[tuple[IngestItem, bool]]) -> None:
        acks: dict[int, tuple[AgentSession, list[str]]] = {}
        for item, stored in results:
            session = item.session
            assert isinstance(session, AgentSession)
            acks.setdefault(id(session), (session, []))[1].append(item.record.message_id)
            if stored:
                self._count(item)
            else:
                self.counters.duplicates += 1
        for session, ids in acks.values():
            if not session.closed.is_set():
                session.send(pb.ControllerMessage(ack=pb.Ack(message_ids=ids)))

    def _count(self, item: IngestItem) -> None:
        msg = item.message
        if msg is None:  # telemetry
            self.counters.telemetry_messages += 1
            self.counters.telemetry_samples += item.weight
            return
        body = msg.WhichOneof("body")
        if body == "event":
            self.counters.events_by_type[pb.EventType.Name(msg.event.type)] += 1
        elif body == "action_report":
            status = msg.action_report.status
            self.counters.actions += status == pb.APPLIED
            self.counters.rollbacks += status == pb.ROLLED_BACK
        for listener in self.listeners:
            listener(item.record.agent_id, msg)

    def _owner(self, radio_id: str) -> str:
        owner = self.registry.owner_of(radio_id)
        if owner is None:
            raise UnknownRadio(f"no agent manages radio {radio_id!r}")
        return owner

    def _enqueue(self, agent_id: str, msg: pb.ControllerMessage) -> None:
        self.commands.enqueue(agent_id, msg, ms(self.clock.now()))
        session = self.registry.sessions.get(agent_id)
        if session is not None:
            session.send(msg)

    def send_config(
        self,
        radio_id: str,
        change: ConfigChange,
        *,
        reason: str,
        loop: str = "OPERATOR",
        deadline_s: float | None = 300.0,
        change_id: str = "",
    ) -> str:
        """Queue a config change for the radio's agent; returns the change id (also the message id)."""
        agent_id = self._owner(radio_id)
        change_id = change_id or uuid.uuid4().hex
        deadline = ms(self.clock.now() + deadline_s) if deadline_s else 0
        command = pb.ConfigCommand(
            change_id=change_id,
            radio_id=radio_id,
            parameters=change_to_pb(change),
            rollback_token_id=f"rt-{change_id}",
            deadline_ms=deadline,
            reason=reason,
            loop=loop,
        )
        self._enqueue(agent_id, pb.ControllerMessage(message_id=change_id, config_command=command))
        return change_id

    def send_rollback(self, radio_id: str, rollback_token_id: str, *, reason: str, deadline_s: float = 300.0) -> str:
        agent_id = self._owner(radio_id)
        rollback_id = uuid.uuid4().hex
        command = pb.RollbackCommand(
            rollback_id=rollback_id,
            radio_id=radio_id,
            rollback_token_id=rollback_token_id,
            reason=reason,
            deadline_ms=ms(self.clock.now() + deadline_s),
        )
        self._enqueue(agent_id, pb.ControllerMessage(message_id=rollback_id, rollback_command=command))
        return rollback_id

    def send_policy(self, agent_id: str, policy: pb.PolicyUpdate) -> str:
        if not policy.policy_id:
            policy.policy_id = uuid.uuid4().hex
        self._enqueue(agent_id, pb.ControllerMessage(message_id=policy.policy_id, policy_update=policy))
        return policy.policy_id
