"""``hostapd://`` URLs and opening a HostapdDriver from one.

``hostapd:///var/run/hostapd/wlan0?ap=ap-7&region=ETSI`` names hostapd's control socket: the folder
of its ``ctrl_interface`` and the interface name. Optional query keys:

- ``ap``: the AP id in the radio id ``<ap>/<band>``. Default: this host's name, so the radios of
  one AP host (one hostapd interface per band) share an AP id. ``open_hostapd_driver(ap_id=...)``
  overrides both (an agent passes its own id).
- ``region``: FCC, ETSI or JP, the channel plan for capabilities and CHAN_SWITCH geometry. Default:
  none, meaning the widest plan of the band; the kernel and hostapd still refuse what is illegal.
- ``spectral``: an absolute path to read spectral-scan samples from, as they come: the radio's debugfs
  relay file (``/sys/kernel/debug/ieee80211/phy0/ath9k/spectral_scan0``, ath10k ``.../ath10k/...``),
  or a FIFO or growing file in that format. The driver then classifies them over a sliding window and
  raises NON_WIFI_BURST (spectral_source.py). It does not start the scan (``spectral_scan_ctl``).
- ``scan_interval``: seconds between the AP's own passive scans of its channel for neighbours
  (nl80211_scan.py; each takes the radio off beaconing for one ~110 ms dwell). Default 300; 0 turns
  them off. The NEIGHBOURS reading is advertised only when the first scan, at open, works (not on a
  DFS channel under radar detection, where the kernel refuses).

There is no host part: the control socket is a local AF_UNIX socket.
"""

from __future__ import annotations

import contextlib
import re
import socket
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from drivers.hostapd.control import HostapdControl
from drivers.hostapd.driver import KEEPALIVE_S, HostapdDriver
from drivers.hostapd.messages import parse_status
from drivers.hostapd.neighbour_scan import DEFAULT_SCAN_INTERVAL_S, ScanSchedule
from drivers.hostapd.nl80211 import Nl80211Error, Nl80211Radio, Nl80211Unavailable, open_nl80211
from drivers.hostapd.nl80211_decode import RegulatoryDomain
from drivers.hostapd.nl80211_scan import open_neighbour_source
from drivers.hostapd.radio_facts import Nl80211Facts, capabilities, radio_band
from drivers.hostapd.telemetry import operating_entry
from drivers.protocol import RadioCapabilities, RadioInfo, Reading
from radio_domain.radio import make_radio_id
from radio_domain.regulatory import Region, RegulatoryError, parse_region
from rrm.clock import Clock

_IFNAME = re.compile(r"^[A-Za-z0-9_.:\-]{1,15}$")
_AP_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_QUERY_KEYS = ("ap", "region", "spectral", "scan_interval")


@dataclass(frozen=True, slots=True)
class HostapdTarget:
    ctrl_dir: Path
    ifname: str
    ap_id: str
    region: Region | None = None
    spectral: Path | None = None  # spectral-scan samples to read (debugfs relay file, FIFO)
    scan_interval_s: float = DEFAULT_SCAN_INTERVAL_S  # neighbour scans; 0: none

    @property
    def ctrl_path(self) -> Path:
        return self.ctrl_dir / self.ifname


def parse_hostapd_url(url: str) -> HostapdTarget:
    """The target a ``hostapd:///<ctrl_dir>/<ifname>[?ap=..&region=..]`` URL names; ValueError naming the problem."""
    parts = urlsplit(url)
    if parts.scheme != "hostapd":
        raise ValueError(f"{url!r}: scheme must be hostapd (hostapd:///var/run/hostapd/wlan0)")
    if parts.netloc:
        raise ValueError(
            f"{url!r}: no host allowed ({parts.netloc!r}); the control socket is local: hostapd:///<dir>/<if>"
        )
    if parts.fragment:
        raise ValueError(f"{url!r}: a fragment (#{parts.fragment}) means nothing here")
    path = Path(unquote(parts.path))
    if not path.is_absolute() or len(path.parts) < 3:
        raise ValueError(f"{url!r}: path must be /<ctrl_dir>/<ifname>, e.g. /var/run/hostapd/wlan0")
    if not _IFNAME.match(path.name):
        raise ValueError(f"{url!r}: {path.name!r} is not an interface name (1-15 letters, digits, _ . : -)")
    try:
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ValueError(f"{url!r}: query {parts.query!r} is not key=value&key=value") from None
    unknown = sorted(set(query) - set(_QUERY_KEYS))
    if unknown:
        raise ValueError(f"{url!r}: unknown query keys {unknown}; expected {', '.join(_QUERY_KEYS)}")
    repeated = sorted(k for k, v in query.items() if len(v) > 1)
    if repeated:
        raise ValueError(f"{url!r}: query keys {repeated} given more than once")
    ap_id = query["ap"][0] if "ap" in query else socket.gethostname()
    if not _AP_ID.match(ap_id):
        raise ValueError(f"{url!r}: AP id {ap_id!r} must be 1-64 letters, digits, _ . : - (no '/')")
    region = None
    if "region" in query:
        try:
            region = parse_region(query["region"][0])
        except RegulatoryError as exc:
            raise ValueError(f"{url!r}: {exc}") from None
    spectral = None
    if "spectral" in query:
        spectral = Path(query["spectral"][0])
        if not spectral.is_absolute():
            raise ValueError(f"{url!r}: spectral={spectral} must be an absolute path (spectral=/sys/kernel/debug/...)")
    scan_interval = _scan_interval(url, query["scan_interval"][0]) if "scan_interval" in query else None
    return HostapdTarget(
        path.parent, path.name, ap_id, region, spectral,
        DEFAULT_SCAN_INTERVAL_S if scan_interval is None else scan_interval,
    )  # fmt: skip


