"""The recorded neighbour capture loads, and rewritten for another channel says that channel everywhere it matters.

The rewritten frames are checked with scapy's own 802.11 dissector, not with the code that wrote them.
"""

from __future__ import annotations

import itertools
import struct
from collections import Counter
from pathlib import Path

import pytest
from scapy.layers.dot11 import Dot11, Dot11Beacon, Dot11EltDSSSet, Dot11EltHTOperation, RadioTap
from scapy.utils import PcapNgWriter, PcapWriter

from hil_tests.rig.pcap_replay import (
    CapturedFrame,
    CaptureError,
    load_capture,
    replay_frames,
    retune_mpdu,
    retuned_capture,
    write_replay_pcap,
)

pytestmark = pytest.mark.unit

CAPTURE = Path(__file__).resolve().parents[1] / "data" / "pcap" / "neighbour_ch44.pcap"
NEIGHBOUR_AP, NEIGHBOUR_STA = "02:4e:42:00:00:01", "02:4e:42:00:00:02"


def _kind(frame: CapturedFrame) -> tuple[int, int]:
    return (frame.frame_control >> 2) & 3, (frame.frame_control >> 4) & 0xF


def test_recorded_capture_is_a_neighbour_bss_with_traffic_on_channel_44() -> None:
    """Beacons of one BSS and data both ways, every frame heard on 5220 MHz at 6 Mb/s or faster."""
    frames = load_capture(CAPTURE)
    kinds = Counter(_kind(f) for f in frames)
    assert kinds[(0, 8)] >= 100, kinds  # about 10 beacons a second for 13 s
    assert kinds[(2, 0)] >= 40, kinds  # the station's broadcasts and the AP's relays of them
    assert {f.freq_mhz for f in frames} == {5220}
    assert {f.transmitter for f in frames} - {None} == {NEIGHBOUR_AP, NEIGHBOUR_STA}
    assert all(f.rate_500kbps is None or f.rate_500kbps >= 12 for f in frames)
    assert all(b.t >= a.t for a, b in itertools.pairwise(frames)), "records out of time order"


def test_replay_on_channel_36_announces_36_in_radiotap_ds_and_ht_operation() -> None:
    """Beacons carry channel 36 in DS Parameter Set and HT Operation; radiotap says 5180 MHz, no-ACK."""
    frames = load_capture(CAPTURE)
    replayed = replay_frames(frames, channel=36)
    beacons = 0
    for frame in replayed:
        packet = RadioTap(frame.data)
        assert packet.ChannelFrequency == 5180
        assert "NOACK" in str(packet.TXFlags)
        if packet.haslayer(Dot11Beacon):
            beacons += 1
            assert packet[Dot11EltDSSSet].channel == 36
            assert packet[Dot11EltHTOperation].primary_channel == 36
    assert beacons >= 100


def test_only_beacons_and_probe_responses_change_besides_the_radiotap_header() -> None:
    """Data, control and other management frames go out byte for byte as captured."""
    frames = load_capture(CAPTURE)
    for frame, sent in zip(frames, replay_frames(frames, channel=36), strict=True):
        rt_len = struct.unpack_from("<H", sent.data, 2)[0]
        if _kind(frame) not in ((0, 8), (0, 5)):
            assert sent.data[rt_len:] == frame.mpdu, f"record {frame.index} changed"
        else:
            assert len(sent.data) - rt_len == len(frame.mpdu)


def test_timing_keeps_captured_offsets_divided_by_speed() -> None:
    frames = load_capture(CAPTURE)
    normal, fast = replay_frames(frames, 36), replay_frames(frames, 36, speed=2.0)
    for frame, one, two in zip(frames, normal, fast, strict=True):
        assert one.offset_s == pytest.approx(frame.t - frames[0].t)
        assert two.offset_s == pytest.approx(one.offset_s / 2)
    with pytest.raises(ValueError, match="speed 0"):
        replay_frames(frames, 36, speed=0)


def test_rewritten_pcap_reads_back_as_recorded_on_the_target_channel(tmp_path: Path) -> None:
    frames = load_capture(CAPTURE)
    out = tmp_path / "replayed.pcap"
    write_replay_pcap(out, replay_frames(frames, channel=149), start_t=1000.0)
    again = load_capture(out)
    assert [f.mpdu for f in again] == [f.mpdu for f in retuned_capture(frames, 149)]
    assert {f.freq_mhz for f in again} == {5745}


