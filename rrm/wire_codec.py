"""Conversions between the domain types and the rrm.v1 wire messages.

The only place that knows both shapes; servicers and the agent link decode, delegate, encode.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence

from drivers.protocol import RadioCapabilities, RadioInfo
from radio_domain.events import EventType, Severity
from radio_domain.identifiers import HASH_BYTES
from radio_domain.radio import Band, ConfigChange, RadioConfig
from rrm.v1 import agent_link_pb2 as pb

_BAND_TO_PB = {Band.G2: pb.BAND_2G, Band.G5: pb.BAND_5G, Band.G6: pb.BAND_6G}
_BAND_FROM_PB = {v: k for k, v in _BAND_TO_PB.items()}


PROTOCOL_VERSION = 1
"""The rrm.v1 minor revision this code speaks (Hello.protocol_version, Welcome.protocol_version)."""


class WireError(ValueError):
    """A wire message does not carry what it must; the message names the field."""


def band_to_pb(band: Band) -> pb.Band.ValueType:
    return _BAND_TO_PB[band]


def band_from_pb(value: int) -> Band:
    try:
        return _BAND_FROM_PB[pb.Band.ValueType(value)]
    except KeyError:
        raise WireError(f"band {value} is not a known band") from None


def config_to_pb(config: RadioConfig) -> pb.RadioConfig:
    return pb.RadioConfig(
        channel=config.channel,
        width_mhz=config.width_mhz,
        tx_power_dbm=config.tx_power_dbm,
        obss_pd_dbm=config.obss_pd_dbm,
        enabled=config.enabled,
    )


def config_from_pb(msg: pb.RadioConfig) -> RadioConfig:
    return RadioConfig(
        channel=msg.channel,
        width_mhz=msg.width_mhz,
        tx_power_dbm=msg.tx_power_dbm,
        obss_pd_dbm=msg.obss_pd_dbm,
        enabled=msg.enabled,
    )


def change_to_pb(change: ConfigChange) -> pb.ConfigChange:
    msg = pb.ConfigChange()
    if change.channel is not None:
        msg.channel = change.channel
    if change.width_mhz is not None:
        msg.width_mhz = change.width_mhz
    if change.tx_power_dbm is not None:
        msg.tx_power_dbm = change.tx_power_dbm
    if change.obss_pd_dbm is not None:
        msg.obss_pd_dbm = change.obss_pd_dbm
    return msg


def change_from_pb(msg: pb.ConfigChange) -> ConfigChange:
    return ConfigChange(
        channel=msg.channel if msg.HasField("channel") else None,
        width_mhz=msg.width_mhz if msg.HasField("width_mhz") else None,
        tx_power_dbm=msg.tx_power_dbm if msg.HasField("tx_power_dbm") else None,
        obss_pd_dbm=msg.obss_pd_dbm if msg.HasField("obss_pd_dbm") else None,
    )


def capabilities_to_pb(caps: RadioCapabilities) -> pb.RadioCapabilities:
    return pb.RadioCapabilities(
        channels=caps.channels,
        widths_mhz=caps.widths_mhz,
        min_tx_power_dbm=caps.min_tx_power_dbm,
        max_tx_power_dbm=caps.max_tx_power_dbm,
        can_change_channel=caps.can_change_channel,
        can_change_width=caps.can_change_width,
        can_change_tx_power=caps.can_change_tx_power,
        can_change_obss_pd=caps.can_change_obss_pd,
        reports_radar=caps.reports_radar,
        reports_spectrum=caps.reports_spectrum,
        can_steer_clients=caps.can_steer_clients,
    )


def capabilities_from_pb(msg: pb.RadioCapabilities) -> RadioCapabilities:
    return RadioCapabilities(
        channels=tuple(msg.channels),
        widths_mhz=tuple(msg.widths_mhz),
        min_tx_power_dbm=msg.min_tx_power_dbm,
        max_tx_power_dbm=msg.max_tx_power_dbm,
        can_change_channel=msg.can_change_channel,
        can_change_width=msg.can_change_width,
        can_change_tx_power=msg.can_change_tx_power,
        can_change_obss_pd=msg.can_change_obss_pd,
        reports_radar=msg.reports_radar,
        reports_spectrum=msg.reports_spectrum,
        can_steer_clients=msg.can_steer_clients,
    )


def descriptor_to_pb(info: RadioInfo, config: RadioConfig) -> pb.RadioDescriptor:
    return pb.RadioDescriptor(
        radio_id=info.radio_id,
        ap_id=info.ap_id,
        band=band_to_pb(info.band),
        capabilities=capabilities_to_pb(info.capabilities),
        config=config_to_pb(config),
    )


def event_type_to_pb(kind: EventType) -> pb.EventType.ValueType:
    return pb.EventType.Value(kind.value)


def event_type_from_pb(value: int) -> EventType:
    try:
        return EventType(pb.EventType.Name(pb.EventType.ValueType(value)))
    except ValueError:
        raise WireError(f"event type {value} is not known") from None


def severity_to_pb(severity: Severity) -> pb.Severity.ValueType:
    return pb.Severity.Value(severity.name)


def severity_from_pb(value: int) -> Severity:
    try:
        return Severity[pb.Severity.Name(pb.Severity.ValueType(value))]
    except (KeyError, ValueError):
        raise WireError(f"severity {value} is not known") from None


CLIENT_COLUMNS = ("rssi_dbm", "snr_db", "tx_rate_mbps", "throughput_mbps", "retry_rate", "qoe")
"""The packed float32 columns of ClientReadings (little-endian, one value per client)."""


def pack_f32(values: Iterable[float]) -> bytes:
    """A packed little-endian float32 column (stdlib only: agents do not load numpy for this)."""
    column = array("f", values)
    if sys.byteorder == "big":
        column.byteswap()
    return column.tobytes()


CLIENT_ID_BYTES = HASH_BYTES


def client_readings(client_ids: Sequence[bytes], columns: Mapping[str, Sequence[float]]) -> pb.ClientReadings:
    """Build a ClientReadings message; ``columns`` maps column names to one value per client."""
    unknown = set(columns) - set(CLIENT_COLUMNS)
    if unknown:
        raise WireError(f"client columns {sorted(unknown)} are unknown; expected {list(CLIENT_COLUMNS)}")
    if any(len(c) != CLIENT_ID_BYTES for c in client_ids):
        raise WireError(f"client ids must be {CLIENT_ID_BYTES}-byte keyed hashes")
    msg = pb.ClientReadings(client_ids=b"".join(client_ids))
    for name, values in columns.items():
        if len(values) != len(client_ids):
            raise WireError(f"client column {name} has {len(values)} values for {len(client_ids)} clients")
        setattr(msg, name, pack_f32(values))
    return msg


def ms(seconds: float) -> int:
    """Unix seconds to the wire's unix milliseconds."""
    return round(seconds * 1000.0)
