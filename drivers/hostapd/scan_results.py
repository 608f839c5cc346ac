"""nl80211 scan dumps, from the kernel's own bytes, to the BSSs a radio heard (pure; no sockets here).

pyroute2 0.9.7 decodes NL80211_ATTR_BSS, but its element decoder reads the VHT Operation's second
centre segment from the wrong byte and cannot build SCAN_FREQUENCIES; so the driver hands over each
NL80211_CMD_NEW_SCAN_RESULTS message as the kernel sent it (netlink header, genetlink header,
attributes) and this module reads it from include/uapi/linux/nl80211.h's layout:

- NL80211_ATTR_BSS (47), nested: BSSID (1, 6 bytes), FREQUENCY (2, u32 MHz), INFORMATION_ELEMENTS
  (6, the latest frame's elements), SIGNAL_MBM (7, s32 1/100 dBm), STATUS (9, u32, only for a BSS
  we are associated with), SEEN_MS_AGO (10, u32), BEACON_IES (11).
- Elements (IEEE 802.11-2020 9.4.2): SSID (0), DS Parameter Set (3: the channel), HT Operation
  (61: primary channel; secondary channel offset and STA channel width in byte 1), VHT Operation
  (192: channel width 0 = 20/40, 1 = 80, 160 or 80+80 by the two centre segments, 2 and 3 the
  deprecated 160 and 80+80).

The channel is the HT primary channel, else the DS channel, else the frequency's; the width is
20 MHz unless HT or VHT say more (6 GHz HE/EHT Operation is not read: a 6 GHz BSS reads as 20 MHz).
:func:`scan_frequencies` builds the SCAN_FREQUENCIES attribute's payload for a trigger.
"""

from __future__ import annotations

import struct
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from drivers.hostapd.frequencies import channel_of_frequency
from drivers.protocol import NeighborObservation

NLMSG_HEADER = 16
GENL_HEADER = 4
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER
NL80211_CMD_NEW_SCAN_RESULTS = 34
NL80211_ATTR_BSS = 47
BSS_BSSID, BSS_FREQUENCY, BSS_IES, BSS_SIGNAL_MBM, BSS_STATUS, BSS_SEEN_MS_AGO, BSS_BEACON_IES = 1, 2, 6, 7, 9, 10, 11
EID_SSID, EID_DS, EID_HT_OPERATION, EID_VHT_OPERATION = 0, 3, 61, 192


class ScanDumpError(ValueError):
    """A scan dump message that does not follow the kernel's layout; the message says where."""


@dataclass(frozen=True, slots=True)
class ScannedBss:
    """One BSS of a scan dump, as heard."""

    bssid: str
    freq_mhz: int
    signal_dbm: float | None
    seen_ms_ago: int | None
    ssid: str
    channel: int | None  # the primary channel: HT Operation, else DS Parameter Set, else the frequency's
    width_mhz: int
    associated: bool  # NL80211_BSS_STATUS present: a BSS this interface is joined to


def attributes(data: bytes, where: str) -> Iterator[tuple[int, bytes]]:
    """(type, payload) of each netlink attribute in ``data``; ScanDumpError at a truncated one."""
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("<HH", data, offset)
        if length < 4 or offset + length > len(data):
            raise ScanDumpError(f"{where}: attribute at byte {offset} claims {length} bytes of {len(data) - offset}")
        yield kind & NLA_TYPE_MASK, data[offset + 4 : offset + length]
        offset += (length + 3) & ~3


def elements(data: bytes) -> dict[int, bytes]:
    """The first element of each ID in a frame body's element list; a truncated tail is ignored."""
    found: dict[int, bytes] = {}
    offset = 0
    while offset + 2 <= len(data):
        eid, length = data[offset], data[offset + 1]
        if offset + 2 + length > len(data):
            break
        found.setdefault(eid, data[offset + 2 : offset + 2 + length])
        offset += 2 + length
    return found


