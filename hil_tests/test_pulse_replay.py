"""Radar from a replayed pulse trace: the PRI detector plays the chip's detector, everything after it is real.

Traces are generated (seeded), written in the rrm-pulse-trace format and read back, then replayed in
real time on the host through the region's PRI detector (hil_tests/rig/radar_replay.py). A detection
fires hwsim's debugfs radar for the AP's radio; the kernel, hostapd and the agent in the guest do the
rest, and the AP's CSA lands on the agent's channel. A trace of Wi-Fi-like non-radar pulses is
replayed first: no detection, so no radar, no CSA, and the AP stays on its DFS channel.
Figures: detection_to_csa_ms (host clock: detection to AP-CSA-FINISHED reaching the host),
radar_write_ms (detection to the debugfs write returning), trace_to_detection_ms, negative_trace_s,
radar_to_agent_channel_ms and frames_on_nop_channel (must be 0).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hil_tests.pulses.generator import Impairments, generate
from hil_tests.pulses.trace_format import PulseTrace, read_trace, write_trace
from hil_tests.rig.air_capture import read_pcap, summarise
from hil_tests.rig.figures import Figures
from hil_tests.rig.hwsim_ap import HwsimBench, channel_to_mhz
from hil_tests.rig.radar_replay import replay_into_radio
from hil_tests.rig.rrm_stack import GuestAgent, HostController
from radio_domain.regulatory import Region
from rrm.v1 import agent_link_pb2 as pb

pytestmark = pytest.mark.hil

AP_ID = "hil-pulse-ap"
RADIO_ID = f"{AP_ID}/5g"
RADAR_CHANNEL = 52
RADAR_MHZ = channel_to_mhz(RADAR_CHANNEL)
RADAR_TRACE = ("fcc-1", 1, Impairments(jitter_us=2, lost_fraction=0.1))  # FCC type 1, 76 pulses in 52 ms
NEGATIVE_TRACE = ("neg-wifi-traffic", 1, None)  # 1 s of Wi-Fi-like pulses, no pulse train
QUIET_S = 1.5  # after the negative trace: how long the AP must stay without a radar event
DFS_EVENTS = ("DFS-RADAR-DETECTED", "DFS-NEW-CHANNEL", "CTRL-EVENT-STARTED-CHANNEL-SWITCH", "AP-CSA-FINISHED")


def _trace(folder: Path, family: str, seed: int, impairments: Impairments | None) -> PulseTrace:
    """A generated trace on the AP's channel, through the file format and back (what a lab capture would be)."""
    path = folder / f"{family}-{seed}.jsonl"
    write_trace(path, generate(family, seed, impairments, region=Region.FCC, channel_mhz=RADAR_MHZ))
    return read_trace(path)


def test_replayed_radar_trace_moves_the_ap_and_a_negative_one_does_not(
    bench: HwsimBench, controller: HostController, figures: Figures, tmp_path: Path
) -> None:
    """No radar from Wi-Fi-like pulses; an FCC type 1 trace fires radar and the CSA lands on the agent's channel."""
    ap_radio, sta_radio, mon_radio = bench.radios
    capture = bench.start_monitor(mon_radio, RADAR_MHZ)
    ap = bench.start_dfs_ap(ap_radio, channel=RADAR_CHANNEL)
    bench.wait_ap_enabled(ap)
    sta = bench.start_station(sta_radio, "hil-dfs", scan_freqs=(RADAR_MHZ,))
    sta.wait_event("CTRL-EVENT-CONNECTED", timeout=30.0)
    agent = GuestAgent(bench, "hil-pulse-agent", f"hostapd:///var/run/hostapd/{ap_radio.iface}?ap={AP_ID}")
    agent.wait_line("connected to controller", timeout=90.0)
    wanted = agent.settled_fallback(RADIO_ID, agent.started, timeout=30.0, settle_s=2.0)

    mark = ap.mark()
    quiet = replay_into_radio(bench, ap_radio, _trace(tmp_path, *NEGATIVE_TRACE))
    figures.set("negative_trace_s", quiet.ended - quiet.started)
    assert quiet.fired is None, f"the detector called Wi-Fi-like pulses radar: {quiet.fired}"
    time.sleep(QUIET_S)
    dfs = [e.text for e in ap.events(mark) if e.text.startswith(DFS_EVENTS)]
    assert not dfs, f"DFS events without radar: {dfs}"
    status = ap.status()
    assert (status["state"], status["channel"]) == ("ENABLED", str(RADAR_CHANNEL)), status

    mark = ap.mark()
    known = {s.report.action_id for s in controller.action_reports(RADIO_ID)}
    replayed = replay_into_radio(bench, ap_radio, _trace(tmp_path, *RADAR_TRACE))
    fired = replayed.fired
    assert fired is not None, "the detector missed the FCC type 1 trace"
    new = ap.wait_event("DFS-NEW-CHANNEL", timeout=5.0, after=mark)
    assert f"chan={wanted} " in new.text + " ", f"hostapd chose {new.text}, not the agent's channel {wanted}"
    done = ap.wait_event(f"AP-CSA-FINISHED freq={channel_to_mhz(wanted)}", timeout=10.0, after=mark)
    figures.add("detection_to_csa_ms", (done.host_t - fired.detected_at) * 1000)
    figures.set("radar_write_ms", (fired.written_at - fired.detected_at) * 1000)
    figures.set("trace_to_detection_ms", (fired.detected_at - replayed.started) * 1000)
    figures.add("radar_to_agent_channel_ms", (done.guest_t - fired.radar_t) * 1000)
    controller.wait_report(
        RADIO_ID,
        lambda r: r.origin == pb.AP_AUTONOMOUS and r.after.channel == wanted and r.action_id not in known,
        30.0,
        "report of the radar move",
    )

    time.sleep(1.0)  # the monitor keeps listening on the radar channel
    bench.stop_monitor(capture)
    on_nop = summarise(read_pcap(capture.pcap), RADAR_MHZ, start=done.guest_t)
    figures.set("frames_on_nop_channel", on_nop.frames)
    assert on_nop.frames == 0, f"{on_nop.frames} frames on {RADAR_MHZ} MHz after the AP left it: {on_nop}"
    agent.stop()
