"""A recorded neighbour BSS replayed on the AP's channel: heard on air, and heard by the AP's own radio.

The committed capture (tests/data/pcap/neighbour_ch44.pcap, recorded on channel 44 by
hil_tests/record_neighbour_capture.py) is rewritten for channel 36 and injected through a monitor
radio in real time by `guest_pcap_replay`; the AP under test runs on 36 (non-DFS: a beaconing AP may
scan its channel only where no radar detection holds it there). Figures: replay_frames_sent,
replay_frames_heard (the rig's monitor), replay_rate_fps, replay_late_ms_p95 (send time against the
captured timing), replay_airtime_ms and replay_airtime_fraction (on air, from the monitor capture),
neighbour_signal_dbm and neighbour_scans (AP-side scans until the neighbour was heard),
survey_busy_fraction_before/_after. Figures are reported, never asserted on for speed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from scapy.layers.dot11 import Dot11, Dot11EltDSSSet, Dot11EltHTOperation

from hil_tests.rig.air_capture import read_pcap, summarise
from hil_tests.rig.figures import Figures
from hil_tests.rig.guest_build import REPO_ROOT
from hil_tests.rig.hwsim_ap import HostapdAp, HwsimBench
from hil_tests.rig.iw_scan import ScannedBss, ap_scan
from hil_tests.rig.neighbour_replay import NeighbourReplay
from hil_tests.rig.pcap_replay import load_capture

pytestmark = pytest.mark.hil

CAPTURE = REPO_ROOT / "tests" / "data" / "pcap" / "neighbour_ch44.pcap"
CHANNEL, FREQ_MHZ = 36, 5180
NEIGHBOUR_BSSID = "02:4e:42:00:00:01"
CAPTURE_S = 13.0  # the committed capture's length
SCAN_TRIES = 3  # one passive dwell (~110 ms) may fall between two 102.4 ms beacons


def _ap_on_36(bench: HwsimBench) -> HostapdAp:
    ap = bench.start_dfs_ap(bench.radios[0], channel=CHANNEL, ssid="hil-ap")
    bench.wait_ap_enabled(ap)
    return ap


def _heard_beacon_channels(pcap: Path, bssid: str) -> set[tuple[int, int]]:
    """(DS channel, HT primary channel) of every beacon from `bssid` the monitor captured."""
    channels = set()
    for frame in load_capture(pcap):
        packet = Dot11(frame.mpdu)
        if frame.transmitter == bssid and packet.type == 0 and packet.subtype == 8:
            channels.add((packet[Dot11EltDSSSet].channel, packet[Dot11EltHTOperation].primary_channel))
    return channels


def test_replayed_neighbour_is_heard_on_air_on_the_ap_channel(bench: HwsimBench, figures: Figures) -> None:
    """Every replayed frame goes on air on 5180 MHz; the neighbour's beacons there announce channel 36."""
    _ap, injector, monitor = bench.radios
    capture = bench.start_monitor(monitor, FREQ_MHZ)
    _ap_on_36(bench)
    replay = NeighbourReplay.start(bench, injector, CAPTURE, CHANNEL)
    done = replay.wait_done(timeout=CAPTURE_S * 3 + 30.0)
    time.sleep(0.5)
    bench.stop_monitor(capture)
    heard = [f for f in read_pcap(capture.pcap) if f.transmitter in replay.transmitters]
    window = summarise(heard, FREQ_MHZ, start=done["first_t"], end=done["last_t"] + 0.5)
    figures.set("replay_frames_sent", done["sent"])
    figures.set("replay_frames_heard", window.frames)
    figures.set("replay_rate_fps", done["rate_fps"])
    figures.set("replay_late_ms_p95", done["late_ms_p95"])
    figures.set("replay_airtime_ms", window.airtime_ms)
    figures.set("replay_airtime_fraction", window.airtime_ms / 1000 / max(1e-3, done["last_t"] - done["first_t"]))
    assert done["refused"] == 0, f"the kernel refused {done['refused']} of the replayed frames: {done}"
    assert done["sent"] == replay.loaded["frames"], done
    assert window.frames == done["sent"], f"sent {done['sent']} frames, the monitor heard {window.frames}"
    assert {f.freq_mhz for f in heard} == {FREQ_MHZ}, {f.freq_mhz for f in heard}
    assert _heard_beacon_channels(capture.pcap, NEIGHBOUR_BSSID) == {(CHANNEL, CHANNEL)}


