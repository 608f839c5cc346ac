"""802.11 captures (pcap or pcapng, radiotap link type) made ready to replay on another channel (pure).

`load_capture` reads the file with scapy's raw reader and validates every record: a file that is not
a capture, a truncated record, a link type other than radiotap (127), a malformed radiotap header or
a record too short for an 802.11 header is a `CaptureError` naming the file, the record and the problem.
`replay_frames` rewrites what a neighbour on another channel would carry differently: the radiotap
header is replaced by a transmit one (the captured rate or HT MCS, the target channel, no-ACK so
replayed unicast frames are sent once as they were on air, never retried), the FCS is dropped (the
radio adds its own), and beacons and probe responses get the target channel in their DS Parameter
Set, HT Operation (primary channel; a 40 MHz secondary moved to the target's pair) and VHT Operation
(the 80 MHz block of the target, else 20/40 MHz) elements. Frame timing is kept: each frame's offset
from the first, divided by the speed factor. `guest_pcap_replay` injects the result in the guest.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

from scapy.error import Scapy_Exception
from scapy.utils import PcapWriter, RawPcapNgReader, RawPcapReader

LINKTYPE_RADIOTAP = 127
PCAP_HEADER_BYTES, PCAP_RECORD_HEADER_BYTES = 24, 16
# Radiotap fields in present-bit order up to MCS (bit 19): bit -> (alignment, size).
_FIELDS = {
    0: (8, 8), 1: (1, 1), 2: (1, 1), 3: (2, 4), 4: (2, 2), 5: (1, 1), 6: (1, 1), 7: (2, 2), 8: (2, 2),
    9: (2, 2), 10: (1, 1), 11: (1, 1), 12: (1, 1), 13: (1, 1), 14: (2, 2), 15: (2, 2), 16: (1, 1),
    17: (1, 1), 18: (4, 8), 19: (1, 3),
}  # fmt: skip
RT_FLAGS, RT_RATE, RT_CHANNEL, RT_TX_FLAGS, RT_MCS = 1, 2, 3, 15, 19
FLAG_FCS = 0x10
TX_FLAG_NOACK = 0x0008
CHAN_OFDM, CHAN_2GHZ, CHAN_5GHZ = 0x0040, 0x0080, 0x0100
MIN_OFDM_RATE = 12  # 6 Mb/s in radiotap's 500 kb/s units: the lowest rate a 5 GHz radio sends
ELEMENT_DS, ELEMENT_HT_OPERATION, ELEMENT_VHT_OPERATION = 3, 61, 192
_VHT80_CENTRES = {42: range(36, 49), 58: range(52, 65), 106: range(100, 113), 122: range(116, 129),
                  138: range(132, 145), 155: range(149, 162)}  # fmt: skip


class CaptureError(ValueError):
    """A capture that cannot be replayed; the message names the file, the record and the problem."""


@dataclass(frozen=True)
class CapturedFrame:
    """One record: its capture time, what its radiotap header says about the transmission, the 802.11 frame."""

    index: int  # 0-based record number in the file
    t: float  # capture timestamp, seconds
    freq_mhz: int | None  # radiotap channel
    rate_500kbps: int | None  # legacy rate in 500 kb/s units
    mcs: bytes | None  # radiotap MCS field (known, flags, index) for HT frames
    mpdu: bytes  # the 802.11 frame, FCS removed

    @property
    def frame_control(self) -> int:
        return int(struct.unpack_from("<H", self.mpdu, 0)[0])

    @property
    def transmitter(self) -> str | None:
        """addr2, absent for ACK and CTS."""
        ftype, subtype = (self.frame_control >> 2) & 3, (self.frame_control >> 4) & 0xF
        if (ftype == 1 and subtype in (12, 13)) or len(self.mpdu) < 16:
            return None
        return ":".join(f"{b:02x}" for b in self.mpdu[10:16])


@dataclass(frozen=True)
class ReplayFrame:
    offset_s: float  # when to send it, from the start of the replay
    data: bytes  # transmit radiotap header + 802.11 frame
    transmitter: str | None


def channel_frequency_mhz(channel: int) -> int:
    """The centre frequency of a 2.4 or 5 GHz channel number; ValueError for anything else."""
    if 1 <= channel <= 13:
        return 2407 + 5 * channel
    if channel == 14:
        return 2484
    if 32 <= channel <= 177:
        return 5000 + 5 * channel
    raise ValueError(f"channel {channel}: not a 2.4 GHz (1-14) or 5 GHz (32-177) channel")


def load_capture(path: Path) -> list[CapturedFrame]:
    """Every record of a radiotap pcap/pcapng; CaptureError naming the file and what is wrong with it."""
    try:
        size = path.stat().st_size
        reader = RawPcapReader(str(path))
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except Scapy_Exception as exc:
        raise CaptureError(f"{path}: not a pcap or pcapng capture ({exc})") from None
    try:
        frames, consumed = _read_records(path, reader)
    finally:
        reader.close()
    if consumed is not None and consumed < size:
        raise CaptureError(
            f"{path}: truncated: {size - consumed} bytes after record {len(frames) - 1} are not a record"
        )
    if not frames:
        raise CaptureError(f"{path}: the capture holds no frames")
    return frames


def _read_records(path: Path, reader: RawPcapReader) -> tuple[list[CapturedFrame], int | None]:
    """The frames, and for a classic pcap the bytes its headers account for (None for pcapng)."""
    ng = isinstance(reader, RawPcapNgReader)
    frames: list[CapturedFrame] = []
    consumed = PCAP_HEADER_BYTES
    for index, (data, meta) in enumerate(reader):
        where = f"{path}: record {index}"
        if ng:
            ng_meta = cast(RawPcapNgReader.PacketMetadata, meta)
            linktype, caplen = ng_meta.linktype, len(data)
            t = ((ng_meta.tshigh << 32) | ng_meta.tslow) / ng_meta.tsresol
        else:
            linktype, caplen = reader.linktype, meta.caplen
            consumed += PCAP_RECORD_HEADER_BYTES + caplen
            t = meta.sec + meta.usec / (1e9 if reader.nano else 1e6)
        if linktype != LINKTYPE_RADIOTAP:
            raise CaptureError(f"{where}: link type {linktype}, not radiotap ({LINKTYPE_RADIOTAP}) + 802.11")
        if len(data) < caplen:
            raise CaptureError(f"{where}: truncated: {len(data)} of {caplen} bytes")
        frames.append(parse_record(index, t, bytes(data), where))
    return frames, None if ng else consumed


def parse_record(index: int, t: float, data: bytes, where: str) -> CapturedFrame:
    """One radiotap + 802.11 record; CaptureError naming `where` when either part is malformed."""
    fields, rt_len = _radiotap_fields(data, where)
    mpdu = data[rt_len:]
    flags = fields.get(RT_FLAGS, b"\0")[0]
    if flags & FLAG_FCS:
        mpdu = mpdu[:-4]
    if len(mpdu) < 10:
        raise CaptureError(f"{where}: {len(mpdu)} bytes after the radiotap header, too short for an 802.11 frame")
    if mpdu[0] & 0x3:
        raise CaptureError(f"{where}: 802.11 protocol version {mpdu[0] & 3}, not 0: this is not an 802.11 frame")
    freq = struct.unpack_from("<H", fields[RT_CHANNEL])[0] if RT_CHANNEL in fields else None
    rate = fields[RT_RATE][0] if RT_RATE in fields and fields[RT_RATE][0] else None
    return CapturedFrame(index, t, freq, rate, fields.get(RT_MCS), mpdu)


def _radiotap_fields(data: bytes, where: str) -> tuple[dict[int, bytes], int]:
    """The first namespace's fields up to MCS, and the header length."""
    if len(data) < 8 or data[0] != 0:
        raise CaptureError(f"{where}: not a radiotap header (version {data[0] if data else None}, {len(data)} bytes)")
    rt_len = struct.unpack_from("<H", data, 2)[0]
    if not 8 <= rt_len <= len(data):
        raise CaptureError(f"{where}: radiotap length {rt_len} outside the record's {len(data)} bytes")
    words = [struct.unpack_from("<I", data, 4)[0]]
    while words[-1] & (1 << 31):
        if 8 + 4 * len(words) > rt_len:
            raise CaptureError(f"{where}: radiotap present bitmaps run past the header's {rt_len} bytes")
        words.append(struct.unpack_from("<I", data, 4 + 4 * len(words))[0])
    pos, values = 4 + 4 * len(words), {}
    for bit, (align, size) in _FIELDS.items():
        if not words[0] & (1 << bit):
            continue
        pos += -pos % align
        if pos + size > rt_len:
            raise CaptureError(f"{where}: radiotap field {bit} runs past the header's {rt_len} bytes")
        values[bit] = data[pos : pos + size]
        pos += size
    return values, rt_len


