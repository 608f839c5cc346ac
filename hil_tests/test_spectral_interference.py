"""Non-Wi-Fi interference from a replayed spectral capture: the agent in the guest moves the AP off channel 1.

hwsim has no spectral scan, so the rig stands in for the chip: `spectral_replay` writes the real AR9550
analog video camera capture (its channel-1 dwell, at its own timing) into a FIFO in the guest, and the
agent's hostapd driver reads that FIFO as it would the radio's debugfs `spectral_scan0` relay file
(`?spectral=` in the AP URL). From the driver's decoding on, everything is the product: the classifier's
NON_WIFI_BURST, the agent's decision, hostapd's CSA on air, the report to the controller on the host.
The negative replays a synthetic Wi-Fi-only capture (no public capture holds Wi-Fi alone) and nothing moves.
Figures (guest clock): spectral_replay_to_event_ms (first record written to the driver's NON_WIFI_BURST
line), spectral_event_to_new_channel_ms (that line to AP-CSA-FINISHED on the new channel),
spectral_event_to_controller_ms (host clock: the burst line reaching the host to the report stored).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from hil_tests.rig.air_capture import read_pcap
from hil_tests.rig.figures import Figures
from hil_tests.rig.guest import Event
from hil_tests.rig.guest_build import REPO_ROOT
from hil_tests.rig.guest_python import JsonReport, product_module
from hil_tests.rig.hwsim_ap import HostapdAp, HwsimBench, Radio, channel_to_mhz
from hil_tests.rig.rrm_stack import GuestAgent, HostController
from hil_tests.rig.spectral_wifi_capture import wifi_only_capture
from rrm.v1 import agent_link_pb2 as pb

pytestmark = pytest.mark.hil

AP_ID, AGENT_ID = "hil-ap", "hil-agent"
RADIO_ID = f"{AP_ID}/2g"
CHANNEL, FREQ_MHZ = 1, 2412
FIFO = "/tmp/rrm-spectral_scan0"  # in the guest's tmpfs overlay; the radio's relay file on a real AP
AP_URL = f"hostapd:///var/run/hostapd/wlan0?ap={AP_ID}&spectral={FIFO}"
CAMERA = REPO_ROOT / "tests" / "data" / "spectral" / "ar9550_20mhz_analog_camera_ch1.dump"
BEACONS_S = 1.5  # how long the monitor listens on the new channel
QUIET_S = 8.0  # after the negative replay: four telemetry intervals, many classifier passes
_BURST = re.compile(r"NON_WIFI_BURST$")
_SOURCE = re.compile(r" at ([\d.]+) MHz \(confidence [\d.]+, duty [\d.]+, bandwidth ([\d.]+) MHz\)")


@dataclass(frozen=True)
class Replay:
    started_t: float  # guest clock, just before the first record was written
    records: int
    report: JsonReport  # the replayer's phases still to come


def _is_burst(text: str) -> bool:
    """the driver's NON_WIFI_BURST line"""
    return bool(_BURST.search(text))


def _ap_on_channel_1(bench: HwsimBench, radio: Radio) -> HostapdAp:
    settings = {"hw_mode": "g", "ieee80211h": "0"}
    ap = bench.start_dfs_ap(radio, channel=CHANNEL, ssid="hil-spectral", settings=settings)
    bench.wait_ap_enabled(ap)
    return ap


def _agent_reading_fifo(bench: HwsimBench) -> GuestAgent:
    bench.guest.run(f"rm -f {FIFO} && mkfifo {FIFO}").check("making the spectral FIFO")
    agent = GuestAgent(bench, AGENT_ID, AP_URL)
    agent.wait_line("connected to controller", timeout=90.0)
    agent.wait_line(f"reading spectral samples from {FIFO}", timeout=10.0)
    return agent


def _replay(bench: HwsimBench, capture: Path, freq_mhz: int | None) -> Replay:
    """Start the replayer in the guest; returns once it wrote the first record."""
    report = JsonReport(bench.guest, "spectral-replay-out", "spectral replay")
    args = ["--to", FIFO, *(["--freq", str(freq_mhz)] if freq_mhz else []), str(capture)]
    bench.start_process("spectral-replay", product_module("hil_tests.rig.spectral_replay", *args))
    ready = report.wait("ready", timeout=60.0)
    started = report.wait("started", timeout=10.0)
    return Replay(float(started["t"]), int(ready["records"]), report)


def _replay_done(bench: HwsimBench, replay: Replay) -> None:
    replay.report.wait("done", timeout=30.0)
    assert bench.wait_exit("spectral-replay", timeout=10.0) == 0, bench.daemon_log("spectral-replay")


