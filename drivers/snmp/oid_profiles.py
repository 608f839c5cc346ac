"""OID maps as data: which numeric OIDs hold a radio's channel, power and telemetry on an SNMP agent.

Two profiles ship (numeric OIDs only; the MIB texts are not shipped, ../shared/facts/southbound.md 3):

- ``ieee80211``: IEEE802dot11-MIB, every table indexed by ifIndex. dot11CurrentFrequency (OFDM PHY,
  a 5 GHz *channel number*) marks 5 GHz radios, dot11CurrentChannel (DSSS PHY) 2.4 GHz ones;
  dot11CurrentTxPowerLevel is an index 1..8 into dot11TxPowerLevel1..8 (mW, read per radio at open);
  the counters give retry rate and packet error rate as deltas between readings.
- ``airespace``: Cisco AIRESPACE-WIRELESS-MIB on a WLC, bsnAPIfTable indexed by the AP's MAC (six
  sub-ids, no length prefix) and the slot. The band follows from the channel number (1..14: 2.4 GHz,
  else 5 GHz; 6 GHz radios cannot be told apart). A channel or power SET also writes the
  assignment/control column to "customized" so DCA/DTP does not move it back. The power level is
  mapped to dBm by ``AIRESPACE_LEVELS_DBM`` (level 1 = full power, each level halves it, 3 dB), an
  assumption stated as data: real power per level depends on the AP model and band.
  Channel utilisation is total busy time; the interference (foreign 802.11) utilisation is used as
  ``cca_busy`` (busy time caused by others); both are percentages. Interference, noise and radar
  tables carry the channel as a third index component (``per_channel``).

A profile can also come from a JSON file, read strictly (unknown keys are errors naming the file and
key); ``PROFILE_KEYS`` documents the format.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from radio_domain.radio import Band
from rrm.strict_fields import Problems, join, read_bool, read_choice, read_number, read_object, read_string

Oid = tuple[int, ...]

MAX_POWER_LEVELS = 8


class ProfileError(ValueError):
    """A profile file or value that cannot be used; the message names the file and key."""


class IndexKind(StrEnum):
    IF_INDEX = "if_index"  # one sub-id
    MAC_SLOT = "mac_slot"  # six sub-ids of MAC address, then the slot


class Telemetry(StrEnum):
    """What a telemetry column measures; percentages become fractions, counters become rates."""

    CHANNEL_UTILIZATION = "channel_utilization"  # percent
    CCA_BUSY = "cca_busy"  # percent
    NON_WIFI_DUTY = "non_wifi_duty"  # percent
    NOISE_FLOOR_DBM = "noise_floor_dbm"  # dBm
    RETRY_COUNT = "retry_count"  # Counter32: frames that needed retries
    ACK_FAILURE_COUNT = "ack_failure_count"  # Counter32: transmissions without an ACK
    TRANSMITTED_FRAME_COUNT = "transmitted_frame_count"  # Counter32: frames sent successfully


PERCENT_TELEMETRY = frozenset({Telemetry.CHANNEL_UTILIZATION, Telemetry.CCA_BUSY, Telemetry.NON_WIFI_DUTY})
COUNTER_TELEMETRY = frozenset({Telemetry.RETRY_COUNT, Telemetry.ACK_FAILURE_COUNT, Telemetry.TRANSMITTED_FRAME_COUNT})


@dataclass(frozen=True, slots=True)
class Column:
    """A table column; ``per_channel`` columns carry the current channel as a last index sub-id."""

    name: str
    oid: Oid
    per_channel: bool = False

    def at(self, index: Oid, channel: int = 0) -> Oid:
        return self.oid + index + ((channel,) if self.per_channel else ())

    def label(self, index: Oid) -> str:
        """``dot11CurrentFrequency.2 (1.2.840.10036.4.11.1.1.2)`` for messages."""
        return f"{self.name}.{format_oid(index)} ({format_oid(self.oid + index)})"


@dataclass(frozen=True, slots=True)
class ChannelColumn:
    column: Column
    band: Band | None  # None: the band follows from the channel number


@dataclass(frozen=True, slots=True)
class Pin:
    """A value written in the same SET as a change, e.g. channel assignment = customized."""

    column: Column
    value: int


@dataclass(frozen=True, slots=True)
class TxPowerColumns:
    """The writable level (1..N) and what each level means: per-radio mW columns or fixed dBm."""

    level: Column
    level_mw: tuple[Column, ...] = ()
    levels_dbm: tuple[float, ...] = ()
    level_count: Column | None = None


@dataclass(frozen=True, slots=True)
class TrapMap:
    """Notification OIDs and the varbind columns that name the radio and the channel."""

    mac: Oid
    slot: Oid
    channel: Oid
    radar_detected: Oid | None = None
    radar_cleared: Oid | None = None
    channel_changed: Oid | None = None


@dataclass(frozen=True, slots=True)
class OidProfile:
    name: str
    index: IndexKind
    channels: tuple[ChannelColumn, ...]
    tx_power: TxPowerColumns | None = None
    channel_pin: Pin | None = None
    power_pin: Pin | None = None
    width: Column | None = None  # MHz, writable
    obss_pd: Column | None = None  # dBm, writable
    assumed_width_mhz: int = 20  # reported when there is no width column
    telemetry: Mapping[Telemetry, Column] = field(default_factory=dict)
    radar: Column | None = None  # rows under the radio's index whose value is a radar channel
    radar_poll_s: float = 10.0
    traps: TrapMap | None = None


def parse_oid(text: str) -> Oid:
    """``"1.3.6.1"`` (a leading dot is allowed) -> ``(1, 3, 6, 1)``; ValueError naming the text."""
    parts = text.strip().removeprefix(".").split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{text!r} is not a numeric OID such as 1.3.6.1.4.1")
    oid = tuple(int(p) for p in parts)
    if oid[0] > 2:
        raise ValueError(f"{text!r} is not a numeric OID: the first arc must be 0, 1 or 2")
    return oid


def format_oid(oid: Oid) -> str:
    return ".".join(str(n) for n in oid)


def mac_slot_index(mac: bytes, slot: int) -> Oid:
    """The bsnAPIfTable index: six MAC sub-ids, no length prefix, then the slot."""
    if len(mac) != 6:
        raise ValueError(f"a MAC address has 6 bytes, got {len(mac)}")
    return (*mac, slot)


def split_mac_slot(index: Oid) -> tuple[bytes, int]:
    """Inverse of :func:`mac_slot_index`; ValueError when the index is not MAC+slot."""
    if len(index) != 7 or not all(0 <= n <= 255 for n in index[:6]):
        raise ValueError(f"index {format_oid(index)} is not six MAC bytes and a slot")
    return bytes(index[:6]), index[6]


def format_mac(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def parse_mac(text: str) -> bytes:
    """``00:11:22:33:44:55`` (or with dashes, or bare hex) -> 6 bytes; ValueError naming the text."""
    digits = text.replace(":", "").replace("-", "").strip()
    try:
        mac = bytes.fromhex(digits)
    except ValueError:
        mac = b""
    if len(mac) != 6:
        raise ValueError(f"{text!r} is not a MAC address such as 00:11:22:33:44:55")
    return mac


def band_for_channel(channel: int) -> Band | None:
    """The band a bare channel number implies (2.4 or 5 GHz); None when it implies neither."""
    if 1 <= channel <= 14:
        return Band.G2
    if 32 <= channel <= 196:
        return Band.G5
    return None


def mw_to_dbm(milliwatts: float) -> float:
    if milliwatts <= 0:
        raise ValueError(f"a power level of {milliwatts} mW cannot be expressed in dBm")
    return round(10.0 * math.log10(milliwatts), 1)


@dataclass(frozen=True, slots=True)
class PowerLevels:
    """What each tx power level (1-based) means in dBm."""

    dbm: tuple[float, ...]

    def dbm_of(self, level: int) -> float | None:
        return self.dbm[level - 1] if 1 <= level <= len(self.dbm) else None

    def level_for(self, dbm: float) -> int | None:
        """The strongest level that does not exceed ``dbm`` (never more than asked); None if all do."""
        fitting = [(p, n) for n, p in enumerate(self.dbm, start=1) if p <= dbm + 0.05]
        return max(fitting)[1] if fitting else None

    @property
    def min_dbm(self) -> float:
        return min(self.dbm)

    @property
    def max_dbm(self) -> float:
        return max(self.dbm)


_D = (1, 2, 840, 10036)
_A = (1, 3, 6, 1, 4, 1, 14179)

IEEE80211 = OidProfile(
    name="ieee80211",
    index=IndexKind.IF_INDEX,
    channels=(
        ChannelColumn(Column("dot11CurrentFrequency", (*_D, 4, 11, 1, 1)), Band.G5),
        ChannelColumn(Column("dot11CurrentChannel", (*_D, 4, 5, 1, 1)), Band.G2),
    ),
    tx_power=TxPowerColumns(
        level=Column("dot11CurrentTxPowerLevel", (*_D, 4, 3, 1, 10)),
        level_mw=tuple(Column(f"dot11TxPowerLevel{n}", (*_D, 4, 3, 1, n + 1)) for n in range(1, 9)),
        level_count=Column("dot11NumberSupportedPowerLevels", (*_D, 4, 3, 1, 1)),
    ),
    telemetry={
        Telemetry.RETRY_COUNT: Column("dot11RetryCount", (*_D, 2, 2, 1, 4)),
        Telemetry.ACK_FAILURE_COUNT: Column("dot11ACKFailureCount", (*_D, 2, 2, 1, 9)),
        Telemetry.TRANSMITTED_FRAME_COUNT: Column("dot11TransmittedFrameCount", (*_D, 2, 2, 1, 13)),
    },
)

AIRESPACE_LEVELS_DBM = (20.0, 17.0, 14.0, 11.0, 8.0, 5.0, 2.0, -1.0)
"""bsnAPIfPhyTxPowerLevel 1..8 -> dBm: level 1 at 20 dBm (100 mW), each further level 3 dB lower."""

AIRESPACE = OidProfile(
    name="airespace",
    index=IndexKind.MAC_SLOT,
    channels=(ChannelColumn(Column("bsnAPIfPhyChannelNumber", (*_A, 2, 2, 2, 1, 4)), None),),
    tx_power=TxPowerColumns(
        level=Column("bsnAPIfPhyTxPowerLevel", (*_A, 2, 2, 2, 1, 6)), levels_dbm=AIRESPACE_LEVELS_DBM
    ),
    channel_pin=Pin(Column("bsnAPIfPhyChannelAssignment", (*_A, 2, 2, 2, 1, 3)), 2),  # 2 = customized
    power_pin=Pin(Column("bsnAPIfPhyTxPowerControl", (*_A, 2, 2, 2, 1, 5)), 2),  # 2 = customized
    telemetry={
        Telemetry.CHANNEL_UTILIZATION: Column("bsnAPIfLoadChannelUtilization", (*_A, 2, 2, 13, 1, 3)),
        Telemetry.CCA_BUSY: Column("bsnAPIfInterferenceUtilization", (*_A, 2, 2, 14, 1, 22), per_channel=True),
        Telemetry.NOISE_FLOOR_DBM: Column("bsnAPIfDBNoisePower", (*_A, 2, 2, 15, 1, 21), per_channel=True),
    },
    radar=Column("bsnAPIfRadarDetectedChannelNumber", (*_A, 2, 2, 24, 1, 1)),
    traps=TrapMap(
        mac=(*_A, 2, 2, 1, 1, 1),  # bsnAPDot3MacAddress
        slot=(*_A, 2, 2, 2, 1, 1),  # bsnAPIfSlotId
        channel=(*_A, 2, 2, 2, 1, 4),  # bsnAPIfPhyChannelNumber
        radar_detected=(*_A, 2, 6, 3, 81),  # bsnRadarChannelDetected
        radar_cleared=(*_A, 2, 6, 3, 82),  # bsnRadarChannelCleared
        channel_changed=(*_A, 2, 6, 3, 16),  # bsnAPCurrentChannelChanged
    ),
)

BUILT_IN: Mapping[str, OidProfile] = {p.name: p for p in (IEEE80211, AIRESPACE)}

PROFILE_KEYS = (
    *("name", "index", "channel_columns", "tx_power", "channel_pin", "power_pin", "width", "obss_pd"),
    *("assumed_width_mhz", "telemetry", "radar", "radar_poll_s", "traps"),
)
"""Top-level keys of a JSON profile, e.g. ``{"name": "acme", "index": "if_index", "channel_columns":
[{"oid": "1.3.6.1.4.1.9.1", "name": "chan", "band": "5g"}], "tx_power": {"level": {"oid": ...},
"levels_dbm": [20, 17]}, "telemetry": {"noise_floor_dbm": {"oid": ..., "per_channel": true}}}``;
a column is ``{"oid", "name"?, "per_channel"?}``, a pin ``{"column", "value"}``, ``traps`` holds
OIDs ``mac``, ``slot``, ``channel`` and optionally ``radar_detected``, ``radar_cleared``,
``channel_changed``."""

_TELEMETRY_KEYS = frozenset(t.value for t in Telemetry)


def resolve_profile(spec: str) -> OidProfile:
    """A built-in profile by name, or a JSON profile file by path."""
    if spec in BUILT_IN:
        return BUILT_IN[spec]
    if not spec.endswith(".json"):
        raise ProfileError(f"profile {spec!r} is unknown; use one of {', '.join(BUILT_IN)} or a path to a .json file")
    return load_profile_file(Path(spec))


def load_profile_file(path: Path) -> OidProfile:
    """Read a JSON profile; ProfileError naming the file and every bad key."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{path}: not JSON: {exc}") from None
    return parse_profile(data, str(path))


