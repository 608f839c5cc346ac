"""A full outbox never loses durable records silently: refusals are counted and reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.protocol import DriverEvent
from drivers.sim.driver import SimDriver
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from edge_agent.runtime import AgentRuntime, AgentSettings
from radio_domain.events import EventType
from radio_domain.identifiers import IdentifierHasher
from rrm.clock import VirtualClock
from rrm.sqlite_files import open_database
from rrm.v1 import agent_link_pb2 as pb
from tests.integration.conftest import EPOCH, two_ap_scenario

pytestmark = pytest.mark.unit


def test_refused_events_are_reported_once_there_is_room_again(tmp_path: Path) -> None:
    world = SimWorld(parse_scenario(two_ap_scenario(), "test"), epoch=EPOCH)
    agent = AgentRuntime(
        AgentSettings(agent_id="ap-1", region=world.region, max_durable_backlog=2),
        SimDriver(world, ["ap-1"]),
        open_database(tmp_path / "agent.db"),
        IdentifierHasher(b"k" * 16),
        VirtualClock(start=EPOCH),
        link_settings=None,
    )
    burst = DriverEvent(radio_id="ap-1/2g", type=EventType.NON_WIFI_BURST, timestamp=EPOCH, channel=1)
    for _ in range(4):
        agent.handle_event(burst)
    assert agent.outbox.counters().depth == 2
    assert agent.outbox.counters().refused_durable == 2

    first = agent.outbox.pending(durable=True, after_seq=0, limit=10)[0]
    agent.outbox.ack([first.message_id])
    agent.handle_event(burst)
    events = [
        pb.AgentMessage.FromString(e.payload).event for e in agent.outbox.pending(durable=True, after_seq=0, limit=10)
    ]
    overflow = [e for e in events if e.type == pb.OUTBOX_OVERFLOW]
    assert len(overflow) == 1
    assert overflow[0].metadata["refused_durable_records"] == "2"
