"""The controller process core: its stores, the agent link server and the commands it sends.

State lives in ``state_dir``: ``controller.db`` (agents, commands; written on the event loop) and
``ingest.db`` (everything agents send; written only by the ingest writer process), so the two writers never
wait for each other. The signed audit trail is ``audit.db`` there too, or a PostgreSQL database when
``audit_db`` gives its URL (controller/audit_trail.py); its keys are files in ``state_dir`` either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from controller.approvals import ApprovalQueue
from controller.audit_archive_file import ARCHIVE_SUBDIR
from controller.audit_chain import AuditDraft, AuditRefused
from controller.audit_keys import load_or_create_signing_key
from controller.audit_retention import ArchiveError, ArchiveRefused, AuditRetention
from controller.audit_trail import AUDIT_DB_FILE, AuditTrail, AuditTrailError
from controller.change_ledger import ChangeLedger
from controller.change_pipeline import ChangePipeline
from controller.command_queue import CommandQueue
from controller.ingest_store import open_ingest_database
from controller.ingest_writer import IngestItem, IngestWriter
from controller.link_servicer import AgentLinkServicer, LinkPolicy
from controller.network_view import NetworkView
from controller.operator_requests import OperatorRequests
from controller.registry import AgentRegistry, AgentSession
from controller.server import build_server, mark_not_serving, mark_serving
from controller.site_policy import SitePolicy
from controller.site_policy_reloader import SitePolicyReloader
from controller.slow_loop.quality_gate import DEFAULT_QUALITY_THRESHOLD
from controller.telemetry_window import TelemetryWindows
from radio_domain.radio import ConfigChange, split_radio_id
from rrm.clock import Clock
from rrm.sqlite_files import open_database
from rrm.tls_files import CertPaths
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import change_to_pb, config_from_pb, ms

if TYPE_CHECKING:
    from controller.fast_loop.service import FastLoopService
    from controller.scheduler_shim import SchedulerShim

log = logging.getLogger(__name__)

DEFAULT_SITE_POLICY = SitePolicy()

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
    site_policy: Path | None = None  # the operator's site policy file (site_policy_file.py); built-ins when None
    tick_interval_s: float = 5.0  # approvals, rollback triggers, operator requests, policy reloads
    audit_db: str | None = None  # a postgresql:// URL for the audit trail; None: state_dir/audit.db (SQLite)
    audit_archive_after_days: float | None = None  # archive signed spans older than this, daily; None: never
    audit_archive_dir: Path | None = None  # default: state_dir/archive, where `rrm audit` looks
    fast_loop: str = "shadow"  # off | shadow | on (controller/fast_loop/service.py); shadow: audited, never sent
    fast_loop_tick_s: float = 10.0  # the scheduler's tick (controller/scheduler.py); the fast loop is its last step
    site: str = "default"  # the RF domain this controller owns (what `rrm plan --site` names)
    slow_loop: str = "heuristic"  # a slow-loop policy (controller/slow_loop/policy_registry.py), or "off"
    slow_loop_model: Path | None = None  # safe_rl's model file (`rrm train slow-loop --out`); needed for safe_rl
    slow_loop_window: str = "02:00-04:00"  # when it plans by itself, in site_timezone; on demand: `rrm plan`
    site_timezone: str = "UTC"
    monitoring_window_s: float = 300.0  # an agent's event locks its AP against both loops this long
    plan_approval_above_aps: int = 6  # larger plans wait for an operator (`rrm approvals approve PLAN_ID`)
    plan_observation_s: float = 600.0  # QoE window after each plan step; a drop > 10 % rolls the plan back
    # a window's plan runs only while some radio's client QoE is below this; None: always (quality_gate.py)
    plan_quality_threshold: float | None = DEFAULT_QUALITY_THRESHOLD
    plan_deviation_gain: float = 0.05  # what a fast-loop channel change off the plan must predict


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
        self.audit: AuditTrail | None = None
        self.pipeline: ChangePipeline | None = None
        self._view: NetworkView | None = None
        self._site_reloader = SitePolicyReloader(settings.site_policy) if settings.site_policy else None
        self._ticker: asyncio.Task[None] | None = None
        self.retention: AuditRetention | None = None
        self.fast_loop: FastLoopService | None = None
        self._fast_ticker: asyncio.Task[None] | None = None
        self.scheduler: SchedulerShim | None = None

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
        self._start_pipeline()
        self.servicer = AgentLinkServicer(policy, self.registry, self._writer, self.commands, self.clock)
        self._server, self.port, self._health = build_server(
            self.servicer, self.settings.listen, self.settings.tls, self.settings.max_message_bytes
        )
        await self._server.start()
        await mark_serving(self._health)
        self._ticker = asyncio.create_task(self._tick_loop(), name="controller-ticks")
        self._start_fast_loop()
        self._start_scheduler()
        log.info("controller %s listening on port %d", self.settings.controller_id, self.port)
        return self.port

    def _start_pipeline(self) -> None:
        """The signed audit trail and the one path for changes (change_pipeline.py)."""
        state = self.settings.state_dir
        trail = self.settings.audit_db or state / AUDIT_DB_FILE  # the keys stay files in state_dir either way
        signing_key = load_or_create_signing_key(state)
        self.audit = AuditTrail.open(trail, signing_key, clock=self.clock)
        if self.settings.audit_archive_after_days is not None:
            self.retention = AuditRetention(
                target=trail,
                archive_dir=self.settings.audit_archive_dir or state / ARCHIVE_SUBDIR,
                public_key=signing_key.public_key(),
                archive_after_days=self.settings.audit_archive_after_days,
            )
        self._view = NetworkView(open_ingest_database(state / "ingest.db"), self.registry)
        reloader = self._site_reloader
        self.pipeline = ChangePipeline(
            sender=self,
            view=self._view,
            site=self.site_policy,
            ledger=ChangeLedger(self._db),
            approvals=ApprovalQueue(self._db),
            audit=self.audit,
            requests=OperatorRequests(self._db),
            clock=self.clock,
            reload_site=self._reload_site_policy if reloader else None,
        )
        self.listeners.append(self.pipeline.on_agent_message)
        self.listeners.append(self._audit_agent_action)

    def _start_fast_loop(self) -> None:
        """The fast loop's periodic task (controller/fast_loop/service.py), unless it is off."""
        from controller.fast_loop.service import FastLoopMode, FastLoopService  # noqa: PLC0415 - skopt only if on
        from controller.fast_loop.store import FastLoopStore  # noqa: PLC0415 - skopt only if on

        mode = FastLoopMode(self.settings.fast_loop)
        if mode is FastLoopMode.OFF or self.pipeline is None or self._view is None or self.audit is None:
            return
        assert self.telemetry is not None
        self.fast_loop = FastLoopService(
            mode=mode,
            store=FastLoopStore.open(self.settings.state_dir / "fast_loop.db"),
            telemetry=self.telemetry,
            view=self._view,
            pipeline=self.pipeline,
            audit=self.audit,
            site=self.site_policy,
            agents=lambda: self.registry.known_agents().keys(),
        )

    def _start_scheduler(self) -> None:
        """One task runs the loops in the scheduler's order (controller/scheduler.py); the fast loop is its last."""
        from controller.scheduler_setup import build_scheduler  # noqa: PLC0415 - the slow loop's planners

        if self.pipeline is None or self._view is None or self.audit is None:
            return
        self.scheduler = build_scheduler(
            self.settings, self.pipeline, self._view, self.telemetry, self.audit, self.site_policy, self.known_agents
        )
        self.scheduler.attach_fast_loop(self.fast_loop)
        self.listeners.append(self.scheduler.on_agent_message)
        self._fast_ticker = asyncio.create_task(self._fast_loop_ticks(), name="controller-scheduler")

    async def _fast_loop_ticks(self) -> None:
        while True:
            await self.clock.sleep(self.settings.fast_loop_tick_s)
            if self.scheduler is None:
                return
            try:
                self.scheduler.tick(self.clock.now())
            except AuditTrailError as exc:  # no change may go on unaudited: stop, to be restarted
                self._fail(f"the audit trail cannot be written: {exc}")
                return
            except (sqlite3.Error, AuditRefused) as exc:
                log.error("scheduler tick failed: %s", exc)

    def _reload_site_policy(self) -> str | None:
        reloader = self._site_reloader
        if reloader is None or not reloader.changed():
            return None
        problem = reloader.reload()
        if self.audit is not None:
            self.audit.append(
                AuditDraft(
                    timestamp_ms=ms(self.clock.now()),
                    actor="operator:site-policy-file",
                    record_type="site_policy_reload",
                    reason_code="REFUSED" if problem else "APPLIED",
                    reason=problem or f"{reloader.path} reloaded",
                    outcome="KEPT_LAST_GOOD" if problem else "APPLIED",
                )
            )
        return problem

    def _audit_agent_action(self, agent_id: str, msg: pb.AgentMessage) -> None:
        """The agents' own actions (event loop, the AP's DFS moves) join the signed trail too."""
        if msg.WhichOneof("body") != "action_report" or self.audit is None:
            return
        report = msg.action_report
        if report.origin in (pb.CONTROLLER_COMMAND, pb.ROLLBACK):
            return  # the pipeline audits the fate of its own commands
        draft = AuditDraft(
            timestamp_ms=report.completed_at_ms,
            actor=f"agent:{agent_id}",
            record_type="agent_action",
            reason_code=pb.ActionOrigin.Name(report.origin),
            reason=report.reason,
            ap_id=split_radio_id(report.radio_id)[0] if "/" in report.radio_id else "",
            radio_id=report.radio_id,
            change_id=report.change_id or report.action_id,
            rollback_token_id=report.rollback_token.token_id,
            inputs={"trigger_event_id": report.trigger_event_id, "error": report.error},
            before=asdict(config_from_pb(report.before)) if report.HasField("before") else None,
            after=asdict(config_from_pb(report.after)) if report.HasField("after") else None,
            outcome=pb.ActionStatus.Name(report.status),
        )
        try:
            self.audit.append(draft)
        except AuditRefused as exc:
            log.error("an action report from %s was not audited: %s", agent_id, exc)
        except AuditTrailError as exc:
            self._fail(f"the audit trail cannot be written: {exc}")

    async def _tick_loop(self) -> None:
        while True:
            await self.clock.sleep(self.settings.tick_interval_s)
            if self.pipeline is not None:
                try:
                    self.pipeline.tick()
                except AuditTrailError as exc:  # no change may go on unaudited: stop, to be restarted
                    self._fail(f"the audit trail cannot be written: {exc}")
                    return
                except (sqlite3.Error, AuditRefused) as exc:
                    log.error("controller tick failed: %s", exc)
            if self.retention is not None and self.retention.due(self.clock.now()):
                await self._archive_audit()

    async def _archive_audit(self) -> None:
        """The daily archive run, off the event loop; a refusal is loud but does not stop the controller."""
        assert self.retention is not None
        if self.audit is not None:
            self.audit.flush()
        try:
            await asyncio.to_thread(self.retention.run, self.clock.now())
        except ArchiveRefused as exc:
            log.error("audit archive REFUSED, the trail needs an operator (rrm audit verify): %s", exc)
        except ArchiveError as exc:
            log.error("audit archive failed, will try again tomorrow: %s", exc)

    def site_policy(self) -> SitePolicy:
        """The site policy in force (the last good one read from --site-policy, else the built-ins)."""
        return self._site_reloader.current if self._site_reloader else DEFAULT_SITE_POLICY

    def owner_of(self, radio_id: str) -> str | None:
        return self.registry.owner_of(radio_id)

    def known_agents(self) -> dict[str, pb.Hello]:
        return self.registry.known_agents()

    @property
    def ingest_writer_pid(self) -> int | None:
        return self._writer.pid if self._writer is not None else None

    def _fail(self, why: str) -> None:
        """Something the controller cannot work without broke: its runner should exit and be restarted."""
        self.fatal = why
        self.failed.set()

    async def stop(self, grace_s: float = 1.0) -> None:
        """Stop serving, store what was received, close the databases."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._fast_ticker is not None:
            self._fast_ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fast_ticker
            self._fast_ticker = None
        if self.fast_loop is not None:
            self.fast_loop.close()
            self.fast_loop = None
        if self.scheduler is not None and self.scheduler.slow is not None:
            self.scheduler.slow.close()  # the slow loop's history (history_transitions.py)
        if self._server is not None:
            await mark_not_serving(self._health)
            await self._server.stop(grace_s)
            self._server = None
        if self._writer is not None:
            await self._writer.stop()
            self._writer = None
        if self.telemetry is not None:
            self.telemetry.close()
        if self.audit is not None:
            self.audit.close()  # signs a final checkpoint
            self.audit = None
        if self._view is not None:
            self._view.close()
            self._view = None
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