def tx_radiotap(frame: CapturedFrame, freq_mhz: int) -> bytes:
    """A transmit radiotap header: flags, the captured rate (or MCS), the target channel, no-ACK."""
    five_ghz = freq_mhz > 4000
    chan_flags = CHAN_OFDM | (CHAN_5GHZ if five_ghz else CHAN_2GHZ)
    present = 1 << RT_FLAGS | 1 << RT_CHANNEL | 1 << RT_TX_FLAGS
    if frame.mcs is not None:
        fields = struct.pack("<BxHHH", 0, freq_mhz, chan_flags, TX_FLAG_NOACK) + frame.mcs
        present |= 1 << RT_MCS
    else:
        rate = frame.rate_500kbps or MIN_OFDM_RATE
        rate = max(rate, MIN_OFDM_RATE) if five_ghz else rate
        fields = struct.pack("<BBHHH", 0, rate, freq_mhz, chan_flags, TX_FLAG_NOACK)
        present |= 1 << RT_RATE
    return struct.pack("<BBHI", 0, 0, 8 + len(fields), present) + fields


def retune_mpdu(mpdu: bytes, channel: int, where: str) -> bytes:
    """A beacon or probe response announcing `channel`; every other frame unchanged."""
    fc = struct.unpack_from("<H", mpdu, 0)[0]
    ftype, subtype = (fc >> 2) & 3, (fc >> 4) & 0xF
    if ftype != 0 or subtype not in (5, 8):
        return mpdu
    start = 24 + (4 if fc & 0x8000 else 0) + 12  # header (+ HT control), timestamp, interval, capabilities
    out, pos = bytearray(mpdu), start
    while pos + 2 <= len(out):
        element, length = out[pos], out[pos + 1]
        body = pos + 2
        if body + length > len(out):
            raise CaptureError(f"{where}: element {element} ({length} bytes) runs past the end of the frame")
        _retune_element(out, element, body, length, channel)
        pos = body + length
    return bytes(out)


