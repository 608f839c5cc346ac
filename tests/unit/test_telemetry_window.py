from __future__ import annotations

import pytest

from controller.telemetry_window import CompactSample, aggregate
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import client_readings

pytestmark = pytest.mark.unit


def _sample(ts: int, cca: float, rssi: list[float]) -> CompactSample:
    n = len(rssi)
    columns = {
        "rssi_dbm": rssi,
        "snr_db": [r + 94 for r in rssi],
        "tx_rate_mbps": [100.0] * n,
        "throughput_mbps": [1.0] * n,
        "retry_rate": [0.1] * n,
        "qoe": [0.5] * n,
    }
    msg = pb.RadioSample(
        radio_id="ap-1/5g",
        timestamp_ms=ts,
        config=pb.RadioConfig(channel=36, width_mhz=20, tx_power_dbm=17),
        cca_busy=cca,
        station_count=len(rssi),
        client_readings=client_readings([bytes([i]) * 10 for i in range(len(rssi))], columns),
    )
    return CompactSample.from_pb(msg)


def test_percentiles_over_samples_and_over_every_client_reading() -> None:
    window = [_sample(1000 * i, cca=i / 10, rssi=[-50.0 - i, -80.0]) for i in range(1, 6)]
    agg = aggregate("ap-1/5g", window)
    assert agg is not None
    assert agg.samples == 5
    assert agg.cca_busy_p50 == pytest.approx(0.3)
    assert agg.rssi_p50 == pytest.approx(-67.5)  # median of five at -80 and -51..-55
    assert agg.rssi_p5 is not None and agg.rssi_p5 < -79
    assert agg.station_count == 2
    assert agg.qoe_mean == pytest.approx(0.5)


def test_an_empty_window_has_no_aggregate_and_no_clients_means_no_client_figures() -> None:
    assert aggregate("ap-1/5g", []) is None
    agg = aggregate("ap-1/5g", [_sample(1000, 0.1, [])])
    assert agg is not None and agg.rssi_p50 is None and agg.qoe_mean is None
