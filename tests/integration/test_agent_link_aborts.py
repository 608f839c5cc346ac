"""The link survives a controller that ends the stream while the agent is still writing to it."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from edge_agent.backoff import ExponentialBackoff
from edge_agent.link import ControllerLink, LinkSettings
from edge_agent.outbox import Outbox
from rrm.sqlite_files import open_database
from rrm.v1 import agent_link_pb2 as pb
from tests.integration.conftest import eventually

pytestmark = pytest.mark.integration

ABORT_DETAIL = "the store is gone"


class AbortingController:
    """Welcomes every agent, reads a few of its messages, then aborts the stream with UNAVAILABLE."""

    def __init__(self) -> None:
        self.streams = 0

    async def connect(self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        self.streams += 1
        seen = 0
        async for _ in requests:
            seen += 1
            if seen == 1:
                yield pb.ControllerMessage(welcome=pb.Welcome(controller_id="aborting")).SerializeToString()
            elif seen >= 3:
                await context.abort(grpc.StatusCode.UNAVAILABLE, ABORT_DETAIL)


@pytest.fixture
async def aborting_server() -> AsyncIterator[tuple[AbortingController, int]]:
    controller = AbortingController()
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "rrm.v1.AgentLink", {"Connect": grpc.stream_stream_rpc_method_handler(controller.connect)}
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield controller, port
    await server.stop(0)


async def test_an_abort_during_writes_is_reported_and_the_link_reconnects(
    aborting_server: tuple[AbortingController, int], tmp_path: Path
) -> None:
    """A stream the controller aborts mid-flood ends the session, never the link: it reconnects."""
    controller, port = aborting_server
    outbox = Outbox(open_database(tmp_path / "agent.db"))
    for i in range(2000):
        event = pb.RadioEvent(event_id=f"e{i}", radio_id="ap-1/5g", type=pb.NON_WIFI_BURST, confidence=0.9)
        outbox.put(pb.AgentMessage(message_id=f"e{i}", event=event))

    async def hello() -> pb.Hello:
        return pb.Hello(agent_id="ap-1", protocol_version=1, regulatory_domain="FCC")

    async def no_commands(msg: pb.ControllerMessage) -> None:
        raise AssertionError(f"no command expected, got {msg}")

    link = ControllerLink(
        LinkSettings(target=f"127.0.0.1:{port}", credentials=None, window=512),
        outbox,
        hello,
        no_commands,
        backoff=ExponentialBackoff(base_s=0.01, cap_s=0.05, rng=random.Random(3)),
    )
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: link.sessions >= 4 or task.done(), "four sessions (three aborts survived)")
        assert not task.done(), f"the link ended: {task.exception() if not task.cancelled() else 'cancelled'}"
        # The controller's reason when gRPC keeps it; a write racing the abort is reported INTERNAL.
        assert ABORT_DETAIL in link.last_error or link.last_error.startswith("INTERNAL"), link.last_error
        assert outbox.counters().depth == 2000, "nothing was acknowledged, so nothing may leave the outbox"
    finally:
        await link.stop()
        await asyncio.wait_for(task, 5)
    assert controller.streams >= 4


async def test_a_call_that_fails_while_the_hello_is_built_does_not_end_the_link(tmp_path: Path) -> None:
    """Nothing listens: the call fails while the agent reads its radios for the Hello; it must retry.

    Found by the HIL partition test: writing the Hello onto a call gRPC had already finished raised
    asyncio.InvalidStateError, which escaped the reconnect loop and ended the link for good.
    """
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outbox = Outbox(open_database(tmp_path / "agent.db"))
    hellos = 0

    async def slow_hello() -> pb.Hello:
        nonlocal hellos
        hellos += 1
        await asyncio.sleep(0.3)  # reading the radios takes a while; the call fails meanwhile
        return pb.Hello(agent_id="ap-1", protocol_version=1, regulatory_domain="FCC")

    async def no_commands(msg: pb.ControllerMessage) -> None:
        raise AssertionError(f"no command expected, got {msg}")

    link = ControllerLink(
        LinkSettings(target=f"127.0.0.1:{port}", credentials=None),
        outbox,
        slow_hello,
        no_commands,
        backoff=ExponentialBackoff(base_s=0.01, cap_s=0.05, rng=random.Random(3)),
    )
    task = asyncio.create_task(link.run())
    try:
        await eventually(lambda: hellos >= 3 or task.done(), "three connection attempts")
        assert not task.done(), f"the link ended: {task.exception() if not task.cancelled() else 'cancelled'}"
        assert link.last_error, "the failed attempts are described"
    finally:
        await link.stop()
        await asyncio.wait_for(task, 5)
