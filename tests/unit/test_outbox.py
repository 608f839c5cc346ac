"""The agent outbox: bounded telemetry, never-silently-dropped durable records, restart-safe."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from edge_agent.outbox import Outbox, OutboxFull
from rrm.sqlite_files import open_database
from rrm.v1 import agent_link_pb2 as pb

pytestmark = pytest.mark.unit


def _telemetry(i: int) -> pb.AgentMessage:
    batch = pb.TelemetryBatch(samples=[pb.RadioSample(radio_id="ap-1/5g", timestamp_ms=1000 + i)])
    return pb.AgentMessage(message_id=f"t{i}", telemetry=batch)


def _event(i: int) -> pb.AgentMessage:
    return pb.AgentMessage(message_id=f"e{i}", event=pb.RadioEvent(event_id=f"e{i}", type=pb.DFS_RADAR))


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    return open_database(tmp_path / "agent.db")


def test_messages_come_back_in_order_until_acknowledged(conn: sqlite3.Connection) -> None:
    """Pending returns each class in put order, and an ack removes exactly the acked ids."""
    box = Outbox(conn)
    for i in range(3):
        box.put(_telemetry(i))
        box.put(_event(i))
    assert [e.message_id for e in box.pending(durable=True, after_seq=0, limit=10)] == ["e0", "e1", "e2"]
    assert [e.message_id for e in box.pending(durable=False, after_seq=0, limit=10)] == ["t0", "t1", "t2"]
    assert box.ack(["e1", "t0", "unknown"]) == 2
    assert [e.message_id for e in box.pending(durable=True, after_seq=0, limit=10)] == ["e0", "e2"]
    assert box.counters().depth == 4


def test_putting_the_same_id_twice_stores_it_once(conn: sqlite3.Connection) -> None:
    box = Outbox(conn)
    box.put(_event(1))
    box.put(_event(1))
    assert box.counters().depth == 1


def test_full_telemetry_drops_the_oldest_and_counts_it(conn: sqlite3.Connection) -> None:
    box = Outbox(conn, max_telemetry=3)
    for i in range(5):
        box.put(_telemetry(i))
    assert [e.message_id for e in box.pending(durable=False, after_seq=0, limit=10)] == ["t2", "t3", "t4"]
    assert box.counters().dropped_telemetry == 2


def test_telemetry_pressure_never_drops_durable_records(conn: sqlite3.Connection) -> None:
    box = Outbox(conn, max_telemetry=2)
    box.put(_event(0))
    for i in range(10):
        box.put(_telemetry(i))
    assert [e.message_id for e in box.pending(durable=True, after_seq=0, limit=10)] == ["e0"]


def test_a_full_durable_outbox_refuses_loudly_and_reports_the_count(conn: sqlite3.Connection) -> None:
    box = Outbox(conn, max_durable=2)
    box.put(_event(0))
    box.put(_event(1))
    with pytest.raises(OutboxFull, match="refused event e2"):
        box.put(_event(2))
    assert box.counters().refused_durable == 1
    assert [e.message_id for e in box.pending(durable=True, after_seq=0, limit=10)] == ["e0", "e1"]
    box.ack(["e0"])
    assert box.has_room_for_durable()
    assert box.take_refused_report() == 1
    assert box.take_refused_report() == 0


def test_contents_survive_a_restart(tmp_path: Path) -> None:
    """A new Outbox on the same file sees every unacknowledged message and the counters."""
    first = Outbox(open_database(tmp_path / "agent.db"), max_telemetry=1)
    first.put(_event(7))
    first.put(_telemetry(1))
    first.put(_telemetry(2))
    second = Outbox(open_database(tmp_path / "agent.db"), max_telemetry=1)
    assert [e.message_id for e in second.pending(durable=True, after_seq=0, limit=10)] == ["e7"]
    assert [e.message_id for e in second.pending(durable=False, after_seq=0, limit=10)] == ["t2"]
    assert second.counters().dropped_telemetry == 1
    payload = second.pending(durable=True, after_seq=0, limit=1)[0].payload
    assert pb.AgentMessage.FromString(payload).event.type == pb.DFS_RADAR


def test_a_rejected_message_leaves_the_queue_but_is_kept_for_inspection(conn: sqlite3.Connection) -> None:
    box = Outbox(conn)
    box.put(_event(3))
    assert box.reject("e3", "invalid", "event.confidence: 2 is outside [0, 1]")
    assert box.pending(durable=True, after_seq=0, limit=10) == []
    assert box.rejected() == [("e3", "invalid", "event.confidence: 2 is outside [0, 1]")]


def test_messages_without_an_id_or_of_a_transient_kind_are_refused(conn: sqlite3.Connection) -> None:
    box = Outbox(conn)
    with pytest.raises(ValueError, match="with an id"):
        box.put(pb.AgentMessage(event=pb.RadioEvent()))
    with pytest.raises(ValueError, match="heartbeat"):
        box.put(pb.AgentMessage(message_id="h", heartbeat=pb.Heartbeat()))
