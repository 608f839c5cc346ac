"""nl80211 messages, as pyroute2 0.9.7 decodes them, to typed values (pure; no sockets here).

Quirks of pyroute2's nl80211 tables handled here:

- ``NL80211_SURVEY_INFO_NOISE`` is declared uint8, so -95 dBm arrives as 161: :func:`noise_dbm`.
- ``NL80211_ATTR_RADAR_EVENT`` and ``NL80211_ATTR_DFS_REGION`` are declared ``hex`` and arrive as a
  hex dump (``'05:00:00:00'``); the radar event is a little-endian u32 enum
  (:class:`RadarEventKind`, include/uapi/linux/nl80211.h ``enum nl80211_radar_event``).
- Bit rates are in units of 100 kbit/s (``BITRATE32``, else the 16-bit ``BITRATE``); expected
  throughput is in kbit/s; tx power levels are in mBm (1/100 dBm).

And one rule of the kernel's, for what we send: mac80211 takes a fixed tx power in whole dBm only
(net/mac80211/cfg.c ``ieee80211_set_tx_power`` answers EOPNOTSUPP to a level that is negative or not
a multiple of 100 mBm; seen on the HIL rig): :func:`tx_power_mbm`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

NL80211_RRF_DFS = 1 << 4


class NlMessage(Protocol):
    """What the decoders read from a pyroute2 nlmsg / nla."""

    def get_attr(self, name: str, default: Any = None) -> Any: ...

    def get(self, key: str, default: Any = None) -> Any: ...


class RadarEventKind(IntEnum):
    DETECTED = 0
    CAC_FINISHED = 1
    CAC_ABORTED = 2
    NOP_FINISHED = 3
    PRE_CAC_EXPIRED = 4
    CAC_STARTED = 5


def noise_dbm(raw: int) -> int:
    """The signed dBm value of a survey noise byte that pyroute2 decoded as unsigned."""
    return raw - 256 if raw > 127 else raw


def tx_power_mbm(dbm: float) -> int:
    """The level to ask nl80211 for ``dbm``: whole dBm, rounded down (never more than asked), in mBm.

    ValueError for a negative or non-finite power, which mac80211 refuses.
    """
    if not math.isfinite(dbm) or dbm < 0:
        raise ValueError(f"{dbm:g} dBm: mac80211 takes a fixed tx power of 0 dBm or more, in whole dBm")
    return math.floor(dbm + 1e-9) * 100


def hex_attr_int(raw: object) -> int:
    """A little-endian integer from a pyroute2 ``hex`` attribute (``'05:00:00:00'``) or raw bytes."""
    if isinstance(raw, bytes | bytearray):
        data = bytes(raw)
    elif isinstance(raw, str):
        try:
            data = bytes.fromhex(raw.replace(":", ""))
        except ValueError:
            raise ValueError(f"{raw!r} is not a hex dump") from None
    else:
        raise ValueError(f"expected a hex dump, got {type(raw).__name__} {raw!r}")
    if not data:
        raise ValueError("empty hex attribute")
    return int.from_bytes(data, "little")


def radar_event_kind(raw: object) -> RadarEventKind:
    value = hex_attr_int(raw)
    try:
        return RadarEventKind(value)
    except ValueError:
        raise ValueError(f"radar event {value} is not one of 0-5 (nl80211_radar_event)") from None


@dataclass(frozen=True, slots=True)
class SurveyEntry:
    """One channel of a survey dump; times are cumulative milliseconds since the counters started."""

    freq_mhz: int
    in_use: bool
    noise_dbm: int | None
    active_ms: int | None
    busy_ms: int | None
    rx_ms: int | None
    tx_ms: int | None


def decode_survey(msg: NlMessage) -> SurveyEntry | None:
    info = msg.get_attr("NL80211_ATTR_SURVEY_INFO")
    if info is None:
        return None
    freq = info.get_attr("NL80211_SURVEY_INFO_FREQUENCY")
    if freq is None:
        return None
    noise = info.get_attr("NL80211_SURVEY_INFO_NOISE")
    return SurveyEntry(
        freq_mhz=int(freq),
        in_use=bool(info.get_attr("NL80211_SURVEY_INFO_IN_USE")),
        noise_dbm=None if noise is None else noise_dbm(int(noise)),
        active_ms=_opt_int(info.get_attr("NL80211_SURVEY_INFO_TIME")),
        busy_ms=_opt_int(info.get_attr("NL80211_SURVEY_INFO_TIME_BUSY")),
        rx_ms=_opt_int(info.get_attr("NL80211_SURVEY_INFO_TIME_RX")),
        tx_ms=_opt_int(info.get_attr("NL80211_SURVEY_INFO_TIME_TX")),
    )


@dataclass(frozen=True, slots=True)
class StationEntry:
    """One associated station of a station dump; counters are cumulative since association."""

    mac: str
    signal_dbm: int | None
    tx_packets: int
    tx_retries: int
    tx_failed: int
    tx_bitrate_mbps: float | None
    rx_bitrate_mbps: float | None
    expected_throughput_mbps: float | None


def _bitrate_mbps(rate: NlMessage | None) -> float | None:
    if rate is None:
        return None
    value = rate.get_attr("NL80211_RATE_INFO_BITRATE32") or rate.get_attr("NL80211_RATE_INFO_BITRATE")
    return None if value is None else int(value) / 10.0


def decode_station(msg: NlMessage) -> StationEntry | None:
    mac = msg.get_attr("NL80211_ATTR_MAC")
    info = msg.get_attr("NL80211_ATTR_STA_INFO")
    if mac is None or info is None:
        return None
    signal = info.get_attr("NL80211_STA_INFO_SIGNAL_AVG")
    if signal is None:
        signal = info.get_attr("NL80211_STA_INFO_SIGNAL")
    expected = info.get_attr("NL80211_STA_INFO_EXPECTED_THROUGHPUT")
    return StationEntry(
        mac=str(mac),
        signal_dbm=_opt_int(signal),
        tx_packets=int(info.get_attr("NL80211_STA_INFO_TX_PACKETS") or 0),
        tx_retries=int(info.get_attr("NL80211_STA_INFO_TX_RETRIES") or 0),
        tx_failed=int(info.get_attr("NL80211_STA_INFO_TX_FAILED") or 0),
        tx_bitrate_mbps=_bitrate_mbps(info.get_attr("NL80211_STA_INFO_TX_BITRATE")),
        rx_bitrate_mbps=_bitrate_mbps(info.get_attr("NL80211_STA_INFO_RX_BITRATE")),
        expected_throughput_mbps=None if expected is None else int(expected) / 1000.0,
    )


@dataclass(frozen=True, slots=True)
class InterfaceEntry:
    """An interface from GET_INTERFACE: where it is, and what it transmits."""

    ifindex: int
    ifname: str
    wiphy: int
    freq_mhz: int | None
    width_code: int | None  # enum nl80211_chan_width
    center_freq1_mhz: int | None
    tx_power_dbm: float | None


def decode_interface(msg: NlMessage) -> InterfaceEntry | None:
    ifindex = msg.get_attr("NL80211_ATTR_IFINDEX")
    wiphy = msg.get_attr("NL80211_ATTR_WIPHY")
    if ifindex is None or wiphy is None:
        return None
    level = msg.get_attr("NL80211_ATTR_WIPHY_TX_POWER_LEVEL")
    return InterfaceEntry(
        ifindex=int(ifindex),
        ifname=str(msg.get_attr("NL80211_ATTR_IFNAME") or ""),
        wiphy=int(wiphy),
        freq_mhz=_opt_int(msg.get_attr("NL80211_ATTR_WIPHY_FREQ")),
        width_code=_opt_int(msg.get_attr("NL80211_ATTR_CHANNEL_WIDTH")),
        center_freq1_mhz=_opt_int(msg.get_attr("NL80211_ATTR_CENTER_FREQ1")),
        tx_power_dbm=None if level is None else int(level) / 100.0,
    )


@dataclass(frozen=True, slots=True)
class RegulatoryRule:
    start_mhz: float
    end_mhz: float
    max_bandwidth_mhz: float
    max_eirp_dbm: float
    dfs: bool


@dataclass(frozen=True, slots=True)
class RegulatoryDomain:
    alpha2: str
    dfs_region: int | None  # 0 unset, 1 FCC, 2 ETSI, 3 JP (enum nl80211_dfs_regions)
    rules: tuple[RegulatoryRule, ...]

    def max_eirp_dbm(self, low_mhz: float, high_mhz: float) -> float | None:
        """The EIRP limit of the rule covering [low, high], or None when no single rule does."""
        for rule in self.rules:
            if rule.start_mhz <= low_mhz and high_mhz <= rule.end_mhz:
                return rule.max_eirp_dbm
        return None


def decode_regulatory(msg: NlMessage) -> RegulatoryDomain | None:
    alpha2 = msg.get_attr("NL80211_ATTR_REG_ALPHA2")
    if alpha2 is None:
        return None
    region = msg.get_attr("NL80211_ATTR_DFS_REGION")
    rules = []
    for rule in msg.get_attr("NL80211_ATTR_REG_RULES") or ():
        flags = int(rule.get_attr("NL80211_ATTR_REG_RULE_FLAGS") or 0)
        rules.append(
            RegulatoryRule(
                start_mhz=int(rule.get_attr("NL80211_ATTR_FREQ_RANGE_START") or 0) / 1000.0,
                end_mhz=int(rule.get_attr("NL80211_ATTR_FREQ_RANGE_END") or 0) / 1000.0,
                max_bandwidth_mhz=int(rule.get_attr("NL80211_ATTR_FREQ_RANGE_MAX_BW") or 0) / 1000.0,
                max_eirp_dbm=int(rule.get_attr("NL80211_ATTR_POWER_RULE_MAX_EIRP") or 0) / 100.0,
                dfs=bool(flags & NL80211_RRF_DFS),
            )
        )
    return RegulatoryDomain(str(alpha2), None if region is None else hex_attr_int(region), tuple(rules))


@dataclass(frozen=True, slots=True)
class RadarNotice:
    """An NL80211_CMD_RADAR_DETECT multicast (group "mlme"): what happened, where."""

    kind: RadarEventKind
    wiphy: int | None
    ifindex: int | None
    freq_mhz: int
    width_code: int
    center_freq1_mhz: int
    center_freq2_mhz: int


def decode_mlme(msg: NlMessage) -> RadarNotice | None:
    """The radar notice in an mlme multicast message, None for any other command.

    ValueError when a radar message lacks its event or frequency.
    """
    if msg.get("event") != "NL80211_CMD_RADAR_DETECT":
        return None
    raw_kind = msg.get_attr("NL80211_ATTR_RADAR_EVENT")
    freq = msg.get_attr("NL80211_ATTR_WIPHY_FREQ")
    if raw_kind is None or freq is None:
        raise ValueError("NL80211_CMD_RADAR_DETECT without NL80211_ATTR_RADAR_EVENT or NL80211_ATTR_WIPHY_FREQ")
    return RadarNotice(
        kind=radar_event_kind(raw_kind),
        wiphy=_opt_int(msg.get_attr("NL80211_ATTR_WIPHY")),
        ifindex=_opt_int(msg.get_attr("NL80211_ATTR_IFINDEX")),
        freq_mhz=int(freq),
        width_code=int(msg.get_attr("NL80211_ATTR_CHANNEL_WIDTH") or 0),
        center_freq1_mhz=int(msg.get_attr("NL80211_ATTR_CENTER_FREQ1") or 0),
        center_freq2_mhz=int(msg.get_attr("NL80211_ATTR_CENTER_FREQ2") or 0),
    )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
