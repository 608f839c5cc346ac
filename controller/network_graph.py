"""The slow loop's interference graph from what the controller received: Hellos, samples, radar events.

The agents' Hellos give each radio's band and capabilities; each radio's newest sample (the
NetworkView's ``latest_samples``) gives its configuration, load, clients and the neighbours it
heard; radar events give the channels radar hit in the last day and those still in non-occupancy;
non-Wi-Fi events give the interferers the radios still see (network_non_wifi.py).
They become the driver-side ``RadioInfo`` and ``RadioState`` that ``build_graph`` reads
(controller/slow_loop/interference_graph.py), so the controller and the simulator evaluations
build the graph the same way. A radio with no recent sample is left out of the graph (and so
out of the plan). Clients are keyed hashes: the graph only counts them.
"""

from __future__ import annotations

from collections.abc import Mapping

from controller.client_columns import unpack_f32
from controller.network_non_wifi import non_wifi_in_force
from controller.network_view import NetworkView
from controller.slow_loop.interference_graph import InterferenceGraph, build_graph
from drivers.protocol import ClientObservation, NeighborObservation, RadioInfo, RadioState
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import band_from_pb, capabilities_from_pb, config_from_pb

CLIENT_ID_BYTES = 10


def sample_state(sample: pb.RadioSample) -> RadioState:
    """The driver-side reading a sample was made from, as far as the graph needs it."""
    readings = sample.client_readings
    count = len(readings.client_ids) // CLIENT_ID_BYTES
    rssi = unpack_f32(readings.rssi_dbm) if readings.rssi_dbm else None
    clients = tuple(
        ClientObservation(
            client_id=readings.client_ids[i * CLIENT_ID_BYTES : (i + 1) * CLIENT_ID_BYTES].hex(),
            rssi_dbm=float(rssi[i]) if rssi is not None and i < len(rssi) else -70.0,
            snr_db=0.0,
            tx_rate_mbps=0.0,
            throughput_mbps=0.0,
            retry_rate=0.0,
        )
        for i in range(count)
    )
    neighbours = tuple(
        NeighborObservation(n.neighbor_id, n.managed, n.channel, n.width_mhz, n.rssi_dbm) for n in sample.neighbors
    )
    return RadioState(
        radio_id=sample.radio_id,
        timestamp=sample.timestamp_ms / 1000.0,
        config=config_from_pb(sample.config),
        noise_floor_dbm=sample.noise_floor_dbm,
        channel_utilization=sample.channel_utilization,
        cca_busy=sample.cca_busy,
        tx_airtime=sample.tx_airtime,
        retry_rate=sample.retry_rate,
        packet_error_rate=sample.packet_error_rate,
        clients=clients,
        neighbors=neighbours,
        non_wifi_duty=sample.non_wifi_duty,
    )


def radio_infos(hellos: Mapping[str, pb.Hello]) -> list[RadioInfo]:
    return [
        RadioInfo(d.radio_id, d.ap_id, band_from_pb(d.band), capabilities_from_pb(d.capabilities))
        for _, hello in sorted(hellos.items())
        for d in hello.radios
    ]


def network_graph(view: NetworkView, hellos: Mapping[str, pb.Hello], now: float) -> InterferenceGraph:
    """The site's graph as of ``now`` (module docstring)."""
    snapshot = view.snapshot(now)
    states: dict[str, RadioState] = {}
    for agent_id in sorted(hellos):
        for radio_id, sample in view.latest_samples(agent_id, now).items():
            states[radio_id] = sample_state(sample)
    radar = {radio_id: frozenset(channels) for radio_id, channels in view.radar_channels(now).items() if channels}
    return build_graph(
        snapshot.region,
        radio_infos(hellos),
        states,
        radar_channels=radar,
        non_occupancy=snapshot.non_occupancy,
        non_wifi=non_wifi_in_force(view, hellos, snapshot.region, now),
    )
