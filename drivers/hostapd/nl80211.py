"""nl80211 for one hostapd interface through pyroute2's AsyncIW: reads, tx power and radar multicasts.

This is the I/O shim; every message is decoded by :mod:`drivers.hostapd.nl80211_decode`. Where the
kernel has no nl80211 (no cfg80211: pyroute2 raises NetlinkError ENOENT) or the interface is not a
wireless one (hostapd ``driver=none``), :func:`open_nl80211` says why and the driver works from
hostapd alone. Channel and width are hostapd's (CHAN_SWITCH); nl80211 only reads, sets tx power
(hostapd has no command for it) and reports radar.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

from pyroute2 import AsyncIW
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.nl80211 import AsyncNL80211

from drivers.hostapd.nl80211_decode import (
    InterfaceEntry,
    RadarNotice,
    RegulatoryDomain,
    StationEntry,
    SurveyEntry,
    decode_interface,
    decode_mlme,
    decode_regulatory,
    decode_station,
    decode_survey,
    tx_power_mbm,
)

log = logging.getLogger(__name__)

NL80211_TX_POWER_FIXED = 2


class Nl80211Unavailable(Exception):
    """nl80211 cannot serve this interface; the message says why."""


class Nl80211Error(Exception):
    """An nl80211 request failed; the message names the request and the kernel's answer."""


class Nl80211Radio:
    """One wireless interface (``ifindex`` on ``wiphy``)."""

    def __init__(self, iw: Any, ifname: str, ifindex: int, wiphy: int) -> None:
        self._iw = iw
        self.ifname = ifname
        self.ifindex = ifindex
        self.wiphy = wiphy

    async def interface(self) -> InterfaceEntry:
        for msg in await self._call("get interface", self._iw.get_interface_by_ifindex(self.ifindex)):
            entry = decode_interface(msg)
            if entry is not None:
                return entry
        raise Nl80211Error(f"get interface {self.ifname}: the kernel returned no interface")

    async def survey(self) -> list[SurveyEntry]:
        messages = await self._dump("survey dump", self._iw.survey(self.ifindex))
        return [e for e in (decode_survey(m) for m in messages) if e is not None]

    async def stations(self) -> list[StationEntry]:
        messages = await self._dump("station dump", self._iw.get_stations(self.ifindex))
        return [e for e in (decode_station(m) for m in messages) if e is not None]

    async def regulatory(self) -> RegulatoryDomain | None:
        for msg in await self._call("get regulatory", self._iw.get_regulatory_domain(self.wiphy)):
            domain = decode_regulatory(msg)
            if domain is not None:
                return domain
        return None

    async def set_tx_power(self, dbm: float) -> None:
        """Fix the transmit power (``iw dev X set txpower fixed <mBm>``), in whole dBm rounded down (mac80211's rule).

        The kernel may hold less than asked (the channel's limit); read it back with :meth:`interface`.
        """
        try:
            mbm = tx_power_mbm(dbm)
        except ValueError as exc:
            raise Nl80211Error(f"set tx power on {self.ifname}: {exc}") from None
        await self._call(f"set tx power {mbm} mBm", self._iw.set_tx_power(self.ifindex, NL80211_TX_POWER_FIXED, mbm))

    async def radar_notices(self) -> AsyncIterator[RadarNotice]:
        """Radar multicasts (group "mlme") for this wiphy, as they come; a separate socket."""
        sock = AsyncNL80211()
        try:
            await sock.bind()
            sock.add_membership("mlme")
            while True:
                async for msg in sock.get():
                    try:
                        notice = decode_mlme(msg)
                    except ValueError as exc:
                        log.warning("%s: unreadable radar multicast: %s", self.ifname, exc)
                        continue
                    if notice is not None and notice.wiphy in (None, self.wiphy):
                        yield notice
        except NetlinkError as exc:
            raise Nl80211Error(f"mlme multicast on {self.ifname}: {exc}") from None
        finally:
            sock.close()

    def close(self) -> None:
        self._iw.close()

    async def _call(self, what: str, pending: Any) -> list[Any]:
        try:
            return list(await pending)
        except (NetlinkError, OSError) as exc:
            raise Nl80211Error(f"{what} on {self.ifname}: {exc}") from None

    async def _dump(self, what: str, pending: Any) -> list[Any]:
        try:
            return [m async for m in await pending]
        except (NetlinkError, OSError) as exc:
            raise Nl80211Error(f"{what} on {self.ifname}: {exc}") from None


async def open_nl80211(ifname: str) -> Nl80211Radio:
    """nl80211 for ``ifname``; Nl80211Unavailable naming the reason when there is none."""
    iw = AsyncIW()
    try:
        await iw.setup_endpoint()
    except NetlinkError as exc:
        iw.close()
        if exc.code == errno.ENOENT:
            raise Nl80211Unavailable("the kernel has no nl80211 (cfg80211 is not loaded)") from None
        raise Nl80211Unavailable(f"nl80211 refused us: {exc}") from None
    try:
        ifindex = socket.if_nametoindex(ifname)
    except OSError:
        iw.close()
        raise Nl80211Unavailable(f"there is no network interface {ifname!r} (hostapd driver=none?)") from None
    radio = Nl80211Radio(iw, ifname, ifindex, wiphy=-1)
    try:
        entry = await radio.interface()
    except Nl80211Error as exc:
        iw.close()
        raise Nl80211Unavailable(f"{ifname} is not a wireless interface: {exc}") from None
    radio.wiphy = entry.wiphy
    return radio
