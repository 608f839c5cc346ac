"""Invariant 7 at the edge: no raw client identifiers leave the agent; opted-out clients not at all."""

from __future__ import annotations

import pytest

from drivers.protocol import ClientObservation, NeighborObservation, RadioState
from edge_agent.telemetry import TelemetrySampler
from radio_domain.identifiers import IdentifierHasher
from radio_domain.radio import RadioConfig

pytestmark = pytest.mark.unit

MACS = ["AA:BB:CC:00:00:01", "aa:bb:cc:00:00:02", "aa:bb:cc:00:00:03"]


def _state() -> RadioState:
    return RadioState(
        radio_id="ap-1/5g",
        timestamp=1_767_225_600.0,
        config=RadioConfig(36, 20, 17.0),
        noise_floor_dbm=-94.0,
        channel_utilization=0.4,
        cca_busy=0.2,
        tx_airtime=0.2,
        retry_rate=0.05,
        packet_error_rate=0.02,
        clients=tuple(ClientObservation(m, -60.0, 34.0, 200.0, 5.0, 0.05, 0.9) for m in MACS),
        neighbors=(NeighborObservation("02:00:00:00:00:09", False, 40, 20, -70.0),),
    )


def test_client_and_unmanaged_bssid_identifiers_are_keyed_hashes() -> None:
    hasher = IdentifierHasher(b"site-key-0123456789")
    sample = TelemetrySampler(hasher).sample(_state())
    wire = sample.SerializeToString()
    for mac in [*MACS, "02:00:00:00:00:09"]:
        assert mac.encode() not in wire and mac.replace(":", "").encode() not in wire
    ids = sample.client_readings.client_ids
    assert ids == b"".join(hasher.digest(m) for m in MACS)
    assert sample.neighbors[0].neighbor_id == hasher.hash("02:00:00:00:00:09")


def test_opted_out_clients_are_dropped_at_the_edge() -> None:
    hasher = IdentifierHasher(b"site-key-0123456789")
    sample = TelemetrySampler(hasher, opted_out=["aa:bb:cc:00:00:01"]).sample(_state())
    assert sample.station_count == 2
    assert hasher.digest(MACS[0]) not in sample.client_readings.client_ids


def test_the_same_client_hashes_alike_with_the_same_key_and_differently_with_another() -> None:
    a, b = IdentifierHasher(b"k" * 16), IdentifierHasher(b"j" * 16)
    assert a.hash("AA:BB:CC:00:00:01") == a.hash("aa:bb:cc:00:00:01")
    assert a.hash(MACS[0]) != b.hash(MACS[0])
    with pytest.raises(ValueError, match="at least 16"):
        IdentifierHasher(b"short")
