"""The agent's one long-lived stream to the controller.

Connects (mTLS by default), says Hello, waits for Welcome, then runs four small tasks until the
stream breaks: a writer (the only task that writes to the stream), a sender that drains the
outbox in order (durable records first, then telemetry) keeping at most ``window`` messages
unacknowledged, a receiver that applies acks and hands commands to the agent, and a heartbeat.
When the stream breaks it reconnects with jittered exponential backoff and resends everything
not yet acknowledged. The agent's local logic never waits for this link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import grpc

from drivers.protocol import DriverError
from edge_agent.backoff import ExponentialBackoff
from edge_agent.outbox import Outbox
from rrm.clock import Clock, WallClock
from rrm.tls_files import CertPaths
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import ms

log = logging.getLogger(__name__)

CONNECT_METHOD = "/rrm.v1.AgentLink/Connect"

CommandHandler = Callable[[pb.ControllerMessage], Awaitable[None]]
"""Handles a durable controller message; returns once its outcome is durably recorded."""


class LinkState(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"


class LinkError(Exception):
    """The controller did not follow the protocol (no Welcome, stream ended)."""


@dataclass(frozen=True, slots=True)
class LinkSettings:
    target: str
    credentials: grpc.ChannelCredentials | None
    server_name_override: str | None = None
    heartbeat_interval_s: float = 10.0
    window: int = 256
    welcome_timeout_s: float = 15.0
    idle_poll_s: float = 1.0
    max_message_bytes: int = 4 * 1024 * 1024

    def channel_options(self) -> list[tuple[str, int | str]]:
        options: list[tuple[str, int | str]] = [
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.http2.bdp_probe", 0),
            ("grpc.max_send_message_length", self.max_message_bytes),
            ("grpc.max_receive_message_length", self.max_message_bytes),
            # One TCP connection per agent: never share a subchannel with another agent in-process.
            ("grpc.use_local_subchannel_pool", 1),
        ]
        if self.server_name_override:
            options.append(("grpc.ssl_target_name_override", self.server_name_override))
        return options


class ControllerLink:
    def __init__(
        self,
        settings: LinkSettings,
        outbox: Outbox,
        hello: Callable[[], Awaitable[pb.Hello]],
        on_command: CommandHandler,
        *,
        backoff: ExponentialBackoff | None = None,
        network_clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self._outbox = outbox
        self._hello = hello
        self._on_command = on_command
        self._backoff = backoff or ExponentialBackoff()
        self._clock = network_clock or WallClock()
        self._wake = asyncio.Event()
        self._acked = asyncio.Event()
        self._stopping = asyncio.Event()
        self.state = LinkState.DISCONNECTED
        self.connected = asyncio.Event()
        self.sessions = 0
        self.last_error = ""
        self._heartbeat_s = settings.heartbeat_interval_s

    def wake(self) -> None:
        """Tell the sender there is something new in the outbox."""
        self._wake.set()

    async def run(self) -> None:
        """Keep a session up until stop(); never raises for network trouble."""
        while not self._stopping.is_set():
            self.state = LinkState.CONNECTING
            try:
                await self._session()
            except (grpc.aio.AioRpcError, LinkError, TimeoutError, OSError, DriverError) as exc:
                self.last_error = _describe(exc)
                log.warning("controller link to %s lost: %s", self.settings.target, self.last_error)
            finally:
                self.state = LinkState.DISCONNECTED
                self.connected.clear()
            if self._stopping.is_set():
                break
            delay = self._backoff.next_delay()
            log.info("reconnecting to %s in %.1f s", self.settings.target, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _open_channel(self) -> grpc.aio.Channel:
        options = self.settings.channel_options()
        if self.settings.credentials is None:
            return grpc.aio.insecure_channel(self.settings.target, options=options)
        return grpc.aio.secure_channel(self.settings.target, self.settings.credentials, options=options)

    async def _session(self) -> None:
        async with self._open_channel() as channel:
            connect = channel.stream_stream(
                CONNECT_METHOD,
                request_serializer=_identity,
                response_deserializer=pb.ControllerMessage.FromString,
            )
            call = connect()
            stop_waiter: asyncio.Task[bool] = asyncio.ensure_future(self._stopping.wait())
            try:
                await self._handshake(call)
                await self._serve(call, stop_waiter)
            finally:
                stop_waiter.cancel()
                call.cancel()

    async def _handshake(self, call: grpc.aio.StreamStreamCall) -> None:
        hello = await self._hello()
        try:
            await call.write(pb.AgentMessage(hello=hello).SerializeToString())
        except asyncio.InvalidStateError:
            # The call failed while the Hello was being built (connection refused, controller gone):
            # this attempt is over, not the link.
            raise LinkError(f"{(await call.code()).name}: {await call.details()}") from None
        first = await asyncio.wait_for(call.read(), timeout=self.settings.welcome_timeout_s)
        if first is grpc.aio.EOF:
            raise LinkError("the controller closed the stream before its Welcome")
        assert isinstance(first, pb.ControllerMessage)
        if first.WhichOneof("body") != "welcome":
            raise LinkError(f"the controller answered Hello with {first.WhichOneof('body')!r}, not welcome")
        if first.welcome.heartbeat_interval_s:
            self._heartbeat_s = float(first.welcome.heartbeat_interval_s)
        self._backoff.reset()
        self.sessions += 1
        self.state = LinkState.CONNECTED
        self.connected.set()
        log.info("connected to controller %s at %s", first.welcome.controller_id, self.settings.target)

    async def _serve(self, call: grpc.aio.StreamStreamCall, stop_waiter: asyncio.Task[bool]) -> None:
        outgoing: asyncio.Queue[bytes] = asyncio.Queue(maxsize=self.settings.window * 2)
        inflight: set[str] = set()
        tasks: list[asyncio.Task[object]] = [
            asyncio.ensure_future(self._write_loop(call, outgoing)),
            asyncio.ensure_future(self._send_outbox(outgoing, inflight)),
            asyncio.ensure_future(self._receive(call, outgoing, inflight)),
            asyncio.ensure_future(self._heartbeats(outgoing)),
        ]
        try:
            done, _ = await asyncio.wait([*tasks, stop_waiter], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            if task in done and not task.cancelled() and (error := task.exception()) is not None:
                raise error

    async def _write_loop(self, call: grpc.aio.StreamStreamCall, outgoing: asyncio.Queue[bytes]) -> None:
        while True:
            payload = await outgoing.get()
            try:
                await call.write(payload)
            except asyncio.InvalidStateError:
                # The controller ended the call while we were writing (an abort such as UNAVAILABLE):
                # this session is over, not the link. (gRPC may report such a write as INTERNAL and
                # lose the controller's reason; the controller logs it.)
                raise LinkError(f"{(await call.code()).name}: {await call.details()}") from None

    async def _send_outbox(self, outgoing: asyncio.Queue[bytes], inflight: set[str]) -> None:
        cursors = {True: 0, False: 0}
        while True:
            self._wake.clear()
            room = self.settings.window - len(inflight)
            sent = 0
            for durable in (True, False):
                if room - sent <= 0:
                    break
                for entry in self._outbox.pending(durable=durable, after_seq=cursors[durable], limit=room - sent):
                    cursors[durable] = entry.seq
                    inflight.add(entry.message_id)
                    await outgoing.put(entry.payload)
                    sent += 1
            if sent:
                continue
            self._acked.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(self._acked.wait())]
            await asyncio.wait(waiters, timeout=self.settings.idle_poll_s, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def _receive(
        self, call: grpc.aio.StreamStreamCall, outgoing: asyncio.Queue[bytes], inflight: set[str]
    ) -> None:
        while True:
            msg = await call.read()
            if msg is grpc.aio.EOF:
                raise LinkError("the controller ended the stream")
            assert isinstance(msg, pb.ControllerMessage)
            body = msg.WhichOneof("body")
            if body == "ack":
                self._apply_ack(msg.ack, inflight)
            elif body in ("config_command", "rollback_command", "policy_update"):
                await self._on_command(msg)
                await outgoing.put(pb.AgentMessage(ack=pb.Ack(message_ids=[msg.message_id])).SerializeToString())
            elif body is None and msg.message_id:
                rejection = pb.Rejection(message_id=msg.message_id, code="unsupported", reason="unknown message")
                await outgoing.put(pb.AgentMessage(ack=pb.Ack(rejected=[rejection])).SerializeToString())

    def _apply_ack(self, ack: pb.Ack, inflight: set[str]) -> None:
        self._outbox.ack(ack.message_ids)
        inflight.difference_update(ack.message_ids)
        for rejection in ack.rejected:
            log.error(
                "controller rejected %s (%s): %s; kept in the outbox's rejected table",
                rejection.message_id,
                rejection.code,
                rejection.reason,
            )
            self._outbox.reject(rejection.message_id, rejection.code, rejection.reason)
            inflight.discard(rejection.message_id)
        self._acked.set()

    async def _heartbeats(self, outgoing: asyncio.Queue[bytes]) -> None:
        while True:
            await self._clock.sleep(self._heartbeat_s)
            counters = self._outbox.counters()
            beat = pb.Heartbeat(
                sent_at_ms=ms(self._clock.now()),
                outbox_depth=counters.depth,
                outbox_dropped_telemetry=counters.dropped_telemetry,
                outbox_refused_durable=counters.refused_durable,
            )
            await outgoing.put(pb.AgentMessage(heartbeat=beat).SerializeToString())


def tls_channel_credentials(paths: CertPaths) -> grpc.ChannelCredentials:
    """Client credentials for mutual TLS from an agent's certificate files."""
    cert, key, ca = paths.read()
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)


def _identity(data: bytes) -> bytes:
    return data


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    return str(exc) or type(exc).__name__
