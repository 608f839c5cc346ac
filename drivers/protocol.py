"""The one small interface every southbound backend implements (STYLE.md point 5).

A driver knows a set of radios. It reports their state (configuration plus telemetry), their
capabilities, applies configuration changes, and yields events (radar, interference, failures,
channel switches the AP made on its own). Failures are typed: a missing capability is a
CapabilityRefused, a value the radio will not take is a ChangeRejected, an unreachable or
misbehaving AP is a DriverUnavailable; each names the radio and the operation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from radio_domain.events import EventType
from radio_domain.radio import Band, ConfigChange, RadioConfig


class Reading(StrEnum):
    """A kind of telemetry a driver can measure. What it cannot measure it leaves at a neutral value
    in RadioState; consumers check ``RadioCapabilities.reads`` before trusting a field."""

    CONFIG = "config"  # channel and width (every driver)
    TX_POWER = "tx_power"  # the transmit power in effect (hostapd alone cannot tell it)
    UTILISATION = "utilisation"  # channel_utilization, cca_busy, tx_airtime
    NOISE = "noise"  # noise_floor_dbm
    NON_WIFI = "non_wifi"  # non_wifi_duty
    ERRORS = "errors"  # retry_rate, packet_error_rate
    CLIENTS = "clients"  # per-client observations
    NEIGHBOURS = "neighbours"  # BSSs heard on air
    OBSS_PD = "obss_pd"  # the OBSS-PD threshold in effect


ALL_READINGS: frozenset[Reading] = frozenset(Reading)


@dataclass(frozen=True, slots=True)
class RadioCapabilities:
    channels: tuple[int, ...]
    widths_mhz: tuple[int, ...]
    min_tx_power_dbm: float
    max_tx_power_dbm: float
    can_change_channel: bool = True
    can_change_width: bool = True
    can_change_tx_power: bool = True
    can_change_obss_pd: bool = True
    reports_radar: bool = False
    reports_spectrum: bool = False
    can_steer_clients: bool = False
    # The radio's own radar fallback list can be set (hostapd ``chanlist``): on radar the AP moves
    # there by itself, in one CSA, before any agent could act (ARCHITECTURE.md "The radar path").
    can_set_fallback_channels: bool = False
    # What the driver measures for this radio (the simulator measures everything).
    reads: frozenset[Reading] = ALL_READINGS


@dataclass(frozen=True, slots=True)
class RadioInfo:
    """What a driver says about a radio it manages."""

    radio_id: str
    ap_id: str
    band: Band
    capabilities: RadioCapabilities


@dataclass(frozen=True, slots=True)
class ClientObservation:
    """One associated client as the AP sees it. ``client_id`` is raw: the agent hashes it."""

    client_id: str
    rssi_dbm: float
    snr_db: float
    tx_rate_mbps: float
    throughput_mbps: float
    retry_rate: float
    qoe: float | None = None
    # What the client can do, where the AP knows it (association capabilities); True when unknown.
    supports_dfs: bool = True
    supports_6g: bool = True
    supports_btm: bool = True  # answers 802.11v BSS transition management requests


@dataclass(frozen=True, slots=True)
class NeighborObservation:
    """A BSS heard on air. ``neighbor_id`` is our radio id when managed, else a raw BSSID."""

    neighbor_id: str
    managed: bool
    channel: int
    width_mhz: int
    rssi_dbm: float


@dataclass(frozen=True, slots=True)
class RadioState:
    """One radio at one instant; fractions are over the interval since the previous reading."""

    radio_id: str
    timestamp: float
    config: RadioConfig
    noise_floor_dbm: float
    channel_utilization: float
    cca_busy: float
    tx_airtime: float
    retry_rate: float
    packet_error_rate: float
    clients: tuple[ClientObservation, ...] = ()
    neighbors: tuple[NeighborObservation, ...] = ()
    non_wifi_duty: float = 0.0
    # Clients that left the radio since it came up (a counter: the agent takes differences).
    disassociations_total: int = 0


@dataclass(frozen=True, slots=True)
class DriverEvent:
    """Something the radio or AP reported. ``config`` is the radio's config after the event."""

    radio_id: str
    type: EventType
    timestamp: float
    confidence: float = 1.0
    channel: int = 0
    config: RadioConfig | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


class SteeringOutcome(StrEnum):
    MOVED = "moved"  # the client accepted the BSS transition request and roamed
    REJECTED = "rejected"  # the client answered with a reject status
    IGNORED = "ignored"  # no answer, or it stayed


@dataclass(frozen=True, slots=True)
class ApplyResult:
    radio_id: str
    before: RadioConfig
    after: RadioConfig


class DriverError(Exception):
    """A driver operation failed; the message names the radio and the operation."""

    def __init__(self, radio_id: str, operation: str, detail: str) -> None:
        super().__init__(f"{radio_id}: {operation}: {detail}")
        self.radio_id = radio_id
        self.operation = operation
        self.detail = detail


class CapabilityRefused(DriverError):
    """The driver cannot do this at all (e.g. change OBSS-PD over SNMP)."""


class ChangeRejected(DriverError):
    """The radio refused the value (illegal channel, channel in non-occupancy, power too high)."""


class DriverUnavailable(DriverError):
    """The AP did not answer, answered garbage, or refused our credentials."""


@runtime_checkable
class RadioDriver(Protocol):
    """state, capabilities, apply(change), events."""

    @property
    def name(self) -> str: ...

    def radios(self) -> Sequence[RadioInfo]:
        """The radios this driver manages, with their capabilities."""
        ...

    async def state(self) -> Sequence[RadioState]:
        """Current configuration and telemetry of every radio."""
        ...

    async def apply(self, radio_id: str, change: ConfigChange) -> ApplyResult:
        """Apply a change and return the configuration before and after.

        Applying a change that is already in effect returns before == after and changes nothing.
        """
        ...

    def events(self) -> AsyncIterator[DriverEvent]:
        """Events as they happen; the iterator ends when the driver is closed."""
        ...

    async def steer_client(self, radio_id: str, client_id: str, target_radio_id: str) -> SteeringOutcome:
        """Ask a client to roam to another radio (802.11v BSS transition management request).

        Raises CapabilityRefused when the radio cannot steer (``can_steer_clients`` False).
        """
        ...

    async def set_fallback_channels(self, radio_id: str, channels: Sequence[int]) -> None:
        """Point the radio's own radar fallback at these channels, best first.

        Raises CapabilityRefused when the radio has no such list (``can_set_fallback_channels`` False).
        """
        ...

    async def close(self) -> None: ...
