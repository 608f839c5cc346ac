"""The hostapd driver's NEIGHBOURS reading on a real kernel: the AP's own passive scan hears the replayed neighbour.

The committed neighbour capture (tests/data/pcap/neighbour_ch44.pcap) is replayed on channel 36 through a
monitor radio (neighbour_replay.py), the AP under test beacons on 36 (non-DFS: the kernel refuses an AP
scan while radar detection holds a DFS channel), and the driver's rate-limited scan (nl80211_scan.py)
must report the neighbour in `state()`; the agent in the guest must carry it, hashed, to the controller.
Figures: scan_duration_ms (trigger to results, guest clock), beacon_gap_during_scan_ms (the longest gap
between the AP's beacons on air while the probe scanned; ~102 ms when there is no scan),
neighbours_found, neighbour_rssi_dbm. The raw dump of the probe's second scan is kept in the guest
work folder (`scan_dump.hex`; the unit tests' tests/data/nl80211/scan_dump_ch36.hex came from one).
"""

from __future__ import annotations

import itertools
import sqlite3
import time

import pytest

from hil_tests.rig.air_capture import read_pcap
from hil_tests.rig.figures import Figures
from hil_tests.rig.guest import GuestError
from hil_tests.rig.guest_build import REPO_ROOT
from hil_tests.rig.guest_python import JsonReport, product_module
from hil_tests.rig.hwsim_ap import HOSTAPD_DIR, HostapdAp, HwsimBench
from hil_tests.rig.neighbour_replay import NeighbourReplay
from hil_tests.rig.rrm_stack import GuestAgent, HostController
from rrm.v1 import agent_link_pb2 as pb

pytestmark = pytest.mark.hil

CAPTURE = REPO_ROOT / "tests" / "data" / "pcap" / "neighbour_ch44.pcap"
CHANNEL, FREQ_MHZ = 36, 5180
NEIGHBOUR_BSSID = "02:4e:42:00:00:01"
CAPTURE_S = 13.0
AP_ID, AGENT_ID = "hil-scan", "hil-scan-agent"
RADIO_ID = f"{AP_ID}/5g"


def _ap_on_36(bench: HwsimBench) -> HostapdAp:
    ap = bench.start_dfs_ap(bench.radios[0], channel=CHANNEL, ssid="hil-ap")
    bench.wait_ap_enabled(ap)
    return ap


def _longest_beacon_gap_ms(
    pcap_frames: list[tuple[float, str | None, int]], bssid: str, start: float, end: float
) -> float:
    """The longest gap between two of `bssid`'s beacons around [start, end] (guest clock)."""
    times = [t for t, tx, fc in pcap_frames if tx == bssid and fc & 0xFC == 0x80 and start - 0.5 <= t <= end + 0.5]
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0) * 1000