def decode_scan_message(raw: bytes) -> ScannedBss | None:
    """The BSS in one NL80211_CMD_NEW_SCAN_RESULTS message (netlink header first); None for other messages."""
    if len(raw) < NLMSG_HEADER + GENL_HEADER:
        raise ScanDumpError(f"scan dump message of {len(raw)} bytes is shorter than its headers")
    (length,) = struct.unpack_from("<I", raw, 0)
    if length > len(raw):
        raise ScanDumpError(f"scan dump message claims {length} bytes, has {len(raw)}")
    if raw[NLMSG_HEADER] != NL80211_CMD_NEW_SCAN_RESULTS:
        return None
    for kind, payload in attributes(raw[NLMSG_HEADER + GENL_HEADER : length], "scan dump message"):
        if kind == NL80211_ATTR_BSS:
            return decode_bss(payload)
    return None


def decode_bss(payload: bytes) -> ScannedBss | None:
    """One NL80211_ATTR_BSS payload; None when it lacks a BSSID or a frequency."""
    attrs = dict(attributes(payload, "NL80211_ATTR_BSS"))
    bssid, freq = attrs.get(BSS_BSSID), attrs.get(BSS_FREQUENCY)
    if bssid is None or len(bssid) != 6 or freq is None or len(freq) < 4:
        return None
    freq_mhz = _u32(freq)
    signal = attrs.get(BSS_SIGNAL_MBM)
    seen = attrs.get(BSS_SEEN_MS_AGO)
    ies = elements(attrs.get(BSS_IES) or attrs.get(BSS_BEACON_IES) or b"")
    return ScannedBss(
        bssid=":".join(f"{b:02x}" for b in bssid),
        freq_mhz=freq_mhz,
        signal_dbm=struct.unpack("<i", signal[:4])[0] / 100.0 if signal is not None and len(signal) >= 4 else None,
        seen_ms_ago=_u32(seen) if seen is not None and len(seen) >= 4 else None,
        ssid=ies.get(EID_SSID, b"").decode("utf-8", errors="replace"),
        channel=primary_channel(ies, freq_mhz),
        width_mhz=channel_width_mhz(ies),
        associated=BSS_STATUS in attrs,
    )


def primary_channel(ies: dict[int, bytes], freq_mhz: int) -> int | None:
    ht, ds = ies.get(EID_HT_OPERATION), ies.get(EID_DS)
    if ht:
        return ht[0]
    if ds:
        return ds[0]
    try:
        return channel_of_frequency(freq_mhz)
    except ValueError:
        return None


def channel_width_mhz(ies: dict[int, bytes]) -> int:
    """The BSS's operating width from its HT and VHT Operation elements (20 without either)."""
    ht, vht = ies.get(EID_HT_OPERATION), ies.get(EID_VHT_OPERATION)
    width = 20
    if ht is not None and len(ht) >= 2 and ht[1] & 0x04 and ht[1] & 0x03 in (1, 3):
        width = 40
    if vht is None or len(vht) < 3 or width < 40:
        return width
    kind, seg0, seg1 = vht[0], vht[1], vht[2]
    if kind == 1:
        return 160 if seg1 != 0 and abs(seg1 - seg0) >= 8 else 80  # 8 apart: 160; further: 80+80
    return 160 if kind in (2, 3) else width


def neighbours(
    results: Sequence[ScannedBss], own_bssids: Collection[str], max_age_ms: int | None = None
) -> tuple[NeighborObservation, ...]:
    """Other BSSs heard (not our own, none older than ``max_age_ms``), loudest first; neighbor_id is the raw BSSID.

    ``managed`` stays False: this driver knows its own BSSIDs, not which radio of ours another BSSID belongs to.
    """
    own = {b.lower() for b in own_bssids}
    heard = [
        r
        for r in results
        if r.bssid not in own
        and r.channel is not None
        and r.signal_dbm is not None
        and (max_age_ms is None or r.seen_ms_ago is None or r.seen_ms_ago <= max_age_ms)
    ]
    heard.sort(key=lambda r: (-(r.signal_dbm or 0.0), r.bssid))
    return tuple(NeighborObservation(r.bssid, False, r.channel or 0, r.width_mhz, r.signal_dbm or 0.0) for r in heard)


def scan_frequencies(freqs_mhz: Sequence[int]) -> bytes:
    """NL80211_ATTR_SCAN_FREQUENCIES' payload: one u32 attribute per frequency, numbered from 0."""
    if not freqs_mhz:
        raise ValueError("a scan needs at least one frequency")
    return b"".join(struct.pack("<HHI", 8, i, f) for i, f in enumerate(freqs_mhz))


def _u32(data: bytes) -> int:
    return int(struct.unpack_from("<I", data, 0)[0])