def parse_profile(data: object, source: str) -> OidProfile:
    problems = Problems(source)
    profile = _read_profile(data, problems)
    if problems.lines or profile is None:
        raise ProfileError("invalid SNMP profile:\n  " + "\n  ".join(problems.lines))
    return profile


def _read_profile(data: object, problems: Problems) -> OidProfile | None:
    obj = read_object(data, "", problems, ("name", "index", "channel_columns"), PROFILE_KEYS)
    if obj is None:
        return None
    name = read_string(obj, "name", "", problems)
    index = read_choice(obj, "index", "", problems, IndexKind)
    channels = _read_channel_columns(obj.get("channel_columns"), problems)
    telemetry: dict[Telemetry, Column] = {}
    raw_telemetry = read_object(obj.get("telemetry", {}), "telemetry", problems, (), [t.value for t in Telemetry])
    for key, value in (raw_telemetry or {}).items():
        column = _read_column(value, join("telemetry", key), problems)
        if column is not None and key in _TELEMETRY_KEYS:
            telemetry[Telemetry(key)] = column
    width = read_number(obj, "assumed_width_mhz", "", problems, 20, minimum=20, maximum=320)
    poll = read_number(obj, "radar_poll_s", "", problems, 10.0, above=0.0)
    profile = OidProfile(
        name=name or "",
        index=index or IndexKind.IF_INDEX,
        channels=channels,
        tx_power=_read_tx_power(obj.get("tx_power"), problems) if "tx_power" in obj else None,
        channel_pin=_read_pin(obj.get("channel_pin"), "channel_pin", problems) if "channel_pin" in obj else None,
        power_pin=_read_pin(obj.get("power_pin"), "power_pin", problems) if "power_pin" in obj else None,
        width=_read_column(obj["width"], "width", problems) if "width" in obj else None,
        obss_pd=_read_column(obj["obss_pd"], "obss_pd", problems) if "obss_pd" in obj else None,
        assumed_width_mhz=int(width or 20),
        telemetry=telemetry,
        radar=_read_column(obj["radar"], "radar", problems) if "radar" in obj else None,
        radar_poll_s=poll or 10.0,
        traps=_read_traps(obj["traps"], problems) if "traps" in obj else None,
    )
    if profile.traps is not None and index is not IndexKind.MAC_SLOT:
        problems.add("traps", "traps name radios by MAC and slot: they need index mac_slot")
    return profile if name and index else None


