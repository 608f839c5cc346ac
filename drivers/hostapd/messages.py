"""hostapd control-interface text in, typed values out (pure; no sockets here).

Replies such as STATUS and GET_CONFIG are ``key=value`` lines. Events are datagrams
``<level>NAME args``, whose arguments are positional tokens (a station's MAC) followed by
``key=value`` pairs where a value may hold spaces (``ch_width=20 MHz (no HT)`` in
CTRL-EVENT-CHANNEL-SWITCH). A reply that does not parse raises :class:`MalformedReply`, a
DriverUnavailable naming the AP, the command and what was wrong: an AP that answers garbage is
not usable, and guessing a default would hide it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from drivers.protocol import DriverUnavailable

_EVENT = re.compile(r"^<(\d+)>(\S*)\s*(.*)$", re.DOTALL)
_KEY = re.compile(r"(?:^|(?<=\s))([A-Za-z_][A-Za-z0-9_\-\[\]]*)=")
_ERROR_REPLIES = ("FAIL", "UNKNOWN COMMAND")

# vht_oper_chwidth / he_oper_chwidth (enum oper_chan_width): 0 = 20 or 40 MHz (HT decides), 1 = 80,
# 2 = 160, 3 = 80+80 (reported as 160: it occupies two 80 MHz segments).
_OPER_CHWIDTH_MHZ = {1: 80, 2: 160, 3: 160}


class MalformedReply(DriverUnavailable):
    """hostapd answered something we cannot read; the message names the AP, the command and the problem."""


@dataclass(frozen=True, slots=True)
class HostapdEvent:
    """One unsolicited event: ``<3>DFS-RADAR-DETECTED freq=5260 ...``."""

    level: int
    name: str
    args: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    line: str = ""

    def int_field(self, key: str, who: str) -> int:
        """An integer argument; MalformedReply naming the event when it is missing or not a number."""
        value = self.fields.get(key)
        if value is None:
            raise MalformedReply(who, self.name, f"event has no {key}=: {self.line!r}")
        try:
            return int(value)
        except ValueError:
            raise MalformedReply(who, self.name, f"{key}={value!r} is not an integer in {self.line!r}") from None


@dataclass(frozen=True, slots=True)
class HostapdStatus:
    """The parts of STATUS the driver uses; ``fields`` keeps every line as sent."""

    state: str
    freq_mhz: int  # 0 when no radio answers (driver=none)
    channel: int
    width_mhz: int
    ht: bool
    vht: bool
    he: bool
    hw_mode: str | None
    cac_time_s: int
    cac_time_left_s: int | None
    bssids: tuple[str, ...]
    ssids: tuple[str, ...]
    stations: int
    fields: Mapping[str, str]

    @property
    def enabled(self) -> bool:
        """Beaconing: hostapd's ENABLED state (not DISABLED, COUNTRY_UPDATE, DFS/CAC, ACS, ...)."""
        return self.state == "ENABLED"


