"""The edge agent in the guest on a real hostapd: the AP goes where the agent says, the reports reach the controller.

`rrm agent --ap-url hostapd://...` runs inside the guest, `rrm controller` on the host behind the rig's relay.
The agent keeps hostapd's `chanlist` pointed at its ranking, so on radar hostapd's own single CSA lands on
the agent's channel; the agent's report of the move goes through its outbox to the controller's store,
across a partition too. The second radar needs the AP back on a DFS channel: hostapd is restarted there,
as it is on a real AP after a config reload, and the agent must set its fallback list on the new hostapd.
Figures (guest clock from the debugfs write): radar_to_agent_channel_ms (to AP-CSA-FINISHED on the agent's
channel), channel_move_time_ms (to the last frame on the radar channel), closing_airtime_ms,
frames_on_nop_channel (must be 0), radar_to_controller_ms and heal_to_report_ms (host clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from hil_tests.rig.air_capture import read_pcap, summarise
from hil_tests.rig.figures import Figures
from hil_tests.rig.guest import GuestError
from hil_tests.rig.hwsim_ap import Capture, HostapdAp, HwsimBench, channel_to_mhz, wait_until
from hil_tests.rig.rrm_stack import GuestAgent, HostController
from rrm.v1 import agent_link_pb2 as pb

pytestmark = pytest.mark.hil

AP_ID, AGENT_ID = "hil-ap", "hil-agent"
RADIO_ID = f"{AP_ID}/5g"
AP_URL = f"hostapd:///var/run/hostapd/wlan0?ap={AP_ID}"
FIRST_CHANNEL, SECOND_CHANNEL = 52, 56  # the second radar after hostapd restarts here (52 is in its NOP)
OBSERVE_S = 1.0  # how long the monitor keeps listening on the radar channel after the AP left
SETTLE_S = 5.0  # two telemetry intervals: the agent has seen the restarted AP and ranked again
PARTITION_S = 3.0  # the shortest partition: the agent's reconnects are refused for a while


@dataclass(frozen=True)
class RadarMove:
    channel: int  # where hostapd took the AP
    radar_t: float  # guest clock, just before the debugfs write
    left_t: float  # guest clock, AP-CSA-FINISHED
    host_wall_ms: int  # host wall clock at the radar, to compare with the controller's ingest time


def _radar_moves_to(bench: HwsimBench, ap: HostapdAp, wanted: int, figures: Figures) -> RadarMove:
    """Radar on the AP's channel; hostapd's one CSA must land on `wanted`, the agent's channel."""
    mark = ap.mark()
    host_wall_ms = int(time.time() * 1000)
    radar_t = bench.inject_radar(ap.radio)
    new = ap.wait_event("DFS-NEW-CHANNEL", timeout=5.0, after=mark)
    assert f"chan={wanted} " in new.text + " ", f"hostapd chose {new.text}, not the agent's channel {wanted}"
    done = ap.wait_event(f"AP-CSA-FINISHED freq={channel_to_mhz(wanted)}", timeout=10.0, after=mark)
    figures.add("radar_to_agent_channel_ms", (done.guest_t - radar_t) * 1000)
    return RadarMove(wanted, radar_t, done.guest_t, host_wall_ms)


def _air_figures(bench: HwsimBench, capture: Capture, move: RadarMove, figures: Figures) -> int:
    """Closing airtime and channel move time on the radar channel; returns the frames after the AP left."""
    time.sleep(OBSERVE_S)
    bench.stop_monitor(capture)
    frames = [f for f in read_pcap(capture.pcap) if f.freq_mhz in (None, capture.freq_mhz)]
    closing = summarise(frames, capture.freq_mhz, start=move.radar_t)
    last = max((f.t for f in frames if f.t >= move.radar_t), default=move.radar_t)
    figures.add("channel_move_time_ms", (last - move.radar_t) * 1000)
    figures.add("closing_airtime_ms", closing.airtime_ms)
    return summarise(frames, capture.freq_mhz, start=move.left_t).frames


def _new_move_to(controller: HostController, channel: int) -> Callable[[pb.ActionReport], bool]:
    """Matches a report, not yet stored now, of the AP moving to `channel` by itself."""
    known = {s.report.action_id for s in controller.action_reports(RADIO_ID)}

    def match(report: pb.ActionReport) -> bool:
        return report.origin == pb.AP_AUTONOMOUS and report.after.channel == channel and report.action_id not in known

    return match


