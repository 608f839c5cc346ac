"""The fast loop's view of one radio: seed 000 3.1 telemetry fields, cached, and the frozen snapshot.

``LoopTelemetry`` holds the figures the seed lists (p50/p95 RSSI, SNR, PER, retry rate, airtime
utilisation, CCA busy, station count) plus the two the reward needs (5th-percentile RSSI for the
weakest clients, mean client QoE). It is built from the controller's existing window aggregate
(controller/telemetry_window.py computes the percentiles over samples and over every client
reading), so there is one aggregation, not two.

``CachedLoopTelemetry`` wraps any ``(radio_id, now_ms) -> RadioAggregate | None`` source (in the
controller: ``TelemetryWindows.aggregate``) and keeps each radio's figures for ``refresh_s``
(seed: 10 s). Time is a parameter (STYLE.md 4): ``get`` takes ``now_s``.

``RadioSnapshot`` is what ``FastLoopOptimizer.propose`` reads: frozen, so a decision can never
change the live state it was computed from (STYLE.md 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from controller.fast_loop.candidates import SafeValues
from controller.fast_loop.channel_evidence import ChannelEvidence
from controller.telemetry_window import RadioAggregate
from radio_domain.radio import Band, RadioConfig, split_radio_id
from radio_domain.regulatory import Region

DEFAULT_REFRESH_S = 10.0


@dataclass(frozen=True, slots=True)
class LoopTelemetry:
    """One radio's figures over a window. Client figures are None when the window saw no client."""

    rssi_p50: float | None
    rssi_p95: float | None
    rssi_p5: float | None
    snr_p95: float | None
    per_p95: float
    retry_rate_p95: float
    airtime_util_p50: float
    cca_busy_p50: float
    station_count: int
    qoe_mean: float | None

    @staticmethod
    def from_aggregate(agg: RadioAggregate) -> LoopTelemetry:
        return LoopTelemetry(
            rssi_p50=agg.rssi_p50,
            rssi_p95=agg.rssi_p95,
            rssi_p5=agg.rssi_p5,
            snr_p95=agg.snr_p95,
            per_p95=agg.per_p95,
            retry_rate_p95=agg.retry_rate_p95,
            airtime_util_p50=agg.airtime_util_p50,
            cca_busy_p50=agg.cca_busy_p50,
            station_count=agg.station_count,
            qoe_mean=agg.qoe_mean,
        )


class CachedLoopTelemetry:
    """Per-radio ``LoopTelemetry``, recomputed from ``source`` at most once per ``refresh_s``."""

    def __init__(
        self,
        source: Callable[[str, int], RadioAggregate | None],
        refresh_s: float = DEFAULT_REFRESH_S,
    ) -> None:
        self._source = source
        self.refresh_s = refresh_s
        self._cache: dict[str, tuple[float, LoopTelemetry | None]] = {}

    def get(self, radio_id: str, now_s: float) -> LoopTelemetry | None:
        cached = self._cache.get(radio_id)
        if cached is not None and 0.0 <= now_s - cached[0] < self.refresh_s:
            return cached[1]
        agg = self._source(radio_id, int(now_s * 1000))
        telemetry = None if agg is None else LoopTelemetry.from_aggregate(agg)
        self._cache[radio_id] = (now_s, telemetry)
        return telemetry

    def forget(self, radio_id: str) -> None:
        """Drop a radio's cached figures (after a change, the old window no longer describes it)."""
        self._cache.pop(radio_id, None)


@dataclass(frozen=True, slots=True)
class RadioSnapshot:
    """Everything one decision reads, frozen at ``now_s`` (unix seconds, virtual or real)."""

    radio_id: str
    region: Region
    band: Band
    now_s: float
    config: RadioConfig
    telemetry: LoopTelemetry
    safe: SafeValues = field(default_factory=SafeValues)
    evidence: ChannelEvidence | None = None  # the ACS-like prior (channel_evidence.py); None: flat

    @property
    def ap_id(self) -> str:
        return split_radio_id(self.radio_id)[0]
