"""The AgentLink servicer: decode, check, delegate, encode (STYLE.md point 10).

Per stream: authenticate the peer from its client certificate, require a Hello first and check
that the certificate names every AP the Hello claims, answer with a Welcome and any commands still
waiting for this agent, then read. Durable messages go to the ingest writer and are acknowledged
after they are on disk; heartbeats and acks are applied at once. A message that is not a valid
AgentMessage closes only this stream with INVALID_ARGUMENT; a message for a radio the agent does
not own closes it with PERMISSION_DENIED; a message that is well-formed but unacceptable is
answered with a Rejection and the stream goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError

from controller.command_queue import CommandQueue, CommandState
from controller.ingest_store import ingest_record
from controller.ingest_writer import IngestItem, IngestUnavailable, IngestWriter
from controller.message_checks import foreign_radios, hello_problem, invalid_reason
from controller.registry import AgentRegistry, AgentSession
from rrm.clock import Clock
from rrm.pki import AgentIdentity, PkiError, agent_identity
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import PROTOCOL_VERSION, ms

log = logging.getLogger(__name__)

SERVICE_NAME = "rrm.v1.AgentLink"
DURABLE_BODIES = frozenset({"telemetry", "event", "action_report", "audit"})


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    controller_id: str
    require_client_certificate: bool
    heartbeat_interval_s: int = 10
    max_batch_samples: int = 2000


class AgentLinkServicer:
    def __init__(
        self,
        policy: LinkPolicy,
        registry: AgentRegistry,
        writer: IngestWriter,
        commands: CommandQueue,
        clock: Clock,
    ) -> None:
        self.policy = policy
        self._registry = registry
        self._writer = writer
        self._commands = commands
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[object]] = {}
        self.rejected_streams = 0

    def method_handlers(self) -> grpc.GenericRpcHandler:
        # No deserializer: the servicer decodes itself so that garbage gets a clear status.
        handler = grpc.stream_stream_rpc_method_handler(self.connect)
        return grpc.method_handlers_generic_handler(SERVICE_NAME, {"Connect": handler})

    async def connect(self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> None:
        identity = await self._authenticate(context)
        iterator = aiter(requests)
        try:
            first = self._decode(await anext(iterator), 0)
        except StopAsyncIteration:
            return
        except DecodeError as exc:
            await self._abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            return
        session = await self._open_session(first, identity, context)
        writer = asyncio.create_task(self._write(session, context))
        try:
            index = 1
            async for raw in iterator:
                try:
                    msg = self._decode(raw, index)
                except DecodeError as exc:
                    await self._abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
                index += 1
                await self._handle(session, msg, raw, context)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._registry.detach(session, ms(self._clock.now()))
            if self._tasks.get(session.agent_id) is asyncio.current_task():
                del self._tasks[session.agent_id]
            log.info("agent %s disconnected", session.agent_id)

    async def _abort(self, context: grpc.aio.ServicerContext, code: grpc.StatusCode, details: str) -> None:
        self.rejected_streams += 1
        log.warning("closing a stream from %s: %s %s", context.peer(), code.name, details)
        await context.abort(code, details)

    async def _authenticate(self, context: grpc.aio.ServicerContext) -> AgentIdentity | None:
        if not self.policy.require_client_certificate:
            return None
        pem = (context.auth_context().get("x509_pem_cert") or [b""])[0]
        try:
            return agent_identity(pem)
        except (PkiError, ValueError) as exc:
            await self._abort(context, grpc.StatusCode.UNAUTHENTICATED, f"client certificate: {exc}")
            raise AssertionError("unreachable") from None

    @staticmethod
    def _decode(raw: bytes, index: int) -> pb.AgentMessage:
        try:
            return pb.AgentMessage.FromString(raw)
        except DecodeError as exc:
            raise DecodeError(f"message {index} on this stream is not a valid rrm.v1.AgentMessage: {exc}") from None

    async def _open_session(
        self,
        first: pb.AgentMessage,
        identity: AgentIdentity | None,
        context: grpc.aio.ServicerContext,
    ) -> AgentSession:
        if first.WhichOneof("body") != "hello":
            await self._abort(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                f"the first message of a stream must be a hello, not {first.WhichOneof('body')!r}",
            )
        hello = first.hello
        if (problem := hello_problem(hello)) is not None:
            await self._abort(context, grpc.StatusCode.INVALID_ARGUMENT, problem)
        if identity is not None:
            await self._authorize_hello(hello, identity, context)
        now_ms = ms(self._clock.now())
        session = AgentSession(
            agent_id=hello.agent_id,
            identity=identity,
            hello=hello,
            peer=context.peer(),
            connected_at_ms=now_ms,
        )
        session.last_seen_ms = now_ms
        if self._registry.attach(session) is not None:
            log.info("agent %s reconnected; closing its previous stream", hello.agent_id)
            old_task = self._tasks.get(hello.agent_id)
            if old_task is not None:
                old_task.cancel()
        task = asyncio.current_task()
        if task is not None:
            self._tasks[hello.agent_id] = task
        welcome = pb.Welcome(
            controller_id=self.policy.controller_id,
            protocol_version=PROTOCOL_VERSION,
            accepted_radio_ids=sorted(session.radio_ids),
            heartbeat_interval_s=self.policy.heartbeat_interval_s,
            max_batch_samples=self.policy.max_batch_samples,
        )
        session.send(pb.ControllerMessage(welcome=welcome))
        for command in self._commands.pending_for(session.agent_id, now_ms):
            session.send(command)
        log.info("agent %s connected from %s with %d radios", hello.agent_id, session.peer, len(hello.radios))
        return session

    async def _authorize_hello(
        self,
        hello: pb.Hello,
        identity: AgentIdentity,
        context: grpc.aio.ServicerContext,
    ) -> None:
        if hello.agent_id != identity.name:
            await self._abort(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                f"the client certificate is for agent {identity.name!r}; the hello says {hello.agent_id!r}",
            )
        foreign = sorted({r.ap_id for r in hello.radios} - identity.ap_ids)
        if foreign:
            await self._abort(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                f"agent {identity.name!r} may speak for APs {sorted(identity.ap_ids)}, not {foreign}",
            )

    async def _write(self, session: AgentSession, context: grpc.aio.ServicerContext) -> None:
        while True:
            await context.write(await session.outgoing.get())

    async def _handle(
        self,
        session: AgentSession,
        msg: pb.AgentMessage,
        raw: bytes,
        context: grpc.aio.ServicerContext,
    ) -> None:
        body = msg.WhichOneof("body")
        now_ms = ms(self._clock.now())
        session.last_seen_ms = now_ms
        if body in DURABLE_BODIES:
            foreign = foreign_radios(msg, session.radio_ids)
            if foreign:
                await self._abort(
                    context,
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"agent {session.agent_id!r} may not report for radios {foreign}",
                )
            reason = invalid_reason(msg, self.policy.max_batch_samples)
            if reason is not None:
                log.warning("agent %s sent an invalid %s %s: %s", session.agent_id, body, msg.message_id, reason)
                session.send(_rejection(msg.message_id, "invalid", reason))
                return
            record = ingest_record(session.agent_id, msg, raw, now_ms)
            if body == "telemetry":
                item = IngestItem(record, session, weight=len(msg.telemetry.samples))
            else:
                item = IngestItem(record, session, message=msg)
            try:
                await self._writer.admit()
                self._writer.submit(item)
            except IngestUnavailable as exc:
                await self._abort(context, grpc.StatusCode.UNAVAILABLE, f"the controller cannot store data: {exc}")
        elif body == "heartbeat":
            session.outbox_depth = msg.heartbeat.outbox_depth
            session.outbox_dropped_telemetry = msg.heartbeat.outbox_dropped_telemetry
            session.outbox_refused_durable = msg.heartbeat.outbox_refused_durable
        elif body == "ack":
            self._settle(session, msg.ack)
        elif body == "hello":
            await self._abort(
                context, grpc.StatusCode.FAILED_PRECONDITION, "hello is only allowed as the first message"
            )
        elif msg.message_id:
            session.send(_rejection(msg.message_id, "unsupported", "this controller does not know this message kind"))

    def _settle(self, session: AgentSession, ack: pb.Ack) -> None:
        for message_id in ack.message_ids:
            self._commands.settle(message_id, CommandState.ACKED)
        for rejection in ack.rejected:
            log.error("agent %s rejected command %s: %s", session.agent_id, rejection.message_id, rejection.reason)
            self._commands.settle(rejection.message_id, CommandState.REJECTED, rejection.reason)


def _rejection(message_id: str, code: str, reason: str) -> pb.ControllerMessage:
    return pb.ControllerMessage(ack=pb.Ack(rejected=[pb.Rejection(message_id=message_id, code=code, reason=reason)]))
