"""Recent telemetry per radio, and the aggregate the loops read (seed 000 3.1).

``aggregate`` is a pure function of a window of compact samples: medians and 95th (and 5th)
percentiles over samples, and over every client reading for RSSI and SNR.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from controller.client_columns import unpack_f32
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
    rssi: bytes  # packed float32 columns, as on the wire
    snr: bytes
    qoe: bytes

    @staticmethod
    def from_pb(sample: pb.RadioSample) -> CompactSample:
        readings = sample.client_readings
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
            rssi=readings.rssi_dbm,
            snr=readings.snr_db,
            qoe=readings.qoe,
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
    rssi = unpack_f32(b"".join(s.rssi for s in samples))
    snr = unpack_f32(b"".join(s.snr for s in samples))
    qoe = unpack_f32(b"".join(s.qoe for s in samples))

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
    """Recent samples of every radio, read from the ingest store, with cached aggregates.

    The ingest path only writes to disk; aggregates are computed when a loop asks, from the last
    ``window_s`` seconds (at most ``max_samples`` samples) of the radio's stored telemetry, so
    ingest speed does not depend on how many radios are being watched. ``owner_of`` names the
    agent whose batches hold a radio's samples.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        owner_of: Callable[[str], str | None],
        window_s: float = 300.0,
        max_samples: int = 128,
    ) -> None:
        self._conn = conn
        self._owner_of = owner_of
        self.window_ms = int(window_s * 1000)
        self.max_samples = max_samples
        self._cache: dict[str, tuple[int, RadioAggregate | None]] = {}

    def samples(self, radio_id: str, now_ms: int) -> list[CompactSample]:
        agent_id = self._owner_of(radio_id)
        if agent_id is None:
            return []
        horizon = now_ms - self.window_ms
        rows = self._conn.execute(
            "SELECT message FROM telemetry_batches WHERE agent_id = ? AND last_ts_ms > ? AND first_ts_ms <= ?",
            (agent_id, horizon, now_ms),
        ).fetchall()
        picked = [
            sample
            for (blob,) in rows
            for sample in pb.AgentMessage.FromString(blob).telemetry.samples
            if sample.radio_id == radio_id and horizon < sample.timestamp_ms <= now_ms
        ]
        picked.sort(key=lambda s: s.timestamp_ms)
        return [CompactSample.from_pb(s) for s in picked[-self.max_samples :]]

    def close(self) -> None:
        self._conn.close()

    def aggregate(self, radio_id: str, now_ms: int) -> RadioAggregate | None:
        cached = self._cache.get(radio_id)
        if cached is None or cached[0] != now_ms:
            cached = (now_ms, aggregate(radio_id, self.samples(radio_id, now_ms)))
            self._cache[radio_id] = cached
        return cached[1]
