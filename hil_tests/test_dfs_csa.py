"""Radar on a DFS channel: hostapd's own CSA to the agent's pre-set channel, CHAN_SWITCH during and after it.

Figures (measured in the guest's clock from the debugfs radar write, reported, never asserted on for
speed): channel_move_time_ms (radar to AP-CSA-FINISHED), radar_to_agent_channel_ms (radar to the AP on
the channel the agent wanted), second_csa_ms, closing_airtime_ms and frames_on_nop_channel from the
monitor radio left on the radar channel (../shared/facts/hil.md section 3, ../shared/facts/dfs.md 7).
"""

from __future__ import annotations

import time

import pytest

from hil_tests.rig.air_capture import read_pcap, summarise
from hil_tests.rig.figures import Figures
from hil_tests.rig.guest import Event
from hil_tests.rig.hwsim_ap import Capture, HostapdAp, Station, wait_until
from hil_tests.rig.target import DfsBench

pytestmark = [pytest.mark.hil, pytest.mark.lab_compatible]

RADAR_CHANNEL, RADAR_MHZ = 52, 5260
FALLBACK_CHANNEL, FALLBACK_MHZ = 36, 5180  # the agent's pre-set fallback (SET chanlist)
AGENT_MHZ = 5745  # channel 149, where the agent wants the AP after the radar
OBSERVE_S = 1.0  # how long the monitor keeps listening on the radar channel after the AP left


def _dfs_bss(bench: DfsBench) -> tuple[HostapdAp, Station, Capture]:
    """AP on channel 52 with CAC done, a station on it, the monitor on 5260 MHz; fallback pre-set to 36."""
    ap_radio, sta_radio, mon_radio = bench.radios
    capture = bench.start_monitor(mon_radio, RADAR_MHZ)
    ap = bench.start_dfs_ap(ap_radio, channel=RADAR_CHANNEL)
    bench.wait_ap_enabled(ap)
    sta = bench.start_station(sta_radio, "hil-dfs", scan_freqs=(RADAR_MHZ, FALLBACK_MHZ, AGENT_MHZ))
    sta.wait_event("CTRL-EVENT-CONNECTED", timeout=30.0)
    ap.ok(f"SET chanlist {FALLBACK_CHANNEL}")
    return ap, sta, capture


def _station_on(sta: Station, freq_mhz: int) -> None:
    status: dict[str, str] = {}

    def there() -> bool:
        status.update(sta.status())
        return status.get("wpa_state") == "COMPLETED" and status.get("freq") == str(freq_mhz)

    wait_until(there, 10.0, f"station COMPLETED on {freq_mhz} MHz", lambda: str(status))


def _air_figures(bench: DfsBench, capture: Capture, radar_t: float, left_t: float, figures: Figures) -> int:
    """Record closing airtime (after radar) and frames after the AP left; returns the latter count."""
    time.sleep(OBSERVE_S)  # observation window on the radar channel
    bench.stop_monitor(capture)
    frames = read_pcap(capture.pcap)
    closing = summarise(frames, RADAR_MHZ, start=radar_t)
    on_nop = summarise(frames, RADAR_MHZ, start=left_t)
    figures.add("closing_airtime_ms", closing.airtime_ms)
    figures.set("closing_frames", closing.frames)
    figures.set("frames_on_nop_channel", on_nop.frames)
    return on_nop.frames


def _csa_finished(ap: HostapdAp, freq_mhz: int, after: int) -> Event:
    return ap.wait_event(f"AP-CSA-FINISHED freq={freq_mhz}", timeout=10.0, after=after)


def test_radar_csa_lands_on_chanlist_channel(bench: DfsBench, figures: Figures) -> None:
    """On radar, hostapd's own single CSA takes the AP and its station to the channel pre-set with chanlist."""
    ap, sta, capture = _dfs_bss(bench)
    mark = ap.mark()
    radar_t = bench.inject_radar(ap.radio)
    ap.wait_event(f"DFS-RADAR-DETECTED freq={RADAR_MHZ}", timeout=5.0, after=mark)
    new = ap.wait_event("DFS-NEW-CHANNEL", timeout=5.0, after=mark)
    assert f"chan={FALLBACK_CHANNEL} " in new.text + " ", f"hostapd chose {new.text}, not the chanlist channel"
    done = _csa_finished(ap, FALLBACK_MHZ, mark)
    _station_on(sta, FALLBACK_MHZ)
    figures.add("channel_move_time_ms", (done.guest_t - radar_t) * 1000)
    figures.add("radar_to_agent_channel_ms", (done.guest_t - radar_t) * 1000)
    on_nop = _air_figures(bench, capture, radar_t, done.guest_t, figures)
    csas = [e.text for e in ap.events(mark) if e.text.startswith("AP-CSA-FINISHED")]
    assert csas == [f"AP-CSA-FINISHED freq={FALLBACK_MHZ} dfs=0"], f"expected one CSA, saw {csas}"
    assert on_nop == 0, f"{on_nop} frames on {RADAR_MHZ} MHz after the AP left it"


