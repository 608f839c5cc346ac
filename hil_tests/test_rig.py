"""The rig itself: the guest boots, commands run, hwsim radios appear, hostapd comes up, the relay works."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from hil_tests.rig.air_capture import read_pcap, summarise
from hil_tests.rig.figures import Figures
from hil_tests.rig.guest import Guest, GuestError, GuestTimeout, RigSession
from hil_tests.rig.hwsim_ap import HwsimBench
from hil_tests.rig.short_cac_crda import TEST_MODE_LABEL

pytestmark = pytest.mark.hil


def test_guest_boots_and_runs_commands(guest: Guest, rig_session: RigSession, figures: Figures) -> None:
    """The guest runs the packaged kernel; commands return output and exit status, and overruns time out."""
    figures.set("guest_build_s", rig_session.build_s)
    figures.set("boot_s", rig_session.boot_s)
    assert guest.run("uname -r").out.strip() == rig_session.kernel_release
    result = guest.run("echo out; echo err >&2; exit 3")
    assert (result.rc, result.out, result.err) == (3, "out\n", "err\n")
    with pytest.raises(GuestTimeout, match="still running"):
        guest.run("sleep 5", timeout=0.5)
    assert guest.run("touch /usr/rig-overlay-probe && test -e /usr/rig-overlay-probe").rc == 0, "overlay not writable"


def test_hwsim_radios_appear(bench: HwsimBench) -> None:
    """A reset gives three hwsim radios, each with its debugfs radar trigger."""
    assert len(bench.radios) == 3
    for radio in bench.radios:
        trigger = f"/sys/kernel/debug/ieee80211/{radio.phy}/hwsim/dfs_simulate_radar"
        assert bench.guest.run(f"test -w {trigger}").rc == 0, f"{trigger} missing"


def test_short_cac_mode_is_labelled_and_answered(bench: HwsimBench) -> None:
    """The test mode says what it is, and the kernel accepted the CRDA stand-in's short-CAC rules."""
    assert bench.regulatory.label.startswith(TEST_MODE_LABEL)
    answers = [e.text for e in bench.guest.events.events("crda")]
    assert any(f"COUNTRY=US answered cac_ms={bench.regulatory.cac_ms} err=0" in a for a in answers), answers
    assert f"({bench.regulatory.cac_ms} ms), DFS" in bench.guest.run("iw reg get").out


def test_hostapd_comes_up_on_dfs_channel_in_short_cac_mode(bench: HwsimBench, figures: Figures) -> None:
    """hostapd on channel 52 runs the test mode's CAC, completes it and enables the AP."""
    started = time.monotonic()
    ap = bench.start_dfs_ap(bench.radios[0], channel=52)
    cac = ap.wait_event("DFS-CAC-START", timeout=10.0)
    assert f"cac_time={bench.regulatory.cac_ms // 1000}s" in cac.text, cac.text
    done = ap.wait_event("DFS-CAC-COMPLETED", timeout=bench.regulatory.cac_ms / 1000 + 20.0)
    assert "success=1" in done.text, done.text
    enabled = bench.wait_ap_enabled(ap)
    figures.set("hostapd_up_s", enabled.host_t - started)
    figures.set("cac_s", done.guest_t - cac.guest_t)
    status = ap.status()
    assert (status["state"], status["freq"]) == ("ENABLED", "5260"), status


def test_station_connects_and_monitor_hears_beacons(bench: HwsimBench) -> None:
    """A station joins the DFS AP and the monitor radio captures the AP's beacons on air."""
    ap_radio, sta_radio, mon_radio = bench.radios
    capture = bench.start_monitor(mon_radio, 5260)
    ap = bench.start_dfs_ap(ap_radio, channel=52)
    bench.wait_ap_enabled(ap)
    sta = bench.start_station(sta_radio, "hil-dfs", scan_freqs=(5260,))
    sta.wait_event("CTRL-EVENT-CONNECTED", timeout=30.0)
    time.sleep(0.5)  # observation window: a few more beacons
    bench.stop_monitor(capture)
    frames = [f for f in read_pcap(capture.pcap) if f.transmitter == ap_radio.mac]
    heard = summarise(frames, 5260, start=0.0)
    assert heard.by_kind.get("beacon", 0) >= 3, f"beacons from {ap_radio.mac} on 5260 MHz: {heard}"


