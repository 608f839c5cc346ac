"""The AP's own passive scan of its channel through nl80211, and the NEIGHBOURS reading built on it (I/O shim).

pyroute2 0.9.7's ``scan()`` has no AP flag and no frequency list, so this sends its own
NL80211_CMD_TRIGGER_SCAN (NL80211_SCAN_FLAG_AP, SCAN_FREQUENCIES = the operating frequency, no SSIDs:
passive, since a neighbour is heard by its beacons) on a socket of its own, waits for the "scan"
multicast NEW_SCAN_RESULTS (or SCAN_ABORTED) for this interface, then dumps NL80211_CMD_GET_SCAN and
hands each message's bytes to :mod:`drivers.hostapd.scan_results`. The kernel refuses with EBUSY
while radar detection holds a DFS channel (an AP there cannot leave it, not even for a dwell) and
with EOPNOTSUPP where the driver cannot scan as an AP; both are :class:`ScanRefused`.
:class:`NeighbourSource` applies the rate limit (neighbour_scan.py) and logs each refusal once.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import Collection, Sequence
from typing import Any

from pyroute2 import AsyncIW
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.nl80211 import NL80211_NAMES, AsyncNL80211, nl80211cmd

from drivers.hostapd.neighbour_scan import ScanSchedule
from drivers.hostapd.nl80211 import Nl80211Error
from drivers.hostapd.scan_results import ScanDumpError, ScannedBss, decode_scan_message, neighbours, scan_frequencies
from drivers.protocol import NeighborObservation

log = logging.getLogger(__name__)

NL80211_SCAN_FLAG_AP = 1 << 2
SCAN_TIMEOUT_S = 5.0  # one passive dwell is ~110 ms; generous for a QEMU guest under TCG
AGE_SLACK_MS = 500  # a BSS heard this long before the trigger still counts as heard by this scan


class ScanRefused(Nl80211Error):
    """The kernel would not scan (``code`` is its errno: EBUSY on a DFS channel, EOPNOTSUPP, EPERM)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def raw_message(msg: Any) -> bytes:
    """The bytes the kernel sent for one parsed pyroute2 message (header included)."""
    return bytes(msg.data[msg.offset : msg.offset + msg.length])


class ApScanner:
    """Passive AP scans of ``ifname`` on a netlink socket of its own."""

    def __init__(self, iw: Any, ifname: str, ifindex: int) -> None:
        self._iw = iw
        self.ifname = ifname
        self.ifindex = ifindex
        self.last_raw: list[bytes] = []  # the last dump's messages, as the kernel sent them
        self.last_duration_s = 0.0  # trigger sent to results announced (monotonic)

    @classmethod
    async def open(cls, ifname: str, ifindex: int) -> ApScanner:
        iw = AsyncIW()
        try:
            await iw.setup_endpoint()
        except NetlinkError as exc:
            iw.close()
            raise Nl80211Error(f"scan socket for {ifname}: {exc}") from None
        return cls(iw, ifname, ifindex)

    async def scan(self, freqs_mhz: Sequence[int], timeout_s: float = SCAN_TIMEOUT_S) -> list[ScannedBss]:
        """Trigger, wait for the results, dump them; ScanRefused or Nl80211Error naming what failed."""
        what = f"AP scan of {list(freqs_mhz)} MHz on {self.ifname}"
        listener = AsyncNL80211()
        try:
            await listener.bind()
            listener.add_membership("scan")
            started = time.monotonic()
            await self._trigger(freqs_mhz, what)
            try:
                await asyncio.wait_for(self._finished(listener, what), timeout_s)
            except TimeoutError:
                raise Nl80211Error(f"{what}: no results within {timeout_s:g} s") from None
            self.last_duration_s = time.monotonic() - started
            request = nl80211cmd()
            request["cmd"] = NL80211_NAMES["NL80211_CMD_GET_SCAN"]
            request["attrs"] = [["NL80211_ATTR_IFINDEX", self.ifindex]]
            self.last_raw = [raw_message(m) async for m in await self._iw._do_dump(request)]
        except (NetlinkError, OSError) as exc:
            raise Nl80211Error(f"{what}: {exc}") from None
        finally:
            listener.close()
        return _decode_all(self.last_raw, what)

    async def _trigger(self, freqs_mhz: Sequence[int], what: str) -> None:
        request = nl80211cmd()
        request["cmd"] = NL80211_NAMES["NL80211_CMD_TRIGGER_SCAN"]
        request["attrs"] = [
            ["NL80211_ATTR_IFINDEX", self.ifindex],
            ["NL80211_ATTR_SCAN_FREQUENCIES", scan_frequencies(freqs_mhz)],
            ["NL80211_ATTR_SCAN_FLAGS", NL80211_SCAN_FLAG_AP],
        ]
        try:
            await self._iw._do_request(request)
        except NetlinkError as exc:
            raise ScanRefused(f"{what}: the kernel refused: {exc}", exc.code) from None

    async def _finished(self, listener: AsyncNL80211, what: str) -> None:
        while True:
            batch = listener.get()
            try:
                async for msg in batch:
                    if msg.get_attr("NL80211_ATTR_IFINDEX") != self.ifindex:
                        continue
                    if msg.get("event") == "NL80211_CMD_NEW_SCAN_RESULTS":
                        return
                    if msg.get("event") == "NL80211_CMD_SCAN_ABORTED":
                        raise Nl80211Error(f"{what}: the kernel aborted the scan")
            finally:
                await batch.aclose()

    def close(self) -> None:
        self._iw.close()


