"""The HostapdDriver's nl80211 side on a real kernel: the driver runs inside the guest, next to hostapd.

The probe (hil_tests/rig/guest_driver_probe.py) opens the driver the way `rrm agent --ap-url hostapd://`
does and reports what it read; the host injects radar through hwsim's debugfs. hwsim's survey is
dummy data (noise -92 dBm, busy = active / 8, recorded only for channels the radio scanned: the bench
scans the channel before hostapd starts), so the noise and field mapping are checked, not a load.
The radar move goes to channel 149, whose power the kernel sets higher than channel 52's: the power it
holds there must be inside the range the driver advertised when it opened on 52.
Figures: survey_busy_fraction, tx_power_after_move_dbm, tx_power_readback_dbm, nl80211_radar_ms and
driver_radar_ms (radar write to the nl80211 notice / to the driver's DFS_RADAR, guest clock),
radar_first_source.
"""

from __future__ import annotations

from typing import Any

import pytest

from hil_tests.rig.figures import Figures
from hil_tests.rig.guest_python import JsonReport, product_module
from hil_tests.rig.hwsim_ap import HOSTAPD_DIR, HwsimBench

pytestmark = pytest.mark.hil

RADAR_MHZ = 5260
HWSIM_NOISE_DBM = -92  # mac80211_hwsim's fixed survey noise; pyroute2 hands it over as the byte 164
TX_POWERS = ("10", "12.5")  # mac80211 takes whole dBm only (EOPNOTSUPP otherwise): 12.5 must land on 12
FALLBACK = 149  # U-NII-3: the kernel's power there (30 dBm) is above the radar channel's (23 dBm)


def _check_telemetry(seen: dict[str, Any], station_mac: str, figures: Figures) -> None:
    """The survey's noise is signed dBm and reaches state(); the station is a client with a signal."""
    entry = next((e for e in seen["survey"] if e["freq_mhz"] == RADAR_MHZ), None)
    assert entry is not None, f"no survey entry for {RADAR_MHZ} MHz: {seen['survey']}"
    assert entry["noise_dbm"] == HWSIM_NOISE_DBM, f"noise not decoded as signed dBm: {entry}"
    assert entry["active_ms"] > 0, entry
    assert entry["busy_ms"] == entry["active_ms"] // 8, f"busy and active time swapped? {entry}"
    figures.set("survey_busy_fraction", entry["busy_ms"] / entry["active_ms"])
    state = seen["state"]
    assert state["noise_floor_dbm"] == HWSIM_NOISE_DBM, f"state() did not take the survey's noise: {state}"
    stations = {s["mac"]: s for s in seen["stations"]}
    assert station_mac in stations, f"station {station_mac} not in the station dump: {seen['stations']}"
    signal = stations[station_mac]["signal_dbm"]
    assert signal is not None, stations
    assert signal < 0, stations
    clients = {c["client_id"]: c for c in state["clients"]}
    assert station_mac in clients, f"the station is not a client in state(): {state['clients']}"
    client = clients[station_mac]
    assert client["snr_db"] == client["rssi_dbm"] - HWSIM_NOISE_DBM, client


def _check_radar(heard: dict[str, Any], radar_t: float, figures: Figures) -> None:
    """nl80211's notice is decoded; with hostapd's report of the same radar it makes one DFS_RADAR."""
    detected = [n for n in heard["notices"] if n["kind"] == "DETECTED"]
    assert detected, f"no nl80211 radar notice decoded: {heard['notices']}"
    assert (detected[0]["freq_mhz"], detected[0]["width_code"]) == (RADAR_MHZ, 1), detected
    radars = [e for e in heard["events"] if e["type"] == "DFS_RADAR"]
    assert len(radars) == 1, f"nl80211 and hostapd radar not deduplicated into one DFS_RADAR: {heard['events']}"
    assert radars[0]["metadata"]["nop_channels"] == "52", radars
    moved = [e for e in heard["events"] if e["type"] == "CHANNEL_SWITCHED"]
    assert moved, f"the AP's radar move was not reported: {heard['events']}"
    assert moved[0]["metadata"]["reason"] == "radar", moved
    figures.set("radar_first_source", radars[0]["metadata"]["source"])
    figures.add("nl80211_radar_ms", (detected[0]["t"] - radar_t) * 1000)
    figures.add("driver_radar_ms", (radars[0]["t"] - radar_t) * 1000)


def test_driver_reads_sets_and_hears_radar_through_nl80211(bench: HwsimBench, figures: Figures) -> None:
    """Survey, stations and tx power through nl80211; a debugfs radar is one DFS_RADAR from both sources."""
    ap_radio, sta_radio, _monitor = bench.radios
    bench.prime_survey(ap_radio, RADAR_MHZ)
    ap = bench.start_dfs_ap(ap_radio, channel=52)
    bench.wait_ap_enabled(ap)
    sta = bench.start_station(sta_radio, "hil-dfs", scan_freqs=(RADAR_MHZ,))
    sta.wait_event("CTRL-EVENT-CONNECTED", timeout=30.0)
    argv = product_module("hil_tests.rig.guest_driver_probe", ap_radio.iface, HOSTAPD_DIR, str(FALLBACK), *TX_POWERS)
    probe = JsonReport(bench.guest, bench.start_process("probe", argv)[0], "guest_driver_probe")

    opened = probe.wait("opened", timeout=60.0)
    assert opened["reason"] == "", f"no nl80211 in the guest: {opened['reason']}"
    assert {"utilisation", "noise", "clients", "tx_power"} <= set(opened["reads"]), opened["reads"]
    assert "neighbours" not in opened["reads"], "an AP scan on DFS channel 52 must be refused (EBUSY), not advertised"
    assert opened["can_change_tx_power"], opened
    _check_telemetry(probe.wait("telemetry", timeout=30.0), sta_radio.mac, figures)

    probe.wait("listening", timeout=30.0)
    mark = ap.mark()
    radar_t = bench.inject_radar(ap_radio)
    ap.wait_event(f"DFS-RADAR-DETECTED freq={RADAR_MHZ}", timeout=5.0, after=mark)
    heard = probe.wait("radar", timeout=20.0)
    _check_radar(heard, radar_t, figures)
    landed = heard["config"]
    assert landed["channel"] == FALLBACK, f"the AP did not move to the fallback set by the driver: {landed}"
    ceiling = opened["tx_power_range"][1]
    assert landed["tx_power_dbm"] <= ceiling, f"the kernel holds {landed} above the advertised ceiling {ceiling}"
    figures.set("tx_power_after_move_dbm", landed["tx_power_dbm"])

    powers = probe.wait("tx_power", timeout=30.0)["results"]
    assert [(p.get("applied"), p.get("kernel")) for p in powers] == [(10.0, 10.0), (12.0, 12.0)], powers
    figures.set("tx_power_readback_dbm", powers[-1]["kernel"])

    switched = probe.wait("channel", timeout=30.0)
    assert "error" not in switched, f"the channel change through the driver failed: {switched}"
    assert switched["after"]["channel"] == switched["asked"], switched
    assert switched["read_back"]["channel"] == switched["asked"], f"STATUS after the CSA: {switched}"
    probe.wait("done", timeout=20.0)
    assert bench.wait_exit("probe", timeout=20.0) == 0