def test_chan_switch_fails_during_csa_then_works_after(bench: DfsBench, figures: Figures) -> None:
    """CHAN_SWITCH while hostapd's own CSA runs is refused; sent on AP-CSA-FINISHED it moves the AP again."""
    ap, sta, capture = _dfs_bss(bench)
    mark = ap.mark()
    switch = f"CHAN_SWITCH 5 {AGENT_MHZ} ht"
    ap.arm("DFS-RADAR-DETECTED", switch)  # as the agent would: at once, inside the guest
    ap.arm(f"AP-CSA-FINISHED freq={FALLBACK_MHZ}", switch)
    radar_t = bench.inject_radar(ap.radio)
    during = ap.wait_event("RIG-TRIGGER-REPLY", timeout=5.0, after=mark)
    first = _csa_finished(ap, FALLBACK_MHZ, mark)
    assert during.text.endswith("reply=FAIL"), f"CHAN_SWITCH during hostapd's CSA answered: {during.text}"
    assert during.guest_t < first.guest_t, "the first CHAN_SWITCH was answered after hostapd's CSA had finished"
    second = _csa_finished(ap, AGENT_MHZ, mark)
    replies = [e for e in ap.events(mark) if e.text.startswith("RIG-TRIGGER-REPLY")]
    assert [r.text.rsplit("=", 1)[1] for r in replies] == ["FAIL", "OK"], [r.text for r in replies]
    after = replies[1]
    _station_on(sta, AGENT_MHZ)
    figures.add("channel_move_time_ms", (first.guest_t - radar_t) * 1000)
    figures.add("radar_to_agent_channel_ms", (second.guest_t - radar_t) * 1000)
    figures.add("second_csa_ms", (second.guest_t - float(after.extra["sent"])) * 1000)
    figures.set("chan_switch_refused_in_ms", (during.guest_t - float(during.extra["sent"])) * 1000)
    on_nop = _air_figures(bench, capture, radar_t, first.guest_t, figures)
    csas = [e.text.split()[1] for e in ap.events(mark) if e.text.startswith("AP-CSA-FINISHED")]
    assert csas == [f"freq={FALLBACK_MHZ}", f"freq={AGENT_MHZ}"], f"expected two CSAs, saw {csas}"
    assert on_nop == 0, f"{on_nop} frames on {RADAR_MHZ} MHz after the AP left it"


def test_real_60s_cac_with_signed_regulatory_db(bench_real_regdb: DfsBench, figures: Figures) -> None:
    """Under the real signed regulatory.db the AP waits the full 60 s CAC, then radar still moves it by CSA."""
    bench = bench_real_regdb
    ap_radio, _sta_radio, mon_radio = bench.radios
    capture = bench.start_monitor(mon_radio, RADAR_MHZ)
    ap = bench.start_dfs_ap(ap_radio, channel=RADAR_CHANNEL)
    cac = ap.wait_event("DFS-CAC-START", timeout=10.0)
    assert "cac_time=60s" in cac.text, f"real regulatory.db should give the 60 s default CAC: {cac.text}"
    done = ap.wait_event("DFS-CAC-COMPLETED", timeout=90.0)
    assert "success=1" in done.text, done.text
    bench.wait_ap_enabled(ap)
    figures.set("real_cac_s", done.guest_t - cac.guest_t)
    ap.ok(f"SET chanlist {FALLBACK_CHANNEL}")
    mark = ap.mark()
    radar_t = bench.inject_radar(ap.radio)
    moved = _csa_finished(ap, FALLBACK_MHZ, mark)
    figures.add("channel_move_time_ms", (moved.guest_t - radar_t) * 1000)
    figures.add("radar_to_agent_channel_ms", (moved.guest_t - radar_t) * 1000)
    on_nop = _air_figures(bench, capture, radar_t, moved.guest_t, figures)
    assert on_nop == 0, f"{on_nop} frames on {RADAR_MHZ} MHz after the AP left it"
