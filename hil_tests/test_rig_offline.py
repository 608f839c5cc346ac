"""The rig's pure parts, without a guest: report building, airtime, SET_REG encoding, module order, targets."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hil_tests.rig.air_capture import AirFrame, parse_frame, summarise
from hil_tests.rig.figures import build_report
from hil_tests.rig.guest_build import GuestBuildError, module_load_order
from hil_tests.rig.short_cac_crda import NL80211_CMD_SET_REG, parse_uevent, set_reg_message
from hil_tests.rig.target import parse_target

pytestmark = pytest.mark.unit


def test_report_gathers_figures_over_tests() -> None:
    """Outcomes and figures merge per test; the issue's figures are gathered over all tests."""
    records: list[dict[str, object]] = [
        {"name": "a", "figures": {"channel_move_time_ms": [400.0], "frames_on_nop_channel": 0}},
        {"name": "a", "outcome": "passed"},
        {"name": "b", "figures": {"channel_move_time_ms": [420.0], "radar_to_agent_channel_ms": [830.0]}},
        {"name": "b", "outcome": "failed"},
        {"name": "c", "outcome": "skipped"},
    ]
    report = build_report(records)
    assert [(t["name"], t["outcome"]) for t in report["tests"]] == [  # type: ignore[attr-defined]
        ("a", "passed"),
        ("b", "failed"),
        ("c", "skipped"),
    ]
    assert report["figures"] == {
        "radar_to_agent_channel_ms": [830.0],
        "channel_move_time_ms": [400.0, 420.0],
        "closing_airtime_ms": [],
        "detection_to_csa_ms": [],
        "frames_on_nop_channel": 0,
    }


def _radiotap_frame(rate_500k: int, freq: int, body: bytes) -> bytes:
    present = (1 << 1) | (1 << 2) | (1 << 3)  # flags, rate, channel
    fields = struct.pack("<BBHH", 0, rate_500k, freq, 0x0140)
    header = struct.pack("<BBHI", 0, 0, 8 + len(fields), present) + fields
    return header + body


def test_beacon_airtime_follows_ofdm_timing() -> None:
    """A 195-byte beacon at 6 Mb/s (199 with FCS) takes 20 µs + ceil(1614 bits / 24) = 68 symbols of 4 µs."""
    body = struct.pack("<HH", 0x0080, 0) + b"\xff" * 6 + bytes.fromhex("020000000000") * 2 + b"\0" * 173
    frame = parse_frame(1.0, _radiotap_frame(12, 5260, body))
    assert frame is not None
    assert (frame.kind, frame.freq_mhz, frame.length, frame.transmitter) == ("beacon", 5260, 199, "02:00:00:00:00:00")
    assert frame.airtime_us() == 20 + 4 * 68


def test_summary_counts_only_the_window_and_channel() -> None:
    """Frames before the window start or on another channel are not counted."""
    frames = [AirFrame(t, f, 100, 6.0, None, 0x0080, "02:00:00:00:00:00") for t, f in ((1, 5260), (2, 5260), (3, 5180))]
    summary = summarise(frames, 5260, start=1.5)
    assert (summary.frames, summary.by_kind) == (1, {"beacon": 1})


def test_set_reg_message_carries_country_and_short_cac() -> None:
    """The CRDA stand-in's reply is an nl80211 SET_REG for the asked country with the CAC time inside."""
    message = set_reg_message(family=0x1C, alpha2="US", cac_ms=2000, seq=7)
    length, family, _flags, seq, _pid = struct.unpack_from("IHHII", message)
    assert (length, family, seq, message[16]) == (len(message), 0x1C, 7, NL80211_CMD_SET_REG)
    assert b"US\0" in message
    assert message.count(struct.pack("HHI", 8, 7, 2000)) == 2  # both DFS ranges carry DFS_CAC_TIME


def test_uevent_parsing() -> None:
    """The kernel's regulatory request uevent gives its COUNTRY."""
    env = parse_uevent(b"change@/devices/platform/regulatory.0\0ACTION=change\0COUNTRY=US\0")
    assert (env["ACTION"], env["COUNTRY"]) == ("change", "US")


def test_module_order_puts_dependencies_first(tmp_path: Path) -> None:
    """insmod order comes from modules.dep: dependencies first, built-ins skipped, unknown modules named."""
    (tmp_path / "modules.dep").write_text(
        "kernel/a/9p.ko: kernel/n/netfs.ko kernel/n/9pnet.ko kernel/v/virtio_ring.ko\n"
        "kernel/n/9pnet.ko: kernel/v/virtio_ring.ko\nkernel/n/netfs.ko:\nkernel/v/virtio_ring.ko:\n"
    )
    (tmp_path / "modules.builtin").write_text("kernel/n/netfs.ko\n")
    assert module_load_order(tmp_path, ("9p",)) == ["virtio_ring", "9pnet", "9p"]
    with pytest.raises(GuestBuildError, match="overlay"):
        module_load_order(tmp_path, ("overlay",))


def test_targets_parse() -> None:
    """`hwsim` and `lab:FILE` are the target forms; anything else is refused by name."""
    assert str(parse_target("hwsim")) == "hwsim"
    assert parse_target("lab:aps.yaml").lab_file == Path("aps.yaml")
    with pytest.raises(ValueError, match="expected 'hwsim' or 'lab:FILE'"):
        parse_target("kvm")
