"""Open a driver for an AP named by URL: the one place that knows which scheme is which driver.

``hostapd:///var/run/hostapd/wlan0`` (a Linux AP's hostapd control socket, with nl80211 where the
kernel has it; ``?spectral=PATH`` adds a spectral-scan source, ``?scan_interval=S`` paces the AP's
own neighbour scans, 0 turns them off), ``netconf://USER@HOST:PORT`` (an
OpenConfig AP; password from RRM_NETCONF_PASSWORD or ``?key=FILE``), ``snmp://COMMUNITY@HOST:PORT``
(v2c) and ``snmpv3://USER@HOST:PORT`` (v3 authPriv; keys from RRM_SNMP_AUTH_KEY / RRM_SNMP_PRIV_KEY).
Each driver's module parses its own options; secrets never come from the URL text, so URLs can be
logged and shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from drivers.protocol import RadioDriver
from rrm.clock import Clock

SCHEMES = ("hostapd", "netconf", "snmp", "snmpv3")


def url_scheme(url: str) -> str:
    """The URL's driver scheme; ValueError naming the URL when there is none we know."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise ValueError(f"AP URL {url!r}: unknown scheme {scheme + '://' if scheme else '(none)'}; use one of {known}")
    return scheme


async def open_driver_by_url(url: str, *, clock: Clock, env: Mapping[str, str]) -> RadioDriver:
    """Parse ``url`` (ValueError naming what is wrong) and connect (DriverError when the AP fails)."""
    scheme = url_scheme(url)
    if scheme == "hostapd":
        from drivers.hostapd.url import open_hostapd_driver, parse_hostapd_url

        return await open_hostapd_driver(parse_hostapd_url(url), clock=clock)
    if scheme == "netconf":
        from drivers.netconf.url import open_netconf_driver, parse_netconf_url

        return await open_netconf_driver(parse_netconf_url(url, env), clock=clock)
    from drivers.snmp.url import open_snmp_driver, parse_snmp_url

    return await open_snmp_driver(parse_snmp_url(url, env), clock=clock)