def _scan_interval(url: str, text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not (seconds == 0 or 10 <= seconds <= 86400):
        raise ValueError(f"{url!r}: scan_interval={text!r} must be 0 (no neighbour scans) or 10-86400 seconds")
    return seconds


async def open_hostapd_driver(
    target: HostapdTarget, *, clock: Clock, ap_id: str | None = None, keepalive_s: float = KEEPALIVE_S
) -> HostapdDriver:
    """Connect, ATTACH, read STATUS to learn the radio, open nl80211 if the kernel has it.

    DriverUnavailable (naming the AP and the command) when hostapd is not there or answers garbage.
    """
    ap = ap_id or target.ap_id
    control = await HostapdControl.connect(target.ctrl_path, ap)
    nl: Nl80211Radio | None = None
    try:
        await control.attach()
        status = parse_status(await control.request("STATUS"), ap)
        band = radio_band(status, ap)
        radio_id = make_radio_id(ap, band)
        control.who = radio_id
        nl, reason = await _open_nl80211(target.ifname)
        facts = await _nl80211_facts(nl, status.freq_mhz) if nl is not None else None
        info = RadioInfo(radio_id, ap, band, capabilities(band, status, target.region, facts))
        spectral = None
        if target.spectral is not None:
            from drivers.hostapd.spectral_source import (  # noqa: PLC0415 - numpy only when asked for
                SpectralFileSource,
                with_spectrum,
            )

            spectral = SpectralFileSource(target.spectral, radio_id, clock=clock)
            info = RadioInfo(radio_id, ap, band, with_spectrum(info.capabilities))
        neighbours = None
        if nl is not None and target.scan_interval_s > 0:
            neighbours = await open_neighbour_source(
                nl.ifname, nl.ifindex, radio_id, ScanSchedule(target.scan_interval_s),
                now=clock.now(), freq_mhz=status.freq_mhz, own=status.bssids,
            )  # fmt: skip
        if neighbours is not None:
            info = RadioInfo(radio_id, ap, band, with_reading(info.capabilities, Reading.NEIGHBOURS))
        driver = HostapdDriver(
            control,
            info,
            status,
            clock=clock,
            region=target.region,
            nl80211=nl,
            nl80211_reason=reason,
            keepalive_s=keepalive_s,
            spectral=spectral,
            neighbours=neighbours,
        )
        await driver.start()
    except BaseException:
        await control.close()
        if nl is not None:
            nl.close()
        raise
    return driver


async def _open_nl80211(ifname: str) -> tuple[Nl80211Radio | None, str]:
    try:
        return await open_nl80211(ifname), ""
    except Nl80211Unavailable as exc:
        return None, f"no nl80211: {exc}"


async def _nl80211_facts(nl: Nl80211Radio, freq_mhz: int) -> Nl80211Facts:
    """Probe once which readings nl80211 gives for this interface (hwsim's survey, for one, is empty)."""
    try:
        iface = await nl.interface()
        entry = operating_entry(await nl.survey(), freq_mhz or iface.freq_mhz)
        domain: RegulatoryDomain | None = None
        with contextlib.suppress(Nl80211Error):
            domain = await nl.regulatory()
    except Nl80211Error:
        return Nl80211Facts(tx_power=False, utilisation=False, noise=False)
    max_eirp = None
    if domain is not None and iface.freq_mhz is not None:
        max_eirp = domain.max_eirp_dbm(iface.freq_mhz - 10, iface.freq_mhz + 10)
    return Nl80211Facts(
        tx_power=iface.tx_power_dbm is not None,
        utilisation=entry is not None and entry.active_ms is not None and entry.busy_ms is not None,
        noise=entry is not None and entry.noise_dbm is not None,
        max_eirp_dbm=max_eirp,
    )


def with_reading(caps: RadioCapabilities, reading: Reading) -> RadioCapabilities:
    return replace(caps, reads=caps.reads | {reading})
