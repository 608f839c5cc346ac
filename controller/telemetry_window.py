"""Recent telemetry per radio, and the aggregate the loops read (seed 000 3.1).

Each radio keeps a bounded window of compact samples (the last ``window_s`` seconds, at most
``max_samples``). ``aggregate`` is a pure function of such a window: medians and 95th
percentiles over samples (and over every client reading for RSSI and SNR).
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rrm.v1 import agent_link_pb2 as pb


@dataclass(frozen=True, slots=True)
class CompactSample:
    ts_ms: int
    channel: int
    width_mhz: int
    tx_power_dbm: float
    channel_utilization: float
    cca_busy: float
    tx_airtime: float
    retry_rate: float
    packet_error_rate: float
    station_count: int
    noise_floor_dbm: float
    non_wifi_duty: float
    rssi: array[float]
    snr: array[float]
    qoe: array[float]

    @staticmethod
    def from_pb(sample: pb.RadioSample) -> CompactSample:
        clients = sample.clients
        return CompactSample(
            ts_ms=sample.timestamp_ms,
            channel=sample.config.channel,
            width_mhz=sample.config.width_mhz,
            tx_power_dbm=sample.config.tx_power_dbm,
            channel_utilization=sample.channel_utilization,
            cca_busy=sample.cca_busy,
            tx_airtime=sample.tx_airtime,
            retry_rate=sample.retry_rate,
            packet_error_rate=sample.packet_error_rate,
            station_count=sample.station_count,
            noise_floor_dbm=sample.noise_floor_dbm,
            non_wifi_duty=sample.non_wifi_duty,
            rssi=array("f", [c.rssi_dbm for c in clients]),
            snr=array("f", [c.snr_db for c in clients]),
            qoe=array("f", [c.qoe for c in clients if c.HasField("qoe")]),
        )


@dataclass(frozen=True, slots=True)
class RadioAggregate:
    """Per-radio figures over a window. Client figures are None when no client was seen."""

    radio_id: str
    samples: int
    first_ts_ms: int
    last_ts_ms: int
    channel: int
    width_mhz: int
    tx_power_dbm: float
    rssi_p50: float | None
    rssi_p95: float | None
    rssi_p5: float | None
    snr_p50: float | None
    snr_p95: float | None
    snr_p5: float | None
    per_p95: float
    retry_rate_p95: float
    airtime_util_p50: float
    cca_busy_p50: float
    cca_busy_p95: float
    station_count: int
    noise_floor_dbm: float
    non_wifi_duty_p50: float
    qoe_mean: float | None


def _pct(values: Sequence[float] | np.ndarray, q: float) -> float:
    return float(np.percentile(values, q))


def aggregate(radio_id: str, samples: Sequence[CompactSample]) -> RadioAggregate | None:
    """The aggregate of a window; None for an empty window."""
    if not samples:
        return None
    latest = samples[-1]
    rssi = np.concatenate([np.frombuffer(s.rssi, dtype=np.float32) for s in samples])
    snr = np.concatenate([np.frombuffer(s.snr, dtype=np.float32) for s in samples])
    qoe = np.concatenate([np.frombuffer(s.qoe, dtype=np.float32) for s in samples])

    def client_pct(values: np.ndarray, q: float) -> float | None:
        return _pct(values, q) if values.size else None

    return RadioAggregate(
        radio_id=radio_id,
        samples=len(samples),
        first_ts_ms=samples[0].ts_ms,
        last_ts_ms=latest.ts_ms,
        channel=latest.channel,
        width_mhz=latest.width_mhz,
        tx_power_dbm=latest.tx_power_dbm,
        rssi_p50=client_pct(rssi, 50),
        rssi_p95=client_pct(rssi, 95),
        rssi_p5=client_pct(rssi, 5),
        snr_p50=client_pct(snr, 50),
        snr_p95=client_pct(snr, 95),
        snr_p5=client_pct(snr, 5),
        per_p95=_pct([s.packet_error_rate for s in samples], 95),
        retry_rate_p95=_pct([s.retry_rate for s in samples], 95),
        airtime_util_p50=_pct([s.channel_utilization for s in samples], 50),
        cca_busy_p50=_pct([s.cca_busy for s in samples], 50),
        cca_busy_p95=_pct([s.cca_busy for s in samples], 95),
        station_count=latest.station_count,
        noise_floor_dbm=_pct([s.noise_floor_dbm for s in samples], 50),
        non_wifi_duty_p50=_pct([s.non_wifi_duty for s in samples], 50),
        qoe_mean=float(qoe.mean()) if qoe.size else None,
    )


class TelemetryWindows:
    """Bounded recent samples of every radio, with cached aggregates."""

    def __init__(self, window_s: float = 300.0, max_samples: int = 128) -> None:
        self.window_ms = int(window_s * 1000)
        self.max_samples = max_samples
        self._windows: dict[str, deque[CompactSample]] = {}
        self._cache: dict[str, RadioAggregate | None] = {}

    def add(self, samples: Iterable[pb.RadioSample]) -> None:
        for sample in samples:
            window = self._windows.get(sample.radio_id)
            if window is None:
                window = self._windows[sample.radio_id] = deque(maxlen=self.max_samples)
            compact = CompactSample.from_pb(sample)
            if window and compact.ts_ms < window[-1].ts_ms:
                # A backlog resent after an outage: older than what we hold; keep order by time.
                if compact.ts_ms < window[-1].ts_ms - self.window_ms:
                    continue
                ordered = sorted([*window, compact], key=lambda s: s.ts_ms)
                window.clear()
                window.extend(ordered[-self.max_samples :])
            else:
                window.append(compact)
            horizon = window[-1].ts_ms - self.window_ms
            while window and window[0].ts_ms < horizon:
                window.popleft()
            self._cache.pop(sample.radio_id, None)

    def radio_ids(self) -> list[str]:
        return sorted(self._windows)

    def aggregate(self, radio_id: str) -> RadioAggregate | None:
        if radio_id not in self._cache:
            self._cache[radio_id] = aggregate(radio_id, list(self._windows.get(radio_id, ())))
        return self._cache[radio_id]

    def sample_count(self) -> int:
        return sum(len(w) for w in self._windows.values())
