"""Turning driver readings into wire samples, with privacy applied at the edge (invariant 7).

Client MACs and unmanaged BSSIDs are replaced by keyed hashes; clients that opted out are
dropped here and never leave the agent, not even hashed.
"""

from __future__ import annotations

from collections.abc import Collection

from drivers.protocol import RadioState
from radio_domain.identifiers import IdentifierHasher
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import client_readings, config_to_pb, ms


class TelemetrySampler:
    def __init__(self, hasher: IdentifierHasher, opted_out: Collection[str] = ()) -> None:
        self._hasher = hasher
        self._opted_out = frozenset(c.strip().lower() for c in opted_out)

    def sample(self, state: RadioState) -> pb.RadioSample:
        clients = [c for c in state.clients if c.client_id.strip().lower() not in self._opted_out]
        sample = pb.RadioSample(
            radio_id=state.radio_id,
            timestamp_ms=ms(state.timestamp),
            config=config_to_pb(state.config),
            noise_floor_dbm=state.noise_floor_dbm,
            channel_utilization=state.channel_utilization,
            cca_busy=state.cca_busy,
            tx_airtime=state.tx_airtime,
            retry_rate=state.retry_rate,
            packet_error_rate=state.packet_error_rate,
            station_count=len(clients),
            non_wifi_duty=state.non_wifi_duty,
        )
        if clients:
            columns: dict[str, list[float]] = {
                "rssi_dbm": [c.rssi_dbm for c in clients],
                "snr_db": [c.snr_db for c in clients],
                "tx_rate_mbps": [c.tx_rate_mbps for c in clients],
                "throughput_mbps": [c.throughput_mbps for c in clients],
                "retry_rate": [c.retry_rate for c in clients],
            }
            qoe = [c.qoe for c in clients if c.qoe is not None]
            if len(qoe) == len(clients):
                columns["qoe"] = qoe
            ids = [self._hasher.digest(c.client_id) for c in clients]
            sample.client_readings.CopyFrom(client_readings(ids, columns))
        for neighbor in state.neighbors:
            sample.neighbors.add(
                neighbor_id=neighbor.neighbor_id if neighbor.managed else self._hasher.hash(neighbor.neighbor_id),
                managed=neighbor.managed,
                channel=neighbor.channel,
                width_mhz=neighbor.width_mhz,
                rssi_dbm=neighbor.rssi_dbm,
            )
        return sample