def _retune_element(out: bytearray, element: int, body: int, length: int, channel: int) -> None:
    if element == ELEMENT_DS and length >= 1:
        out[body] = channel
    elif element == ELEMENT_HT_OPERATION and length >= 2:
        out[body] = channel
        if out[body + 1] & 0x3:  # a 40 MHz neighbour keeps its width, its secondary on the target's pair
            out[body + 1] = (out[body + 1] & ~0x3) | (1 if _secondary_above(channel) else 3)
    elif element == ELEMENT_VHT_OPERATION and length >= 3 and out[body] >= 1:
        centre = next((c for c, block in _VHT80_CENTRES.items() if channel in block), None)
        out[body : body + 3] = bytes((1, centre, 0)) if centre is not None else bytes((0, 0, 0))


def _secondary_above(channel: int) -> bool:
    if channel <= 14:
        return channel <= 7
    base = 149 if channel >= 149 else 36
    return (channel - base) // 4 % 2 == 0


def replay_frames(frames: list[CapturedFrame], channel: int, speed: float = 1.0) -> list[ReplayFrame]:
    """The capture as it would be sent on `channel`, each frame at its captured offset / `speed`."""
    if speed <= 0:
        raise ValueError(f"speed {speed}: must be above 0")
    freq = channel_frequency_mhz(channel)
    start = frames[0].t
    out = []
    for frame in frames:
        mpdu = retune_mpdu(frame.mpdu, channel, f"record {frame.index}")
        data = tx_radiotap(frame, freq) + mpdu
        out.append(ReplayFrame(max(0.0, frame.t - start) / speed, data, frame.transmitter))
    return out


def retuned_capture(frames: list[CapturedFrame], channel: int) -> list[CapturedFrame]:
    """The capture as if it had been recorded on `channel` (for writing it out, or checking the rewrite)."""
    freq = channel_frequency_mhz(channel)
    return [replace(f, freq_mhz=freq, mpdu=retune_mpdu(f.mpdu, channel, f"record {f.index}")) for f in frames]


def write_replay_pcap(path: Path, frames: list[ReplayFrame], start_t: float = 0.0) -> None:
    """The frames as a radiotap pcap (what the replay sends, at its offsets from `start_t`)."""
    tmp = path.with_name(path.name + ".part")
    writer = PcapWriter(str(tmp), linktype=LINKTYPE_RADIOTAP, sync=False)
    try:
        writer.write_header(None)
        for frame in frames:
            writer.write_packet(frame.data, sec=start_t + frame.offset_s)
    finally:
        writer.close()
    os.replace(tmp, path)