def _read_channel_columns(value: object, problems: Problems) -> tuple[ChannelColumn, ...]:
    if not isinstance(value, list) or not value:
        problems.add("channel_columns", "expected a non-empty list of columns")
        return ()
    out: list[ChannelColumn] = []
    for i, item in enumerate(value):
        path = join("channel_columns", i)
        obj = read_object(item, path, problems, ("oid",), ("name", "per_channel", "band"))
        if obj is None:
            continue
        band = read_choice(obj, "band", path, problems, Band)
        column = _read_column({k: v for k, v in obj.items() if k != "band"}, path, problems)
        if column is not None:
            out.append(ChannelColumn(column, band))
    return tuple(out)


def _read_column(value: object, path: str, problems: Problems) -> Column | None:
    obj = read_object(value, path, problems, ("oid",), ("name", "per_channel"))
    if obj is None:
        return None
    oid = _read_oid(obj, "oid", path, problems)
    name = read_string(obj, "name", path, problems, default="")
    per_channel = read_bool(obj, "per_channel", path, problems, default=False)
    if oid is None:
        return None
    return Column(name or format_oid(oid), oid, bool(per_channel))


def _read_oid(obj: Mapping[str, object], key: str, path: str, problems: Problems) -> Oid | None:
    text = read_string(obj, key, path, problems)
    if text is None:
        return None
    try:
        return parse_oid(text)
    except ValueError as exc:
        problems.add(join(path, key), str(exc))
        return None


