"""Guest side (the venv's Python, product code): the driver's NEIGHBOURS reading on a real kernel, and a raw scan dump.

Run in the HIL guest as `python -m hil_tests.rig.guest_neighbour_probe IFNAME CTRL_DIR FREQ_MHZ OUT_HEX`. It opens the
HostapdDriver by URL (its first neighbour scan runs then), reads `state()` once, then runs one more AP scan
of FREQ_MHZ through `ApScanner` and writes the dump's messages, as the kernel sent them, one hex line each,
to OUT_HEX (the unit tests' real bytes). One JSON object per line, each with a `phase`:

- `opened`: the capabilities' reads, the guest times around the open (its scan is inside);
- `state`: the neighbours `state()` returned;
- `scan`: the second scan's guest start and end, its duration (trigger to results) and what it decoded;
- `done`, or `error` with the exception, last.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from drivers.hostapd.nl80211_scan import ApScanner
from drivers.hostapd.url import open_hostapd_driver, parse_hostapd_url
from rrm.clock import WallClock

AP_ID = "hil-scan"
SCAN_INTERVAL_S = 10


def say(phase: str, **values: Any) -> None:
    print(json.dumps({"phase": phase, "t": time.time(), **values}, default=str), flush=True)


async def probe(ifname: str, ctrl_dir: str, freq_mhz: int, out: Path) -> None:
    before = time.time()
    # The shortest scan interval: a passive scan dwells ~110 ms, about one beacon interval, so one scan
    # can miss a neighbour's beacon (as on real radios); state() is read after two scans.
    url = f"hostapd://{ctrl_dir}/{ifname}?ap={AP_ID}&scan_interval={SCAN_INTERVAL_S}"
    driver = await open_hostapd_driver(parse_hostapd_url(url), clock=WallClock())
    try:
        reads = sorted(r.value for r in driver.info.capabilities.reads)
        say("opened", reads=reads, open_start=before, open_end=time.time())
        (first,) = await driver.state()  # the open's scan
        await asyncio.sleep(SCAN_INTERVAL_S + 0.5)
        (state,) = await driver.state()  # the next scan falls due inside this call
        scans = [[asdict(n) for n in s.neighbors] for s in (first, state)]
        union = {n["neighbor_id"]: n for scan in scans for n in scan}
        say("state", neighbours=list(union.values()), scans=scans, channel=state.config.channel)
        scanner = await ApScanner.open(ifname, socket.if_nametoindex(ifname))
        try:
            start = time.time()
            found = await scanner.scan([freq_mhz])
            say("scan", start=start, end=time.time(), duration_ms=scanner.last_duration_s * 1000,
                bss=[asdict(b) for b in found])  # fmt: skip
        finally:
            scanner.close()
    finally:
        await driver.close()
    out.write_text("".join(raw.hex() + "\n" for raw in scanner.last_raw))  # noqa: ASYNC240 - done, nothing waits


def main() -> int:
    try:
        asyncio.run(probe(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])))
    except Exception as exc:
        say("error", error=repr(exc), trace=traceback.format_exc())
        return 1
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