def test_pcapng_captures_load_like_pcap(tmp_path: Path) -> None:
    """Operators bring Wireshark's pcapng as often as pcap."""
    frames = load_capture(CAPTURE)
    out = tmp_path / "neighbour.pcapng"
    writer = PcapNgWriter(str(out))
    writer.linktype = 127
    writer.write_header(None)
    for frame in replay_frames(frames[:20], channel=44):
        writer.write_packet(frame.data, sec=frames[0].t + frame.offset_s)
    writer.close()
    again = load_capture(out)
    assert [f.mpdu for f in again] == [f.mpdu for f in frames[:20]]
    assert again[5].t - again[0].t == pytest.approx(frames[5].t - frames[0].t, abs=1e-5)


def _beacon(ht_op: bytes, vht_op: bytes = b"") -> bytes:
    header = struct.pack("<HH6s6s6sH", 0x80, 0, b"\xff" * 6, b"\x02" * 6, b"\x02" * 6, 0)
    fixed = bytes(8) + struct.pack("<HH", 100, 1)
    elements = b"\x00\x02hi" + b"\x03\x01\x24" + b"\x3d\x16" + ht_op + vht_op
    return header + fixed + elements


def test_a_40_and_80_mhz_neighbour_keeps_its_width_on_the_target_channel() -> None:
    """HT40 secondary moves to the target's pair (40 is the upper half of 36+40); VHT80 gets 40's block."""
    ht_op = bytes((36, 0x05)) + bytes(20)  # secondary above, any width
    vht_op = b"\xc0\x05" + bytes((1, 42, 0)) + b"\x00\x00"
    mpdu = retune_mpdu(_beacon(ht_op, vht_op), 40, "test beacon")
    packet = Dot11(mpdu)
    assert packet[Dot11EltHTOperation].primary_channel == 40
    assert packet[Dot11EltHTOperation].secondary_channel_offset == 3  # below
    assert mpdu[-5:-2] == bytes((1, 42, 0))
    moved = retune_mpdu(_beacon(ht_op, vht_op), 165, "test beacon")  # 165 has no 80 MHz block
    assert moved[-5:-2] == bytes((0, 0, 0))


def _pcap(path: Path, records: list[bytes], linktype: int = 127) -> Path:
    writer = PcapWriter(str(path), linktype=linktype, sync=True)
    writer.write_header(None)
    for i, record in enumerate(records):
        writer.write_packet(record, sec=1000.0 + i)
    writer.close()
    return path


def _frame_bytes(index: int = 0) -> bytes:
    return replay_frames(load_capture(CAPTURE), 44)[index].data


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("notes.txt", lambda p: p.write_text("not a capture\n"), "not a pcap or pcapng capture"),
        ("empty.pcap", lambda p: _pcap(p, []), "holds no frames"),
        ("ethernet.pcap", lambda p: _pcap(p, [bytes(60)], linktype=1), "link type 1, not radiotap"),
        ("bad-radiotap.pcap", lambda p: _pcap(p, [b"\x00\x00\xff\x00" + bytes(40)]), "radiotap length 255"),
        ("not-80211.pcap", lambda p: _pcap(p, [_frame_bytes()[:16] + b"\x03" + bytes(30)]), "protocol version 3"),
        ("short.pcap", lambda p: _pcap(p, [_frame_bytes()[:20]]), "too short for an 802.11 frame"),
    ],
)
def test_bad_captures_are_refused_naming_the_file_and_problem(
    tmp_path: Path, name: str, make: object, message: str
) -> None:
    path = tmp_path / name
    assert callable(make)
    make(path)
    with pytest.raises(CaptureError, match=message) as caught:
        load_capture(path)
    assert str(path) in str(caught.value)


def test_truncated_capture_is_refused(tmp_path: Path) -> None:
    """A copy cut short inside its last record, and one cut inside a record header."""
    data = CAPTURE.read_bytes()
    for cut in (10, len(data) - 24 - 16 - 5):  # 5 bytes of the first record header remain
        path = tmp_path / f"cut{cut}.pcap"
        path.write_bytes(data[: len(data) - cut] if cut < 100 else data[: 24 + 5])
        with pytest.raises(CaptureError, match="truncated") as caught:
            load_capture(path)
        assert str(path) in str(caught.value)


def test_missing_capture_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot read it") as caught:
        load_capture(tmp_path / "nowhere.pcap")
    assert "nowhere.pcap" in str(caught.value)


def test_a_beacon_whose_element_overruns_the_frame_is_refused() -> None:
    broken = _beacon(bytes(22))[:-3]  # the HT Operation element says 22 bytes, 19 remain
    with pytest.raises(CaptureError, match=r"element 61 .* runs past the end"):
        retune_mpdu(broken, 36, "record 7")
