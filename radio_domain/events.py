"""Kinds and severities of radio events (seed 000 1.1, seed 002 and seed 003)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class EventType(StrEnum):
    DFS_RADAR = "DFS_RADAR"
    NON_WIFI_BURST = "NON_WIFI_BURST"
    HW_FAILURE = "HW_FAILURE"
    DENSITY_SPIKE = "DENSITY_SPIKE"
    SPECTRUM_SAT = "SPECTRUM_SAT"
    SECURITY = "SECURITY"
    EMERGENCY_QOE = "EMERGENCY_QOE"
    LOAD_IMBALANCE = "LOAD_IMBALANCE"
    POWER_BUDGET_EXCEEDED = "POWER_BUDGET_EXCEEDED"
    CHANNEL_SWITCHED = "CHANNEL_SWITCHED"
    CAC_STARTED = "CAC_STARTED"
    CAC_COMPLETED = "CAC_COMPLETED"
    RADIO_RECOVERED = "RADIO_RECOVERED"
    OUTBOX_OVERFLOW = "OUTBOX_OVERFLOW"


class Severity(IntEnum):
    """Ordered: a larger value is more urgent."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


DEFAULT_SEVERITY: dict[EventType, Severity] = {
    EventType.DFS_RADAR: Severity.CRITICAL,
    EventType.HW_FAILURE: Severity.CRITICAL,
    EventType.NON_WIFI_BURST: Severity.HIGH,
    EventType.SPECTRUM_SAT: Severity.HIGH,
    EventType.SECURITY: Severity.HIGH,
    EventType.EMERGENCY_QOE: Severity.HIGH,
    EventType.DENSITY_SPIKE: Severity.MEDIUM,
    EventType.POWER_BUDGET_EXCEEDED: Severity.MEDIUM,
    EventType.LOAD_IMBALANCE: Severity.LOW,
    EventType.CHANNEL_SWITCHED: Severity.MEDIUM,
    EventType.CAC_STARTED: Severity.LOW,
    EventType.CAC_COMPLETED: Severity.LOW,
    EventType.RADIO_RECOVERED: Severity.MEDIUM,
    EventType.OUTBOX_OVERFLOW: Severity.HIGH,
}