def test_guest_reaches_host_through_relay(guest: Guest) -> None:
    """Each guest connection to the forwarded address arrives as its own host connection (gRPC-safe)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(30.0)
    peers: list[tuple[str, int]] = []

    def echo_twice() -> None:
        for _ in range(2):
            try:
                conn, peer = server.accept()
            except OSError:
                return
            peers.append(peer)
            with conn:
                conn.settimeout(10.0)
                conn.sendall(conn.recv(1024))

    thread = threading.Thread(target=echo_twice, daemon=True)
    thread.start()
    guest.enable_network()
    host, port = guest.forward_to("127.0.0.1", server.getsockname()[1])
    try:
        for word in ("first", "second"):
            got = guest.call("tcp_exchange", within=40.0, host=host, port=port, data=word, expect_bytes=len(word))
            assert got["data"] == word
    finally:
        thread.join(timeout=10.0)
        server.close()
    assert len(peers) == 2, f"host connections seen: {peers}"
    assert peers[0] != peers[1], f"both guest connections shared one host connection: {peers}"


_HOLD_OPEN = (  # prints how its connection ended: eof SECONDS, reset ERROR, cut-before-echo, or timeout
    "import socket,sys,time\n"
    "c=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=20)\n"
    "c.sendall(b'hold')\n"
    "try:\n"
    " if not c.recv(4):print('cut-before-echo');sys.exit()\n"
    " t=time.monotonic()\n"
    " while c.recv(64):pass\n"
    " print('eof',time.monotonic()-t)\n"
    "except socket.timeout:print('timeout')\n"
    "except OSError as e:print('reset',e)\n"
)


def test_partition_cuts_the_relay_until_it_heals(guest: Guest, figures: Figures) -> None:
    """`partition` closes an open relayed connection and refuses new ones; `forward_to` heals the link.

    Figure partition_cut_ms (when the echo arrived before the cut): the guest's echo to the guest seeing
    its connection closed (the host's reaction to the echo included).
    """
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(30.0)
    opened = threading.Event()

    def echo() -> None:
        while True:
            try:
                conn, _peer = server.accept()
            except OSError:
                return
            conn.settimeout(10.0)
            with contextlib.suppress(OSError):
                conn.sendall(conn.recv(1024))
                opened.set()
            threading.Thread(target=lambda c=conn: (c.recv(1), c.close()), daemon=True).start()

    threading.Thread(target=echo, daemon=True).start()
    guest.enable_network()
    host, port = guest.forward_to("127.0.0.1", server.getsockname()[1])
    guest.call("write_file", path="/tmp/hold_open.py", data=_HOLD_OPEN)
    held: list[str] = []
    holder = threading.Thread(
        target=lambda: held.append(guest.run(f"python3 -S /tmp/hold_open.py {host} {port}", timeout=30.0).out)
    )
    holder.start()
    try:
        assert opened.wait(30.0), "the guest's connection never reached the host"
        guest.partition()
        holder.join(timeout=40.0)
        try:  # the relay exits at once: the guest sees a reset (or, racing it, an empty answer)
            refused = str(guest.call("tcp_exchange", within=20.0, host=host, port=port, data="x", expect_bytes=1))
        except GuestError as exc:
            refused = str(exc)
        guest.forward_to("127.0.0.1", server.getsockname()[1])
        healed = guest.call("tcp_exchange", within=40.0, host=host, port=port, data="back", expect_bytes=4)
    finally:
        server.close()
    assert held, "the guest's holding connection did not finish"
    ending = held[0].split() or ["nothing"]
    # the cut may land before the host's echo reaches the guest, or reach it as a reset: both are cuts
    assert ending[0] in ("eof", "reset", "cut-before-echo"), f"the open connection was not cut: {held}"
    figures.set("partition_ending", ending[0])
    if ending[0] == "eof":
        figures.set("partition_cut_ms", float(ending[1]) * 1000)
    assert "reset" in refused or refused == "{'data': ''}", f"a new connection got through the partition: {refused}"
    assert healed["data"] == "back", healed
