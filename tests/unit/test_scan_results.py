"""nl80211 scan dumps to neighbours: real kernel bytes (recorded in the HIL guest) and ones built from the layout."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from drivers.hostapd.neighbour_scan import ScanSchedule
from drivers.hostapd.scan_results import (
    ScanDumpError,
    channel_width_mhz,
    decode_scan_message,
    elements,
    neighbours,
    scan_frequencies,
)
from drivers.hostapd.url import parse_hostapd_url
from drivers.protocol import NeighborObservation

pytestmark = pytest.mark.unit

RECORDED = Path(__file__).resolve().parents[1] / "data" / "nl80211" / "scan_dump_ch36.hex"


def nla(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("<HH", length, kind) + payload + b"\0" * (-length % 4)


def element(eid: int, body: bytes) -> bytes:
    return bytes([eid, len(body)]) + body


def scan_message(bss: bytes, cmd: int = 34) -> bytes:
    """One NL80211_CMD_NEW_SCAN_RESULTS message as the kernel lays it out (nlmsghdr, genlmsghdr, attributes)."""
    attrs = nla(46, struct.pack("<I", 7)) + nla(3, struct.pack("<I", 5)) + nla(47 | 0x8000, bss)
    body = struct.pack("<BBH", cmd, 1, 0) + attrs
    return struct.pack("<IHHII", 16 + len(body), 0x1C, 2, 1, 0) + body


def bss(bssid: str, freq: int, mbm: int, ies: bytes, seen_ms: int = 40, status: bool = False) -> bytes:
    out = nla(1, bytes.fromhex(bssid.replace(":", ""))) + nla(2, struct.pack("<I", freq))
    out += nla(6, ies) + nla(7, struct.pack("<i", mbm)) + nla(10, struct.pack("<I", seen_ms))
    return out + (nla(9, struct.pack("<I", 1)) if status else b"")


HT40_ABOVE_36 = element(61, bytes([36, 0x05]) + bytes(20))
VHT80_42 = element(192, bytes([1, 42, 0, 0, 0]))


def test_a_recorded_kernel_dump_decodes_to_the_replayed_neighbour() -> None:
    """The bytes mac80211 sent in the HIL guest: the replayed BSS on 36, its SSID, a dBm signal."""
    messages = [bytes.fromhex(line) for line in RECORDED.read_text().split()]
    found = {b.bssid: b for b in (decode_scan_message(m) for m in messages) if b is not None}
    neighbour = found["02:4e:42:00:00:01"]
    assert (neighbour.freq_mhz, neighbour.channel, neighbour.ssid) == (5180, 36, "hil-neighbour")
    assert neighbour.signal_dbm is not None
    assert -100 < neighbour.signal_dbm < 0


def test_a_built_message_gives_bssid_channel_width_and_signal() -> None:
    ies = element(0, b"corp") + element(3, bytes([36])) + HT40_ABOVE_36 + VHT80_42
    found = decode_scan_message(scan_message(bss("02:00:00:00:00:09", 5180, -6750, ies)))
    assert found is not None
    assert (found.bssid, found.freq_mhz, found.ssid) == ("02:00:00:00:00:09", 5180, "corp")
    assert (found.channel, found.width_mhz, found.signal_dbm, found.seen_ms_ago) == (36, 80, -67.5, 40)
    assert not found.associated


@pytest.mark.parametrize(
    ("ies", "width"),
    [
        (b"", 20),
        (element(61, bytes([36, 0x00]) + bytes(20)), 20),  # HT, 20 MHz only
        (element(61, bytes([36, 0x01]) + bytes(20)), 20),  # a secondary channel but STA width 20
        (HT40_ABOVE_36, 40),
        (element(61, bytes([40, 0x07]) + bytes(20)), 40),  # secondary below
        (HT40_ABOVE_36 + element(192, bytes([0, 0, 0, 0, 0])), 40),  # VHT says 20/40
        (HT40_ABOVE_36 + VHT80_42, 80),
        (HT40_ABOVE_36 + element(192, bytes([1, 42, 50, 0, 0])), 160),  # CCFS1 8 apart: 160 MHz
        (HT40_ABOVE_36 + element(192, bytes([2, 50, 0, 0, 0])), 160),  # the deprecated 160 code
        (element(61, bytes([36, 0x00]) + bytes(20)) + VHT80_42, 20),  # VHT without HT 40 is not believed
    ],
)
def test_width_follows_ht_and_vht_operation(ies: bytes, width: int) -> None:
    assert channel_width_mhz(elements(ies)) == width


def test_channel_falls_back_from_ht_to_ds_to_frequency() -> None:
    ds_only = decode_scan_message(scan_message(bss("02:00:00:00:00:01", 2437, -5000, element(3, bytes([6])))))
    bare = decode_scan_message(scan_message(bss("02:00:00:00:00:02", 5745, -5000, element(0, b"x"))))
    assert ds_only is not None
    assert bare is not None
    assert (ds_only.channel, bare.channel) == (6, 149)


def test_other_commands_are_not_results_and_truncation_is_an_error() -> None:
    message = scan_message(bss("02:00:00:00:00:01", 5180, -5000, b""))
    assert decode_scan_message(scan_message(b"", cmd=33)) is None
    with pytest.raises(ScanDumpError, match="claims"):
        decode_scan_message(message[:-6])
    with pytest.raises(ScanDumpError, match="shorter"):
        decode_scan_message(message[:10])


def test_a_truncated_element_list_keeps_what_is_whole() -> None:
    assert elements(element(0, b"ab") + bytes([3, 5, 1])) == {0: b"ab"}


def test_neighbours_leave_out_our_own_bss_old_entries_and_sort_loudest_first() -> None:
    messages = [
        scan_message(bss("02:00:00:00:00:0a", 5180, -7000, HT40_ABOVE_36)),
        scan_message(bss("02:00:00:00:00:0b", 5180, -5500, element(3, bytes([36])))),
        scan_message(bss("02:00:00:00:00:aa", 5180, -3000, element(3, bytes([36])))),  # ours
        scan_message(bss("02:00:00:00:00:0c", 5180, -4000, element(3, bytes([36])), seen_ms=9000)),  # old
    ]
    results = [r for r in map(decode_scan_message, messages) if r is not None]
    heard = neighbours(results, own_bssids={"02:00:00:00:00:AA"}, max_age_ms=600)
    assert heard == (
        NeighborObservation("02:00:00:00:00:0b", False, 36, 20, -55.0),
        NeighborObservation("02:00:00:00:00:0a", False, 36, 40, -70.0),
    )


def test_scan_frequencies_is_a_nested_list_of_u32() -> None:
    assert scan_frequencies([5180, 5200]) == nla(0, struct.pack("<I", 5180)) + nla(1, struct.pack("<I", 5200))
    with pytest.raises(ValueError, match="at least one"):
        scan_frequencies([])


def test_schedule_scans_at_most_once_per_interval_and_refusals_count() -> None:
    schedule = ScanSchedule(interval_s=300.0)
    assert schedule.due(1000.0)
    assert schedule.failed(1000.0, "busy")  # reported: the first refusal
    assert not schedule.due(1299.0)
    assert schedule.due(1300.0)
    assert not schedule.failed(1300.0, "busy")  # the same refusal again: not reported again
    assert schedule.failed(1300.5, "error")


def test_schedule_serves_the_last_result_until_it_is_stale() -> None:
    heard = (NeighborObservation("02:00:00:00:00:0b", False, 36, 20, -55.0),)
    schedule = ScanSchedule(interval_s=60.0)
    assert schedule.current(0.0) == ()
    schedule.succeeded(10.0, heard)
    assert schedule.current(130.0) == heard
    assert schedule.failed(130.0, "busy")  # moved to a DFS channel: reported (a success came in between)
    assert not schedule.failed(190.0, "busy")
    assert schedule.current(131.0) == ()  # two intervals after the last good scan


def test_schedule_refuses_a_zero_interval() -> None:
    with pytest.raises(ValueError, match="more than 0"):
        ScanSchedule(interval_s=0.0)


def test_the_url_sets_the_scan_interval_or_turns_scans_off() -> None:
    base = "hostapd:///var/run/hostapd/wlan0?ap=ap-1"
    assert parse_hostapd_url(base).scan_interval_s == 300.0
    assert parse_hostapd_url(base + "&scan_interval=30").scan_interval_s == 30.0
    assert parse_hostapd_url(base + "&scan_interval=0").scan_interval_s == 0.0
    for bad in ("5", "-1", "soon"):
        with pytest.raises(ValueError, match="scan_interval"):
            parse_hostapd_url(base + f"&scan_interval={bad}")