def _scan_until_heard(bench: HwsimBench, ap: HostapdAp) -> tuple[ScannedBss | None, int]:
    for attempt in range(1, SCAN_TRIES + 1):
        found = {b.bssid: b for b in ap_scan(bench.guest, ap.radio.iface, FREQ_MHZ)}
        if NEIGHBOUR_BSSID in found:
            return found[NEIGHBOUR_BSSID], attempt
    return None, SCAN_TRIES


def test_ap_radio_hears_the_replayed_neighbour_as_a_co_channel_bss(bench: HwsimBench, figures: Figures) -> None:
    """A passive scan by the beaconing AP finds the replayed BSS on its own channel, and the AP stays up."""
    _ap, injector, _monitor = bench.radios
    ap = _ap_on_36(bench)
    replay = NeighbourReplay.start(bench, injector, CAPTURE, CHANNEL, loops=2)
    replay.wait_started()
    time.sleep(1.0)  # a few neighbour beacons on air first
    neighbour, scans = _scan_until_heard(bench, ap)
    figures.set("neighbour_scans", scans)
    assert neighbour is not None, f"{NEIGHBOUR_BSSID} not heard by {ap.radio.iface} in {scans} passive scans"
    figures.set("neighbour_signal_dbm", neighbour.signal_dbm if neighbour.signal_dbm is not None else "none")
    assert (neighbour.freq_mhz, neighbour.ds_channel, neighbour.primary_channel) == (FREQ_MHZ, CHANNEL, CHANNEL)
    assert neighbour.ssid == "hil-neighbour", neighbour
    status = ap.status()
    assert (status.get("state"), status.get("channel")) == ("ENABLED", str(CHANNEL)), status
    replay.wait_done(timeout=CAPTURE_S * 2 * 3 + 30.0)


def _survey_fraction(bench: HwsimBench, iface: str) -> tuple[int, int] | None:
    """(active ms, busy ms) of the AP channel's survey entry, None when there is none."""
    out = bench.guest.run(f"iw dev {iface} survey dump").check("survey dump")
    for block in out.split("Survey data from")[1:]:
        values = dict(line.strip().split(":", 1) for line in block.splitlines() if ":" in line)
        if values.get("frequency", "").strip().startswith(str(FREQ_MHZ)):
            return int(values["channel active time"].split()[0]), int(values["channel busy time"].split()[0])
    return None


def test_ap_survey_counts_replayed_traffic_as_busy_time(bench: HwsimBench, figures: Figures) -> None:
    """The AP channel's survey busy time grows faster while the neighbour's traffic is on air."""
    ap_radio, injector, _monitor = bench.radios
    bench.prime_survey(ap_radio, FREQ_MHZ)  # hwsim keeps survey data only for channels it scanned
    _ap_on_36(bench)
    before = _survey_fraction(bench, ap_radio.iface)
    assert before is not None, "no survey entry for the AP's channel"
    replay = NeighbourReplay.start(bench, injector, CAPTURE, CHANNEL, speed=4.0)
    replay.wait_done(timeout=CAPTURE_S + 30.0)
    after = _survey_fraction(bench, ap_radio.iface)
    assert after is not None, "the AP's survey entry vanished during the replay"
    figures.set("survey_busy_fraction_before", before[1] / max(1, before[0]))
    figures.set("survey_busy_fraction_after", after[1] / max(1, after[0]))
    if bench.name == "hwsim" and after == before:
        pytest.skip(
            f"mac80211_hwsim's survey is synthetic (busy = active / 8, {before[1]}/{before[0]} ms, and frozen "
            f"outside its own scans: {after[1]}/{after[0]} ms after the replay); a radio with real CCA counters "
            "runs this check"
        )
    assert after[1] - before[1] > (after[0] - before[0]) / 8, f"survey busy did not rise: {before} -> {after}"
