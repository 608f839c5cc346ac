"""Read the monitor radio's pcap (radiotap + 802.11) and work out what went on air, and for how long.

Airtime per frame follows 802.11 OFDM timing: legacy (5 GHz, 20 MHz) is a 20 µs preamble+SIGNAL plus
4 µs symbols of 16 service + 8·bytes + 6 tail bits at N_DBPS = 4·rate(Mb/s); HT mixed format adds its
HT training fields (36 µs before the data) with N_DBPS from the MCS table. FCS bytes are counted
(4 are added when the capture has none). These are the figures the DFS tests report: frames and
airtime on the radar channel after the radar (closing transmissions) and after the AP left it (NOP).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

# Radiotap fields in present-bit order up to MCS (19): (bit, alignment, size).
_FIELDS = (
    (0, 8, 8), (1, 1, 1), (2, 1, 1), (3, 2, 4), (4, 2, 2), (5, 1, 1), (6, 1, 1), (7, 2, 2), (8, 2, 2),
    (9, 2, 2), (10, 1, 1), (11, 1, 1), (12, 1, 1), (13, 1, 1), (14, 2, 2), (15, 2, 2), (16, 1, 1),
    (17, 1, 1), (18, 4, 8), (19, 1, 3),
)  # fmt: skip
_HT20_DBPS = (26, 52, 78, 104, 156, 208, 234, 260)
_HT40_DBPS = (54, 108, 162, 216, 324, 432, 486, 540)
FLAG_FCS = 0x10


@dataclass(frozen=True)
class AirFrame:
    t: float  # guest time.time() when the monitor received it
    freq_mhz: int | None
    length: int  # 802.11 bytes, including FCS
    rate_mbps: float | None  # legacy rate, when radiotap has one
    mcs: tuple[int, bool, bool] | None  # (index, 40 MHz, short GI) for HT frames
    frame_control: int
    transmitter: str | None  # addr2, absent for ACK and CTS

    @property
    def kind(self) -> str:
        ftype, subtype = (self.frame_control >> 2) & 0x3, (self.frame_control >> 4) & 0xF
        return {(0, 8): "beacon", (0, 5): "probe-resp", (0, 13): "action"}.get(
            (ftype, subtype), ("mgmt", "ctrl", "data", "ext")[ftype]
        )

    def airtime_us(self) -> float:
        bits = 16 + 8 * self.length + 6
        if self.mcs is not None:
            index, wide, short_gi = self.mcs
            streams = index // 8 + 1
            dbps = (_HT40_DBPS if wide else _HT20_DBPS)[index % 8] * streams
            symbol = 3.6 if short_gi else 4.0
            return 20 + 16 + 4 * streams + symbol * math.ceil(bits / dbps)
        rate = self.rate_mbps or 6.0
        if rate < 6:  # DSSS/CCK (2.4 GHz only): long preamble
            return 192 + 8 * self.length / rate
        return 20 + 4 * math.ceil(bits / (4 * rate))


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def parse_frame(t: float, data: bytes) -> AirFrame | None:
    """One radiotap-encapsulated frame; None if it is too short to carry an 802.11 header."""
    if len(data) < 8:
        return None
    rt_len = struct.unpack_from("<H", data, 2)[0]
    present_words = [struct.unpack_from("<I", data, 4)[0]]
    while present_words[-1] & (1 << 31) and 4 + 4 * len(present_words) + 4 <= rt_len:
        present_words.append(struct.unpack_from("<I", data, 4 + 4 * len(present_words))[0])
    present, pos = present_words[0], 4 + 4 * len(present_words)
    values: dict[int, bytes] = {}
    for bit, align, size in _FIELDS:
        if not present & (1 << bit):
            continue
        pos += -pos % align
        values[bit] = data[pos : pos + size]
        pos += size
    body = data[rt_len:]
    if len(body) < 10:
        return None
    flags = values.get(1, b"\0")[0]
    freq = struct.unpack("<H", values[3][:2])[0] if 3 in values else None
    rate = values[2][0] / 2 if 2 in values and values[2][0] else None
    mcs = None
    if 19 in values:
        known, mflags, index = values[19]
        mcs = (index, bool(known & 0x1 and mflags & 0x3 == 1), bool(known & 0x4 and mflags & 0x4))
    fc = struct.unpack_from("<H", body, 0)[0]
    ftype, subtype = (fc >> 2) & 0x3, (fc >> 4) & 0xF
    has_ta = not (ftype == 1 and subtype in (12, 13)) and len(body) >= 16  # ACK, CTS carry only RA
    length = len(body) + (0 if flags & FLAG_FCS else 4)
    return AirFrame(t, freq, length, rate, mcs, fc, _mac(body[10:16]) if has_ta else None)


def read_pcap(path: Path) -> list[AirFrame]:
    """Every frame in a little-endian radiotap pcap written by the guest agent's capture."""
    data = path.read_bytes()
    if len(data) < 24 or struct.unpack_from("<I", data, 0)[0] != 0xA1B2C3D4:
        raise ValueError(f"{path}: not a little-endian microsecond pcap")
    if struct.unpack_from("<I", data, 20)[0] != 127:
        raise ValueError(f"{path}: link type is not radiotap (127)")
    frames, pos = [], 24
    while pos + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack_from("<IIII", data, pos)
        frame = parse_frame(sec + usec / 1e6, data[pos + 16 : pos + 16 + incl])
        if frame is not None:
            frames.append(frame)
        pos += 16 + incl
    return frames


@dataclass(frozen=True)
class AirSummary:
    frames: int
    airtime_ms: float
    by_kind: dict[str, int]


def summarise(frames: list[AirFrame], freq_mhz: int, start: float, end: float = math.inf) -> AirSummary:
    """Frames heard on `freq_mhz` with start <= t < end (guest time), their airtime and kinds."""
    chosen = [f for f in frames if start <= f.t < end and f.freq_mhz in (None, freq_mhz)]
    kinds: dict[str, int] = {}
    for f in chosen:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    return AirSummary(len(chosen), sum(f.airtime_us() for f in chosen) / 1000, kinds)
