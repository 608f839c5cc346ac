"""The controller's slow-loop graph counts the non-Wi-Fi sources agents reported, from a real ingest.db.

Events and samples go in as the ingest writer stores them (controller.ingest_store); the graph is
built by controller.network_graph as the scheduler builds it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from controller.ingest_store import ingest_record, open_ingest_database, store_records
from controller.network_graph import network_graph
from controller.network_view import NetworkView
from controller.registry import AgentRegistry
from drivers.sim.sim_radio import radio_capabilities
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import band_to_pb, capabilities_to_pb, config_to_pb

AGENT = "agent-1"
RADIO = "ap-1/2g"
T0 = 1_700_000_000.0


def hello(channel: int) -> pb.Hello:
    descriptor = pb.RadioDescriptor(
        radio_id=RADIO,
        ap_id="ap-1",
        band=band_to_pb(Band.G2),
        capabilities=capabilities_to_pb(radio_capabilities(Region.FCC, Band.G2)),
        config=config_to_pb(RadioConfig(channel, 20, 17.0)),
    )
    return pb.Hello(agent_id=AGENT, regulatory_domain="FCC", radios=[descriptor])


def store(conn: sqlite3.Connection, msg: pb.AgentMessage) -> None:
    store_records(conn, [ingest_record(AGENT, msg, msg.SerializeToString(), 0)])


def sample(at: float, channel: int, non_wifi_duty: float) -> pb.AgentMessage:
    s = pb.RadioSample(
        radio_id=RADIO,
        timestamp_ms=int(at * 1000),
        config=config_to_pb(RadioConfig(channel, 20, 17.0)),
        non_wifi_duty=non_wifi_duty,
    )
    return pb.AgentMessage(message_id=f"t-{at}", telemetry=pb.TelemetryBatch(samples=[s]))


def burst(at: float, metadata: dict[str, str]) -> pb.AgentMessage:
    event = pb.RadioEvent(
        event_id=f"e-{at}",
        radio_id=RADIO,
        type=pb.NON_WIFI_BURST,
        timestamp_ms=int(at * 1000),
        confidence=0.9,
        channel=1,
        metadata=metadata,
    )
    return pb.AgentMessage(message_id=event.event_id, event=event)


CAMERA = {"kind": "video_camera", "duty_cycle": "1", "freq_mhz": "2412", "bandwidth_mhz": "18", "rssi_dbm": "-50"}


def view_of(tmp_path: Path) -> tuple[sqlite3.Connection, NetworkView]:
    conn = open_ingest_database(tmp_path / "ingest.db")
    return conn, NetworkView(open_ingest_database(tmp_path / "ingest.db"), AgentRegistry(sqlite3.connect(":memory:")))


def test_a_camera_an_agent_reported_is_in_the_graph_until_the_radio_sees_it_gone(tmp_path: Path) -> None:
    conn, view = view_of(tmp_path)
    store(conn, sample(T0, 1, 1.0))
    store(conn, burst(T0 + 1, CAMERA))
    store(conn, burst(T0 + 2, {"freq_mhz": "somewhere"}))  # logged and left out, the camera stays
    store(conn, sample(T0 + 60, 1, 1.0))
    graph = network_graph(view, {AGENT: hello(1)}, T0 + 90)
    (camera,) = graph.non_wifi_for(RADIO)
    assert (camera.low_mhz, camera.high_mhz, camera.duty, camera.kind) == (2403.0, 2421.0, 1.0, "video_camera")
    assert camera.level_dbm == -50.0  # the radio on channel 1 received all of it

    store(conn, sample(T0 + 120, 11, 0.0))  # moved to 11: it cannot check channel 1
    assert network_graph(view, {AGENT: hello(11)}, T0 + 150).non_wifi_for(RADIO) == (camera,)

    store(conn, sample(T0 + 180, 1, 0.0))  # back on 1 and nothing there: the camera is gone
    assert network_graph(view, {AGENT: hello(1)}, T0 + 200).non_wifi_for(RADIO) == ()
    view.close()
    conn.close()