def _beacons_from(bench: HwsimBench, monitor: Radio, ap: Radio, freq_mhz: int, name: str) -> int:
    capture = bench.start_monitor(monitor, freq_mhz, name=name)
    time.sleep(BEACONS_S)
    bench.stop_monitor(capture)
    frames = read_pcap(capture.pcap)
    return sum(1 for f in frames if f.kind == "beacon" and f.transmitter == ap.mac and f.freq_mhz in (None, freq_mhz))


def _clean_of(burst: Event, channel: int) -> bool:
    """Whether the 20 MHz channel's span misses the source the burst line names (centre ± half its bandwidth)."""
    found = _SOURCE.search(burst.text)
    assert found, f"no source figures in {burst.text!r}"
    centre, width = float(found.group(1)), float(found.group(2))
    low, high = channel_to_mhz(channel) - 10, channel_to_mhz(channel) + 10
    return centre + width / 2 <= low or centre - width / 2 >= high


def test_camera_on_channel_1_moves_ap_to_clean_channel(
    bench: HwsimBench, controller: HostController, figures: Figures
) -> None:
    """The camera capture replayed: NON_WIFI_BURST, the AP beacons on a clean channel, the report reaches the host."""
    ap_radio, _sta_radio, mon_radio = bench.radios
    ap = _ap_on_channel_1(bench, ap_radio)
    agent = _agent_reading_fifo(bench)
    before, csa_mark = agent.mark(), ap.mark()

    replay = _replay(bench, CAMERA, FREQ_MHZ)
    burst = agent.wait_line(_is_burst, timeout=20.0, after=before)
    assert "video_camera on channel 1 " in burst.text, burst.text
    figures.add("spectral_replay_to_event_ms", (burst.guest_t - replay.started_t) * 1000)
    done = ap.wait_event("AP-CSA-FINISHED", timeout=20.0, after=csa_mark)
    found = re.search(r"freq=(\d+)", done.text)
    assert found, f"no freq in {done.text!r}"
    new_freq = int(found.group(1))
    figures.add("spectral_event_to_new_channel_ms", (done.guest_t - burst.guest_t) * 1000)
    agent.wait_line(f"event_channel_change on {RADIO_ID}: APPLIED", timeout=15.0, after=before)

    status = ap.status()
    channel = int(status["channel"])
    assert channel != CHANNEL, f"STATUS after the move: {status}"
    assert channel_to_mhz(channel) == new_freq, f"STATUS after the move: {status}"
    assert _clean_of(burst, channel), f"channel {channel} still overlaps the source in {burst.text!r}"
    beacons = _beacons_from(bench, mon_radio, ap_radio, new_freq, "monitor-new")
    assert beacons > 0, f"the monitor heard no beacon from {ap_radio.mac} on {new_freq} MHz"
    figures.set("spectral_beacons_on_new_channel", beacons)

    def moved_off_interference(report: pb.ActionReport) -> bool:
        return report.origin == pb.LOCAL_EVENT_LOOP and report.after.channel == channel

    stored = controller.wait_report(RADIO_ID, moved_off_interference, 30.0, "report of the interference move")
    assert "NON_WIFI_BURST" in stored.report.reason, stored.report
    assert stored.report.status == pb.APPLIED, stored.report
    assert stored.report.before.channel == CHANNEL, stored.report
    burst_wall_ms = (time.time() - (time.monotonic() - burst.host_t)) * 1000
    figures.add("spectral_event_to_controller_ms", stored.received_ms - burst_wall_ms)
    controller.wait_audit_type(AGENT_ID, "event_channel_change", timeout=30.0)
    _replay_done(bench, replay)
    agent.stop()


def test_wifi_only_samples_cause_no_move(bench: HwsimBench, controller: HostController) -> None:
    """Wi-Fi-only spectral samples on channel 1: the agent judges them Wi-Fi, raises nothing, the AP stays."""
    ap_radio = bench.radios[0]
    capture = bench.guest.workdir / "wifi_only_ch1.dump"
    capture.write_bytes(wifi_only_capture(freq_mhz=FREQ_MHZ))
    ap = _ap_on_channel_1(bench, ap_radio)
    agent = _agent_reading_fifo(bench)
    before, csa_mark = agent.mark(), ap.mark()

    replay = _replay(bench, capture, None)
    agent.wait_line(f"spectral verdict from {FIFO} now wifi", timeout=20.0, after=before)
    _replay_done(bench, replay)
    time.sleep(QUIET_S)

    bursts = [line for line in agent.lines(before) if "NON_WIFI_BURST" in line]
    assert not bursts, f"Wi-Fi-only samples raised {bursts}"
    switches = [e.text for e in ap.events(csa_mark) if "CSA" in e.text]
    assert not switches, f"the AP switched channel: {switches}"
    assert ap.status()["channel"] == str(CHANNEL), ap.status()
    assert not controller.action_reports(RADIO_ID), [s.report for s in controller.action_reports(RADIO_ID)]
    agent.stop()