def _decode_all(messages: list[bytes], what: str) -> list[ScannedBss]:
    found: list[ScannedBss] = []
    for raw in messages:
        try:
            bss = decode_scan_message(raw)
        except ScanDumpError as exc:
            log.warning("%s: unreadable scan result skipped: %s", what, exc)
            continue
        if bss is not None:
            found.append(bss)
    return found


class NeighbourSource:
    """The NEIGHBOURS reading of one radio: a rate-limited AP scan of its channel, the last result cached."""

    def __init__(self, scanner: ApScanner, schedule: ScanSchedule, radio_id: str) -> None:
        self.scanner = scanner
        self.schedule = schedule
        self.radio_id = radio_id

    async def probe(self, now: float, freq_mhz: int, own_bssids: Collection[str]) -> ScanRefused | None:
        """One scan at open, so the capability is honest; the refusal when it was refused (logged)."""
        try:
            await self._scan(now, freq_mhz, own_bssids)
        except ScanRefused as exc:
            self.schedule.failed(now, _kind(exc))
            log.warning("%s: no neighbour reading: %s", self.radio_id, exc)
            return exc
        except Nl80211Error as exc:
            self.schedule.failed(now, "error")
            log.warning("%s: first neighbour scan failed (will try again): %s", self.radio_id, exc)
        return None

    async def read(self, now: float, freq_mhz: int, own_bssids: Collection[str]) -> tuple[NeighborObservation, ...]:
        """The neighbours heard lately; scans first when one is due (never more often than the schedule allows)."""
        if freq_mhz > 0 and self.schedule.due(now):
            try:
                await self._scan(now, freq_mhz, own_bssids)
            except Nl80211Error as exc:
                kind = _kind(exc) if isinstance(exc, ScanRefused) else "error"
                if self.schedule.failed(now, kind):
                    log.warning("%s: neighbour scan not done (%s): %s", self.radio_id, kind, exc)
        return self.schedule.current(now)

    async def _scan(self, now: float, freq_mhz: int, own_bssids: Collection[str]) -> None:
        results = await self.scanner.scan([freq_mhz])
        max_age = int(self.scanner.last_duration_s * 1000) + AGE_SLACK_MS
        heard = neighbours(results, own_bssids, max_age)
        self.schedule.succeeded(now, heard)
        log.info(
            "%s: neighbour scan of %d MHz: %d BSSs heard in %.0f ms",
            self.radio_id, freq_mhz, len(heard), self.scanner.last_duration_s * 1000,
        )  # fmt: skip

    def close(self) -> None:
        self.scanner.close()


def _kind(exc: ScanRefused) -> str:
    names: dict[int, str] = {errno.EBUSY: "busy", errno.EOPNOTSUPP: "unsupported", errno.EPERM: "not permitted"}
    return names.get(exc.code, f"errno {exc.code}")


async def open_neighbour_source(
    ifname: str, ifindex: int, radio_id: str, schedule: ScanSchedule, *, now: float, freq_mhz: int, own: Collection[str]
) -> NeighbourSource | None:
    """A NeighbourSource when a first scan works (the NEIGHBOURS reading is advertised then), else None (logged)."""
    if freq_mhz <= 0:
        log.info("%s: no neighbour reading: hostapd reports no operating frequency", radio_id)
        return None
    try:
        scanner = await ApScanner.open(ifname, ifindex)
    except Nl80211Error as exc:
        log.warning("%s: no neighbour reading: %s", radio_id, exc)
        return None
    source = NeighbourSource(scanner, schedule, radio_id)
    await source.probe(now, freq_mhz, own)
    if schedule.last_success is None:
        source.close()
        return None
    return source