def _read_tx_power(value: object, problems: Problems) -> TxPowerColumns | None:
    path = "tx_power"
    obj = read_object(value, path, problems, ("level",), ("levels_dbm", "level_mw", "level_count"))
    if obj is None:
        return None
    level = _read_column(obj["level"], join(path, "level"), problems) if "level" in obj else None
    levels_dbm: list[float] = []
    raw_dbm = obj.get("levels_dbm", [])
    for i, item in enumerate(raw_dbm if isinstance(raw_dbm, list) else [None]):
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            problems.add(join(join(path, "levels_dbm"), i), "expected a number of dBm")
        else:
            levels_dbm.append(float(item))
    raw_mw = obj.get("level_mw", [])
    if not isinstance(raw_mw, list):
        problems.add(join(path, "level_mw"), "expected a list of columns")
        raw_mw = []
    level_mw = [_read_column(c, join(join(path, "level_mw"), i), problems) for i, c in enumerate(raw_mw)]
    if bool(levels_dbm) == bool(raw_mw):
        problems.add(path, "give exactly one of levels_dbm (fixed dBm per level) and level_mw (columns in mW)")
    if len(levels_dbm) > MAX_POWER_LEVELS or len(level_mw) > MAX_POWER_LEVELS:
        problems.add(path, f"at most {MAX_POWER_LEVELS} power levels")
    count = _read_column(obj["level_count"], join(path, "level_count"), problems) if "level_count" in obj else None
    if level is None:
        return None
    return TxPowerColumns(level, tuple(c for c in level_mw if c is not None), tuple(levels_dbm), count)


def _read_pin(value: object, path: str, problems: Problems) -> Pin | None:
    obj = read_object(value, path, problems, ("column", "value"))
    if obj is None:
        return None
    column = _read_column(obj.get("column"), join(path, "column"), problems) if "column" in obj else None
    pinned = obj.get("value")
    if isinstance(pinned, bool) or not isinstance(pinned, int):
        problems.add(join(path, "value"), "expected an integer")
        return None
    return Pin(column, pinned) if column is not None else None


def _read_traps(value: object, problems: Problems) -> TrapMap | None:
    optional = ("radar_detected", "radar_cleared", "channel_changed")
    obj = read_object(value, "traps", problems, ("mac", "slot", "channel"), optional)
    if obj is None:
        return None
    oids = {key: _read_oid(obj, key, "traps", problems) for key in ("mac", "slot", "channel", *optional) if key in obj}
    mac, slot, channel = oids.get("mac"), oids.get("slot"), oids.get("channel")
    if mac is None or slot is None or channel is None:
        return None
    return TrapMap(
        mac, slot, channel, oids.get("radar_detected"), oids.get("radar_cleared"), oids.get("channel_changed")
    )
