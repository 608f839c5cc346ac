"""Nothing is lost and nothing is stored twice: agents, a controller, outages and restarts (invariant 8)."""

from __future__ import annotations

import pytest

from rrm.v1 import agent_link_pb2 as pb
from tests.integration.conftest import Site, eventually

pytestmark = pytest.mark.integration


def _stored_samples(site: Site) -> int:
    with site.ingest_db() as db:
        return int(db.execute("SELECT COALESCE(SUM(samples), 0) FROM telemetry_batches").fetchone()[0])


def _duplicate_ids(site: Site) -> int:
    with site.ingest_db() as db:
        dupes = db.execute("SELECT COUNT(*) - COUNT(DISTINCT message_id) FROM telemetry_batches").fetchone()[0]
        return int(dupes)


def _sampled(site: Site) -> int:
    return sum(a.counters.samples for a in site.agents.values())


async def test_telemetry_events_and_actions_reach_the_controller(site: Site) -> None:
    """Samples, the radar event and the AP's own DFS move all arrive, and outboxes empty."""
    await site.start_controller()
    for ap_id in ("ap-1", "ap-2"):
        await site.start_agent(ap_id)
    await eventually(
        lambda: site.controller is not None and site.controller.registry.connected_count() == 2, "2 agents"
    )
    await site.advance(180)
    await eventually(lambda: all(a.outbox.counters().depth == 0 for a in site.agents.values()), "empty outboxes")
    assert site.controller is not None
    counters = site.controller.counters
    assert counters.telemetry_samples == _sampled(site) == _stored_samples(site) > 0
    assert counters.events_by_type["DFS_RADAR"] == 1
    assert counters.events_by_type["CHANNEL_SWITCHED"] == 1
    with site.ingest_db() as db:
        origin, status = db.execute("SELECT origin, status FROM action_reports WHERE radio_id = 'ap-2/5g'").fetchone()
    assert (origin, status) == ("AP_AUTONOMOUS", "APPLIED")


async def test_outbox_survives_a_controller_restart(site: Site) -> None:
    """What agents record while the controller is down arrives after it restarts, once."""
    await site.start_controller()
    await site.start_agent("ap-2")
    await eventually(
        lambda: site.agents["ap-2"].link is not None and site.agents["ap-2"].link.connected.is_set(), "link"
    )
    await site.advance(60)
    await eventually(lambda: site.agents["ap-2"].outbox.counters().depth == 0, "first minute delivered")
    port = site.port
    await site.stop_controller()
    await site.advance(120)  # radar at t=120 s: the event loop works without the controller
    agent = site.agents["ap-2"]
    assert agent.outbox.counters().depth > 0
    assert agent.counters.by_event_type["DFS_RADAR"] == 1
    await site.start_controller(port=port)
    await eventually(lambda: agent.outbox.counters().depth == 0, "backlog delivered after the restart")
    assert _stored_samples(site) == _sampled(site)
    assert _duplicate_ids(site) == 0
    with site.ingest_db() as db:
        radar = db.execute("SELECT COUNT(*) FROM radio_events WHERE type = 'DFS_RADAR'").fetchone()[0]
    assert radar == 1


async def test_outbox_survives_an_agent_restart(site: Site) -> None:
    """An agent restarted with undelivered records sends them from its database, once."""
    await site.start_controller()
    port = site.port
    await site.stop_controller()
    await site.start_agent("ap-1")
    await site.advance(50)
    before = site.agents["ap-1"].outbox.counters().depth
    sampled = _sampled(site)
    assert before > 0
    await site.stop_agent("ap-1")
    await site.start_controller(port=port)
    restarted = await site.start_agent("ap-1")
    await eventually(lambda: restarted.outbox.counters().depth == 0, "backlog of the previous agent process")
    assert _stored_samples(site) == sampled
    assert _duplicate_ids(site) == 0


async def test_a_resent_message_is_acknowledged_but_stored_once(site: Site) -> None:
    """At-least-once delivery with idempotent ids: the same id twice is one stored batch."""
    from rrm.tls_files import CertKind, leaf_paths
    from tests.integration.conftest import hello, open_stream, raw_channel, read_until, telemetry

    await site.start_controller()
    async with raw_channel(leaf_paths(site.pki, CertKind.AGENT, "ap-1"), site.port) as channel:
        call = open_stream(channel)
        await call.write(hello("ap-1"))
        await read_until(call, "welcome")
        for _ in range(2):
            await call.write(telemetry("same-id", "ap-1/5g"))
            ack = await read_until(call, "ack")
            assert list(ack.ack.message_ids) == ["same-id"]
    assert _stored_samples(site) == 1
    assert site.controller is not None and site.controller.counters.duplicates == 1


async def test_a_dead_ingest_writer_stops_the_controller_and_agents_keep_their_data(site: Site) -> None:
    """Losing the store is fatal (crash and restart), never a silent loss: nothing is acknowledged."""
    import os
    import signal

    controller = await site.start_controller()
    agent = await site.start_agent("ap-1")
    await eventually(lambda: agent.link is not None and agent.link.connected.is_set(), "link")
    pid = controller.ingest_writer_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    await eventually(controller.failed.is_set, "the controller noticing its writer died")
    assert "ingest writer" in controller.fatal
    await site.advance(30)
    # The controller ends the agent's stream (UNAVAILABLE; a write racing it may be seen as INTERNAL).
    await eventually(lambda: agent.link is not None and agent.link.last_error != "", "the stream to end")
    assert agent.outbox.counters().depth >= 3


async def test_with_the_controller_down_radar_still_moves_the_radio_and_records_wait(site: Site) -> None:
    """Offline operation: no controller listening; the agent's event loop acts and its outbox fills."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("localhost", 0))
        site.port = probe.getsockname()[1]
    agent = await site.start_agent("ap-2")
    await site.advance(130)  # radar on ap-2/5g's channel at 120 s
    config = site.world.config("ap-2/5g")
    assert config.channel not in (52, 56)
    assert agent.link is not None and not agent.link.connected.is_set() and agent.link.last_error
    pending = [
        pb.AgentMessage.FromString(e.payload) for e in agent.outbox.pending(durable=True, after_seq=0, limit=10_000)
    ]
    assert any(m.WhichOneof("body") == "event" and m.event.type == pb.DFS_RADAR for m in pending)
    assert any(m.WhichOneof("body") == "action_report" and m.action_report.origin == pb.AP_AUTONOMOUS for m in pending)
    assert any(m.WhichOneof("body") == "audit" for m in pending)
    await site.start_controller()
    await eventually(lambda: agent.outbox.counters().depth == 0, "the outbox drained once the controller is up")
