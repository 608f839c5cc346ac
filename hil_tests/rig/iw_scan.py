"""An AP-side scan through `iw` in the guest: which BSSs the AP's own radio hears on its channel.

mac80211 lets a beaconing AP scan (`iw dev IF scan trigger ap-force`) when the driver supports AP scan
(mac80211's software scan does; hwsim says "Device supports AP scan"); it refuses while radar
detection is active on a DFS channel (the AP cannot leave the channel), so this is for non-DFS
channels. The scan is passive: a replayed neighbour never answers probe requests, it only beacons.
`parse_scan_dump` reads `iw dev IF scan dump` (pure).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hil_tests.rig.guest import Guest

SCAN_SETTLE_S = 1.5  # one passive channel dwells ~110 ms in mac80211; margin for TCG


@dataclass(frozen=True)
class ScannedBss:
    bssid: str
    freq_mhz: int
    signal_dbm: float | None
    ssid: str
    ds_channel: int | None  # DS Parameter Set
    primary_channel: int | None  # HT Operation


_BSS = re.compile(r"^BSS ([0-9a-f:]{17})")
_VALUES = {
    "freq_mhz": re.compile(r"^\tfreq: (\d+)"),
    "signal_dbm": re.compile(r"^\tsignal: (-?[\d.]+) dBm"),
    "ssid": re.compile(r"^\tSSID: (.*)$"),
    "ds_channel": re.compile(r"^\tDS Parameter set: channel (\d+)"),
    "primary_channel": re.compile(r"^\t\t \* primary channel: (\d+)"),
}


def parse_scan_dump(text: str) -> list[ScannedBss]:
    """Every BSS in `iw dev IF scan dump` output, in its order."""
    found: list[ScannedBss] = []
    current: dict[str, str] = {}

    def close() -> None:
        if current:
            found.append(_bss(current))

    for line in text.splitlines():
        head = _BSS.match(line)
        if head:
            close()
            current = {"bssid": head.group(1)}
            continue
        for key, pattern in _VALUES.items():
            value = pattern.match(line)
            if value and current and key not in current:
                current[key] = value.group(1)
    close()
    return found


def _bss(values: dict[str, str]) -> ScannedBss:
    def number(key: str) -> int | None:
        return int(values[key]) if key in values else None

    return ScannedBss(
        bssid=values["bssid"],
        freq_mhz=int(values.get("freq_mhz", "0")),
        signal_dbm=float(values["signal_dbm"]) if "signal_dbm" in values else None,
        ssid=values.get("ssid", ""),
        ds_channel=number("ds_channel"),
        primary_channel=number("primary_channel"),
    )


def ap_scan(guest: Guest, iface: str, freq_mhz: int) -> list[ScannedBss]:
    """A passive scan of `freq_mhz` by the AP on `iface` (it stays on its channel), then what it heard."""
    sh = (
        f"iw dev {iface} scan flush >/dev/null 2>&1; "
        f"iw dev {iface} scan trigger ap-force freq {freq_mhz} passive && sleep {SCAN_SETTLE_S} && "
        f"iw dev {iface} scan dump"
    )
    out = guest.run(sh, timeout=20.0).check(f"AP scan of {freq_mhz} MHz on {iface}")
    return parse_scan_dump(out)
