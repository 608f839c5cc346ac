"""Re-record tests/data/pcap/neighbour_ch44.pcap: a real BSS with a station sending traffic, captured on air.

`python -m hil_tests.record_neighbour_capture [OUT]` (root, as the HIL suite) boots the HIL guest and
starts, on hwsim radios: hostapd "hil-neighbour" on channel 44 (5220 MHz, HT20, BSSID
02:4e:42:00:00:01, so it can never share an address with a radio under test), a wpa_supplicant station
(02:4e:42:00:00:02) and the rig's monitor capture on 5220 MHz, running from before the AP starts
(deauth, beacons, probe, authentication, association). The station then sends UDP broadcasts (the AP
relays each to the BSS: ToDS and FromDS data frames). About 16 s, 60 KB. The replay tests rewrite it
to the AP's channel.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from hil_tests.rig.guest import Guest
from hil_tests.rig.guest_build import REPO_ROOT, build_guest
from hil_tests.rig.hwsim_ap import HwsimBench, short_cac

DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "pcap" / "neighbour_ch44.pcap"
CHANNEL, FREQ_MHZ, SSID = 44, 5220, "hil-neighbour"
AP_MAC, STA_MAC = "02:4e:42:00:00:01", "02:4e:42:00:00:02"
BROADCASTS, GAP_S = 40, 0.1
_SEND = (
    "import socket,time\n"
    "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
    "s.setsockopt(socket.SOL_SOCKET,socket.SO_BROADCAST,1)\n"
    "s.setsockopt(socket.SOL_SOCKET,socket.SO_BINDTODEVICE,b'{iface}')\n"
    "for i in range({count}):\n"
    " s.sendto(b'hil-neighbour traffic %04d '%i+b'x'*120,('10.99.0.255',9)); time.sleep({gap})\n"
)


def record(bench: HwsimBench, out: Path) -> int:
    """Record the neighbour's traffic into `out`; the number of frames captured."""
    ap_radio, sta_radio, mon_radio = bench.radios
    for radio, mac in ((ap_radio, AP_MAC), (sta_radio, STA_MAC)):
        bench.guest.run(f"ip link set {radio.iface} down && ip link set {radio.iface} address {mac}").check(mac)
    capture = bench.start_monitor(mon_radio, FREQ_MHZ, name="neighbour-recording")
    ap = bench.start_dfs_ap(ap_radio, channel=CHANNEL, ssid=SSID)
    bench.wait_ap_enabled(ap)
    sta = bench.start_station(sta_radio, SSID, scan_freqs=(FREQ_MHZ,))
    sta.wait_event("CTRL-EVENT-CONNECTED", timeout=30.0)
    bench.guest.run(
        f"ip addr add 10.99.0.1/24 dev {ap_radio.iface} && ip addr add 10.99.0.2/24 brd + dev {sta_radio.iface}"
    ).check("addresses for the traffic")
    send = _SEND.format(iface=sta_radio.iface, count=BROADCASTS, gap=GAP_S)
    bench.guest.run(f'python3 -S -c "{send}"', timeout=60.0).check("the station's broadcasts")
    time.sleep(1.0)
    frames = bench.stop_monitor(capture)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(capture.pcap, out)
    return frames


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    workdir = Path(tempfile.mkdtemp(prefix="hil-record-"))
    try:
        with Guest(build_guest(), workdir) as guest:
            guest.start()
            bench = HwsimBench(guest)
            bench.reset(short_cac())
            frames = record(bench, out)
            bench.stop_all()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{out}: {frames} frames, {out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
