"""The JSON shapes of the simulated AP's control socket (``rrm sim-ap``), both directions.

One JSON object per line. Requests carry an ``id`` and an ``op`` (attach, state, apply, steer,
fallback: ap_server.py); replies carry the same ``id`` and either a result or an ``error``
naming the typed driver error; events arrive unasked as ``{"event": ...}``. Like hostapd's
control interface: request + reply, and events interleaved. Kept free of numpy so that an agent
talking to a simulated AP stays small.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drivers.protocol import (
    ApplyResult,
    CapabilityRefused,
    ChangeRejected,
    ClientObservation,
    DriverError,
    DriverEvent,
    DriverUnavailable,
    NeighborObservation,
    RadioCapabilities,
    RadioInfo,
    RadioState,
    Reading,
    SteeringOutcome,
)
from radio_domain.events import EventType
from radio_domain.radio import Band, ConfigChange, RadioConfig

JsonObject = dict[str, Any]

_ERRORS: dict[str, type[DriverError]] = {
    "CapabilityRefused": CapabilityRefused,
    "ChangeRejected": ChangeRejected,
    "DriverUnavailable": DriverUnavailable,
    "DriverError": DriverError,
}


def config_from_json(data: JsonObject) -> RadioConfig:
    return RadioConfig(
        channel=int(data["channel"]),
        width_mhz=int(data["width_mhz"]),
        tx_power_dbm=float(data["tx_power_dbm"]),
        obss_pd_dbm=int(data["obss_pd_dbm"]),
        enabled=bool(data["enabled"]),
    )


def radio_info_to_json(info: RadioInfo) -> JsonObject:
    return {
        "radio_id": info.radio_id,
        "ap_id": info.ap_id,
        "band": info.band.value,
        "capabilities": {**asdict(info.capabilities), "reads": sorted(r.value for r in info.capabilities.reads)},
    }


def radio_info_from_json(data: JsonObject) -> RadioInfo:
    caps = dict(data["capabilities"])
    caps["channels"] = tuple(caps["channels"])
    caps["widths_mhz"] = tuple(caps["widths_mhz"])
    caps["reads"] = frozenset(Reading(r) for r in caps["reads"])
    return RadioInfo(data["radio_id"], data["ap_id"], Band(data["band"]), RadioCapabilities(**caps))


def state_to_json(state: RadioState) -> JsonObject:
    return asdict(state)


def state_from_json(data: JsonObject) -> RadioState:
    return RadioState(
        radio_id=data["radio_id"],
        timestamp=float(data["timestamp"]),
        config=config_from_json(data["config"]),
        noise_floor_dbm=float(data["noise_floor_dbm"]),
        channel_utilization=float(data["channel_utilization"]),
        cca_busy=float(data["cca_busy"]),
        tx_airtime=float(data["tx_airtime"]),
        retry_rate=float(data["retry_rate"]),
        packet_error_rate=float(data["packet_error_rate"]),
        clients=tuple(_client_from_json(c) for c in data["clients"]),
        neighbors=tuple(NeighborObservation(**n) for n in data["neighbors"]),
        non_wifi_duty=float(data["non_wifi_duty"]),
        disassociations_total=int(data["disassociations_total"]),
    )


def _client_from_json(data: JsonObject) -> ClientObservation:
    qoe = data["qoe"]
    return ClientObservation(
        client_id=str(data["client_id"]),
        rssi_dbm=float(data["rssi_dbm"]),
        snr_db=float(data["snr_db"]),
        tx_rate_mbps=float(data["tx_rate_mbps"]),
        throughput_mbps=float(data["throughput_mbps"]),
        retry_rate=float(data["retry_rate"]),
        qoe=None if qoe is None else float(qoe),
        supports_dfs=bool(data["supports_dfs"]),
        supports_6g=bool(data["supports_6g"]),
        supports_btm=bool(data["supports_btm"]),
    )


def event_to_json(event: DriverEvent) -> JsonObject:
    return {
        "radio_id": event.radio_id,
        "type": event.type.value,
        "timestamp": event.timestamp,
        "confidence": event.confidence,
        "channel": event.channel,
        "config": asdict(event.config) if event.config is not None else None,
        "metadata": dict(event.metadata),
    }


def event_from_json(data: JsonObject) -> DriverEvent:
    return DriverEvent(
        radio_id=data["radio_id"],
        type=EventType(data["type"]),
        timestamp=float(data["timestamp"]),
        confidence=float(data["confidence"]),
        channel=int(data["channel"]),
        config=config_from_json(data["config"]) if data["config"] is not None else None,
        metadata={str(k): str(v) for k, v in data["metadata"].items()},
    )


def change_to_json(change: ConfigChange) -> JsonObject:
    return {k: v for k, v in asdict(change).items() if v is not None}


def change_from_json(data: JsonObject) -> ConfigChange:
    allowed = {"channel", "width_mhz", "tx_power_dbm", "obss_pd_dbm"}
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"unknown change parameters {sorted(unknown)}")
    return ConfigChange(**data)


def result_to_json(result: ApplyResult) -> JsonObject:
    return {"radio_id": result.radio_id, "before": asdict(result.before), "after": asdict(result.after)}


def result_from_json(data: JsonObject) -> ApplyResult:
    return ApplyResult(data["radio_id"], config_from_json(data["before"]), config_from_json(data["after"]))


def steering_to_json(outcome: SteeringOutcome) -> JsonObject:
    return {"outcome": outcome.value}


def steering_from_json(data: JsonObject) -> SteeringOutcome:
    return SteeringOutcome(data["outcome"])


def channels_from_json(value: object) -> list[int]:
    """A list of channel numbers (integers, not booleans); ValueError otherwise."""
    if not isinstance(value, list) or any(isinstance(c, bool) or not isinstance(c, int) for c in value):
        raise ValueError(f"channels must be a list of integers, got {value!r}")
    return [int(c) for c in value]


def error_to_json(error: DriverError) -> JsonObject:
    return {
        "type": type(error).__name__,
        "radio_id": error.radio_id,
        "operation": error.operation,
        "detail": error.detail,
    }


def error_from_json(data: JsonObject) -> DriverError:
    kind = _ERRORS.get(str(data.get("type")), DriverError)
    return kind(str(data.get("radio_id", "")), str(data.get("operation", "")), str(data.get("detail", "")))