def test_driver_hears_the_replayed_neighbour_in_its_own_ap_scan(bench: HwsimBench, figures: Figures) -> None:
    """NEIGHBOURS is advertised on channel 36 and state() reports the replayed BSS (in one of two scans), not itself."""
    _ap_radio, injector, monitor = bench.radios
    capture = bench.start_monitor(monitor, FREQ_MHZ)
    ap = _ap_on_36(bench)
    own = ap.status()["bssid[0]"]
    replay = NeighbourReplay.start(bench, injector, CAPTURE, CHANNEL, loops=8)
    replay.wait_started()
    time.sleep(1.0)  # a few neighbour beacons on air first
    out = bench.guest.workdir / "scan_dump.hex"
    argv = product_module("hil_tests.rig.guest_neighbour_probe", ap.radio.iface, HOSTAPD_DIR, str(FREQ_MHZ), str(out))
    probe = JsonReport(bench.guest, bench.start_process("neighbour-probe", argv)[0], "guest_neighbour_probe")
    opened = probe.wait("opened", timeout=120.0)
    state = probe.wait("state", timeout=30.0)
    scan = probe.wait("scan", timeout=30.0)
    probe.wait("done", timeout=30.0)
    assert bench.wait_exit("neighbour-probe", timeout=20.0) == 0, bench.daemon_log("neighbour-probe")
    time.sleep(0.5)
    bench.stop_monitor(capture)
    frames = [(f.t, f.transmitter, f.frame_control) for f in read_pcap(capture.pcap)]
    figures.set("scan_duration_ms", round(scan["duration_ms"], 1))
    figures.set("beacon_gap_during_scan_ms", round(_longest_beacon_gap_ms(frames, own, scan["start"], scan["end"]), 1))
    figures.set(
        "beacon_gap_during_open_ms",
        round(_longest_beacon_gap_ms(frames, own, opened["open_start"], opened["open_end"]), 1),
    )
    figures.set("neighbours_found", len(state["neighbours"]))
    figures.set(
        "scans_hearing_the_neighbour", sum(any(n["neighbor_id"] == NEIGHBOUR_BSSID for n in s) for s in state["scans"])
    )
    assert "neighbours" in opened["reads"], f"NEIGHBOURS not advertised on channel {CHANNEL}: {opened['reads']}"
    heard = {n["neighbor_id"]: n for n in state["neighbours"]}
    assert own not in heard, f"the AP reported its own BSS {own} as a neighbour: {heard}"
    assert NEIGHBOUR_BSSID in heard, f"{NEIGHBOUR_BSSID} not in state().neighbors: {state['neighbours']}; scan {scan}"
    neighbour = heard[NEIGHBOUR_BSSID]
    figures.set("neighbour_rssi_dbm", neighbour["rssi_dbm"])
    assert (neighbour["channel"], neighbour["managed"]) == (CHANNEL, False), neighbour
    assert neighbour["rssi_dbm"] < 0, neighbour
    decoded = {b["bssid"]: b for b in scan["bss"]}
    assert decoded.get(NEIGHBOUR_BSSID, {}).get("ssid") == "hil-neighbour", scan["bss"]
    status = ap.status()
    assert (status.get("state"), status.get("channel")) == ("ENABLED", str(CHANNEL)), status
    replay.wait_done(timeout=CAPTURE_S * 8 * 3 + 30.0)


def _stored_neighbours(controller: HostController, radio_id: str) -> tuple[list[pb.NeighborObservation], bytes]:
    """Every neighbour in the radio's stored telemetry, and the stored batches' bytes (to look for raw BSSIDs)."""
    path = controller.state_dir / "ingest.db"
    if not path.exists():
        return [], b""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0) as conn:
        blobs = [blob for (blob,) in conn.execute("SELECT message FROM telemetry_batches ORDER BY last_ts_ms")]
    found: list[pb.NeighborObservation] = []
    for blob in blobs:
        for sample in pb.AgentMessage.FromString(blob).telemetry.samples:
            if sample.radio_id == radio_id:
                found.extend(sample.neighbors)
    return found, b"".join(blobs)


def test_agent_reports_the_neighbour_to_the_controller_hashed(
    bench: HwsimBench, controller: HostController, figures: Figures
) -> None:
    """The agent's telemetry carries the replayed BSS as an unmanaged neighbour on 36, its BSSID hashed."""
    _ap_radio, injector, _monitor = bench.radios
    ap = _ap_on_36(bench)
    replay = NeighbourReplay.start(bench, injector, CAPTURE, CHANNEL, loops=12)
    replay.wait_started()
    time.sleep(1.0)
    agent = GuestAgent(bench, AGENT_ID, f"hostapd://{HOSTAPD_DIR}/{ap.radio.iface}?ap={AP_ID}&scan_interval=30")
    try:
        agent.wait_line("neighbour scan of", timeout=120.0)
        deadline = time.monotonic() + 60.0
        heard: list[pb.NeighborObservation] = []
        while not heard and time.monotonic() < deadline:
            heard, _ = _stored_neighbours(controller, RADIO_ID)
            time.sleep(0.5)
        stored, wire = _stored_neighbours(controller, RADIO_ID)
        if not stored:
            raise GuestError(f"no neighbours in the controller's telemetry for {RADIO_ID} within 60 s; agent: "
                             f"{agent.lines()[-8:]}; controller: {controller.tail(3)}")  # fmt: skip
        figures.set("stored_neighbours", len(stored))
        assert {(n.channel, n.managed) for n in stored} == {(CHANNEL, False)}, stored
        assert NEIGHBOUR_BSSID.encode() not in wire, "a raw BSSID left the agent"
        assert bytes.fromhex(NEIGHBOUR_BSSID.replace(":", "")) not in wire, "a raw BSSID left the agent"
        assert all(n.neighbor_id != NEIGHBOUR_BSSID for n in stored), stored
        assert all(n.rssi_dbm < 0 for n in stored), stored
    finally:
        agent.stop()
        bench.stop_process(replay.name)  # the replay outlasts a slow agent start; it need not run to its end