def split_arguments(text: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """Positional tokens before the first ``key=``, and the ``key=value`` pairs (values may hold spaces)."""
    matches = list(_KEY.finditer(text))
    head = text[: matches[0].start()] if matches else text
    fields: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        fields[match.group(1)] = text[match.end() : end].strip()
    return tuple(head.split()), fields


def parse_event_line(datagram: str) -> HostapdEvent | None:
    """The event in a datagram, or None when the datagram is a reply (it does not start ``<level>``)."""
    match = _EVENT.match(datagram.rstrip("\n"))
    if match is None:
        return None
    args, fields = split_arguments(match.group(3))
    return HostapdEvent(int(match.group(1)), match.group(2), args, fields, match.group(0))


def check_ok(reply: str, who: str, command: str) -> None:
    """Raise MalformedReply unless hostapd answered ``OK``."""
    if reply.strip() != "OK":
        raise MalformedReply(who, command, f"hostapd answered {reply.strip()!r}, expected OK")


def parse_key_values(reply: str, who: str, command: str) -> dict[str, str]:
    """``key=value`` lines as a dict; MalformedReply on FAIL, a line without ``=`` or a repeated key."""
    text = reply.strip()
    if not text or text in _ERROR_REPLIES:
        raise MalformedReply(who, command, f"hostapd answered {text!r} instead of key=value lines")
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise MalformedReply(who, command, f"line {number} {line!r} is not key=value")
        if key in out:
            raise MalformedReply(who, command, f"line {number} repeats key {key!r}")
        out[key] = value
    return out


def _int(fields: Mapping[str, str], key: str, who: str, command: str, default: int | None = None) -> int:
    value = fields.get(key)
    if value is None:
        if default is None:
            raise MalformedReply(who, command, f"reply has no {key}= line")
        return default
    try:
        return int(value, 0)
    except ValueError:
        raise MalformedReply(who, command, f"{key}={value!r} is not an integer") from None


def _width_mhz(fields: Mapping[str, str], ht: bool, vht: bool, he: bool, who: str) -> int:
    chwidth = 0
    if he and "he_oper_chwidth" in fields:
        chwidth = _int(fields, "he_oper_chwidth", who, "STATUS")
    elif vht and "vht_oper_chwidth" in fields:
        chwidth = _int(fields, "vht_oper_chwidth", who, "STATUS")
    if chwidth == 0:
        secondary = _int(fields, "secondary_channel", who, "STATUS", default=0)
        if secondary not in (-1, 0, 1):
            raise MalformedReply(who, "STATUS", f"secondary_channel={secondary} is not -1, 0 or 1")
        return 40 if ht and secondary != 0 else 20
    if chwidth not in _OPER_CHWIDTH_MHZ:
        raise MalformedReply(who, "STATUS", f"channel width code {chwidth} is not 0-3 (20/40, 80, 160, 80+80)")
    return _OPER_CHWIDTH_MHZ[chwidth]


def _indexed(fields: Mapping[str, str], name: str) -> tuple[str, ...]:
    values: list[str] = []
    while f"{name}[{len(values)}]" in fields:
        values.append(fields[f"{name}[{len(values)}]"])
    return tuple(values)


def parse_status(reply: str, who: str) -> HostapdStatus:
    """STATUS as sent by hostapd 2.10 (and later: extra keys are kept in ``fields``)."""
    fields = parse_key_values(reply, who, "STATUS")
    if not fields.get("state"):
        raise MalformedReply(who, "STATUS", "reply has no state= line")
    ht = _int(fields, "ieee80211n", who, "STATUS", default=0) == 1
    vht = _int(fields, "ieee80211ac", who, "STATUS", default=0) == 1
    he = _int(fields, "ieee80211ax", who, "STATUS", default=0) == 1
    left = fields.get("cac_time_left_seconds", "N/A")
    bss_count = len(_indexed(fields, "num_sta"))
    stations = sum(_int(fields, f"num_sta[{i}]", who, "STATUS") for i in range(bss_count))
    return HostapdStatus(
        state=fields["state"],
        freq_mhz=_int(fields, "freq", who, "STATUS"),
        channel=_int(fields, "channel", who, "STATUS"),
        width_mhz=_width_mhz(fields, ht, vht, he, who),
        ht=ht,
        vht=vht,
        he=he,
        hw_mode=fields.get("hw_mode"),
        cac_time_s=_int(fields, "cac_time_seconds", who, "STATUS", default=0),
        cac_time_left_s=None if left == "N/A" else _int(fields, "cac_time_left_seconds", who, "STATUS"),
        bssids=_indexed(fields, "bssid"),
        ssids=_indexed(fields, "ssid"),
        stations=stations,
        fields=fields,
    )


@dataclass(frozen=True, slots=True)
class HostapdBssConfig:
    """GET_CONFIG of the first BSS: its BSSID, SSID and security settings (``fields``)."""

    bssid: str
    ssid: str
    fields: Mapping[str, str]


def parse_get_config(reply: str, who: str) -> HostapdBssConfig:
    fields = parse_key_values(reply, who, "GET_CONFIG")
    missing = [k for k in ("bssid", "ssid") if k not in fields]
    if missing:
        raise MalformedReply(who, "GET_CONFIG", f"reply has no {'= or '.join(missing)}= line")
    return HostapdBssConfig(fields["bssid"], fields["ssid"], fields)
