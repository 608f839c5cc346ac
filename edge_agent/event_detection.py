"""Events the agent raises itself from telemetry (seed 002 auto-detection), not only driver events.

Pure: (previous reading, current reading, thresholds) -> detected events. Client ids stay inside
the agent: a detection carries the raw ids it concerns in ``subjects`` (for steering), while its
metadata, which is reported to the controller, carries only counts and figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median

from drivers.protocol import ClientObservation, RadioState
from edge_agent.event_policy import DetectionThresholds
from radio_domain.events import EventType
from radio_domain.radio import Band, split_radio_id
from radio_domain.regulatory import Region, RegulatoryError, max_tx_power_dbm

POOR_SNR_DB = 15.0  # without a QoE figure, a client this weak or retrying this much is doing badly
POOR_RETRY = 0.3


@dataclass(frozen=True, slots=True)
class DetectedEvent:
    radio_id: str
    type: EventType
    timestamp: float
    confidence: float
    channel: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    subjects: tuple[str, ...] = ()  # raw client ids concerned; never leave the agent


def client_is_poor(client: ClientObservation, poor_qoe: float) -> bool:
    """Below the QoE bar; without a QoE figure (real APs), judged by SNR and retries."""
    if client.qoe is not None:
        return client.qoe < poor_qoe
    return client.snr_db < POOR_SNR_DB or client.retry_rate > POOR_RETRY


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def detect_radio_events(
    previous: RadioState | None, current: RadioState, region: Region, thresholds: DetectionThresholds
) -> list[DetectedEvent]:
    """What one radio's latest reading says is wrong."""
    found: list[DetectedEvent] = []
    config = current.config
    if not config.enabled:
        return found

    def add(kind: EventType, confidence: float, metadata: dict[str, str], subjects: Sequence[str] = ()) -> None:
        found.append(
            DetectedEvent(
                current.radio_id,
                kind,
                current.timestamp,
                round(_clamp(confidence), 3),
                config.channel,
                metadata,
                tuple(subjects),
            )
        )

    duty = current.non_wifi_duty
    if duty >= thresholds.non_wifi_duty:
        confidence = 0.5 + 0.5 * (duty - thresholds.non_wifi_duty) / max(1e-9, 1.0 - thresholds.non_wifi_duty)
        add(EventType.NON_WIFI_BURST, confidence, {"duty_cycle": f"{duty:.2f}", "source": "telemetry"})
    wifi_busy = current.cca_busy - duty
    if wifi_busy >= thresholds.cca_busy:
        confidence = 0.5 + 0.5 * (wifi_busy - thresholds.cca_busy) / max(1e-9, 1.0 - thresholds.cca_busy)
        add(EventType.SPECTRUM_SAT, confidence, {"cca_busy": f"{current.cca_busy:.2f}", "source": "telemetry"})
    clients = current.clients
    poor = [c for c in clients if client_is_poor(c, thresholds.poor_qoe)]
    if clients and (
        len(poor) >= thresholds.poor_client_min or len(poor) / len(clients) >= thresholds.poor_client_share
    ):
        share = len(poor) / len(clients)
        weak = median(c.rssi_dbm for c in poor) if poor else 0.0
        add(
            EventType.EMERGENCY_QOE,
            0.5 + 0.5 * share,
            {
                "poor_clients": str(len(poor)),
                "clients": str(len(clients)),
                "poor_share": f"{share:.2f}",
                "poor_median_rssi_dbm": f"{weak:.1f}",
            },
            [c.client_id for c in poor],
        )
    if previous is not None:
        before, now = len(previous.clients), len(clients)
        jump = now - before
        if jump >= thresholds.density_jump_clients and jump >= thresholds.density_jump_ratio * max(1, before):
            add(
                EventType.DENSITY_SPIKE,
                _clamp(0.5 + jump / (2.0 * max(1, now))),
                {"clients_before": str(before), "clients_now": str(now)},
            )
    _, band = split_radio_id(current.radio_id)
    try:
        limit = max_tx_power_dbm(region, band, config.channel, config.width_mhz)
    except RegulatoryError:
        limit = config.tx_power_dbm
    if config.tx_power_dbm > limit + 1e-6:
        add(
            EventType.POWER_BUDGET_EXCEEDED,
            1.0,
            {"tx_power_dbm": f"{config.tx_power_dbm:g}", "limit_dbm": f"{limit:g}"},
        )
    return found


def detect_load_imbalance(states: Sequence[RadioState], thresholds: DetectionThresholds) -> list[DetectedEvent]:
    """Band imbalance on one AP: a crowded 2.4 GHz radio holding clients its 5/6 GHz radio could take."""
    by_band = {split_radio_id(s.radio_id)[1]: s for s in states if s.config.enabled}
    low = by_band.get(Band.G2)
    if low is None:
        return []
    for band in (Band.G5, Band.G6):
        high = by_band.get(band)
        if high is None:
            continue
        movable = [c for c in low.clients if (c.supports_6g if band is Band.G6 else True)]
        crowded = len(low.clients) >= thresholds.imbalance_min_clients
        if crowded and len(low.clients) >= thresholds.imbalance_ratio * max(1, len(high.clients)) and movable:
            confidence = _clamp(1.0 - len(high.clients) / max(1, len(low.clients)))
            return [
                DetectedEvent(
                    low.radio_id,
                    EventType.LOAD_IMBALANCE,
                    low.timestamp,
                    round(confidence, 3),
                    low.config.channel,
                    {
                        "clients": str(len(low.clients)),
                        "target": high.radio_id,
                        "target_clients": str(len(high.clients)),
                    },
                    tuple(c.client_id for c in movable),
                )
            ]
    return []