def _ap_stays_on(agent: GuestAgent, ap: HostapdAp, channel: int, after: int) -> None:
    """The agent judged the landing (no second move) and the AP is still on `channel`."""
    agent.wait_line("DFS_RADAR: the AP left the radar channels", timeout=15.0, after=after)
    status = ap.status()
    assert status["channel"] == str(channel), f"the AP left the agent's channel {channel}: {status}"


def _restart_ap(bench: HwsimBench, ap: HostapdAp) -> HostapdAp:
    bench.stop_ap(ap)
    restarted = bench.start_dfs_ap(ap.radio, channel=SECOND_CHANNEL)
    bench.wait_ap_enabled(restarted)
    return restarted


def test_agent_fallback_takes_radar_moves_and_reports_reach_controller(
    bench: HwsimBench, controller: HostController, figures: Figures
) -> None:
    """Radar moves land on the agent's channel in one CSA; the reports arrive, also after a partition heals."""
    ap_radio, sta_radio, mon_radio = bench.radios
    capture = bench.start_monitor(mon_radio, channel_to_mhz(FIRST_CHANNEL))
    ap = bench.start_dfs_ap(ap_radio, channel=FIRST_CHANNEL)
    bench.wait_ap_enabled(ap)
    sta = bench.start_station(
        sta_radio, "hil-dfs", scan_freqs=tuple(map(channel_to_mhz, (FIRST_CHANNEL, SECOND_CHANNEL)))
    )
    sta.wait_event("CTRL-EVENT-CONNECTED", timeout=30.0)  # its frames count in the closing airtime
    agent = GuestAgent(bench, AGENT_ID, AP_URL)
    agent.wait_line("connected to controller", timeout=90.0)

    # 1. Connected: radar, hostapd's own CSA to the agent's channel, the report at the controller.
    wanted = agent.settled_fallback(RADIO_ID, agent.started, timeout=30.0, settle_s=SETTLE_S)
    decided, report = agent.mark(), _new_move_to(controller, wanted)
    move = _radar_moves_to(bench, ap, wanted, figures)
    stored = controller.wait_report(RADIO_ID, report, 30.0, "report of the radar move")
    figures.add("radar_to_controller_ms", stored.received_ms - move.host_wall_ms)
    controller.wait_audit_type(AGENT_ID, "ap_autonomous_move", timeout=30.0)
    _ap_stays_on(agent, ap, wanted, decided)
    nop_frames = _air_figures(bench, capture, move, figures)

    # 2. hostapd restarts on another DFS channel; the agent sets its fallback list on the new one.
    restart_mark = agent.mark()
    ap = _restart_ap(bench, ap)
    capture = bench.start_monitor(mon_radio, channel_to_mhz(SECOND_CHANNEL), name="monitor2")
    wanted = agent.settled_fallback(RADIO_ID, restart_mark, timeout=30.0, settle_s=SETTLE_S)

    # 3. Partition: the radar move made meanwhile is reported once the link heals.
    cut, notes, cut_at = agent.mark(), len(bench.guest.relay_notes()), time.monotonic()
    bench.guest.partition()
    agent.wait_line("controller link to", timeout=15.0, after=cut)
    decided, report = agent.mark(), _new_move_to(controller, wanted)
    move = _radar_moves_to(bench, ap, wanted, figures)
    _ap_stays_on(agent, ap, wanted, decided)
    agent.wait_line("ap_autonomous_move on", timeout=10.0, after=decided)  # in the agent's outbox now
    wait_until(  # the agent tried to reconnect meanwhile, and the partition held
        lambda: any("refused" in n for n in bench.guest.relay_notes()[notes:]),
        30.0,
        "a reconnect refused by the partition",
        lambda: str(bench.guest.relay_notes()[notes:]),
    )
    time.sleep(max(0.0, PARTITION_S - (time.monotonic() - cut_at)))
    assert not [s for s in controller.action_reports(RADIO_ID) if report(s.report)], "a report crossed the partition"
    healed_ms = int(time.time() * 1000)
    controller.reachable_from(bench.guest)
    try:
        stored = controller.wait_report(RADIO_ID, report, 30.0, "report of the radar move made in the partition")
    except GuestError as exc:
        raise GuestError(f"{exc}; the agent's tasks: {agent.why_stuck()}") from None
    figures.add("heal_to_report_ms", stored.received_ms - healed_ms)
    nop_frames += _air_figures(bench, capture, move, figures)
    figures.set("frames_on_nop_channel", nop_frames)
    assert nop_frames == 0, f"{nop_frames} frames on the radar channels after the AP left them"
    wait_until(lambda: ap.status()["channel"] == str(wanted), 5.0, f"AP on channel {wanted}", lambda: str(ap.status()))
    agent.stop()
