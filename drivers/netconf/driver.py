"""NetconfDriver: drivers.protocol.RadioDriver for one OpenConfig access point over NETCONF.

state() is one ``get`` of the AP's radios: operational state and neighbours where the AP serves
them (RadioCapabilities.reads says which), config only where it does not (netconfd without SIL
code). apply() is a confirmed-commit transaction (apply_transaction.py). Events:

* with RFC 5277 :notification, the driver subscribes; an RFC 6470 netconf-config-change from
  another session makes it re-read, and a channel or width it did not set becomes CHANNEL_SWITCHED;
  our radar-detected notification (notifications.py) becomes DFS_RADAR with the radar channel;
* every read also compares with what the driver last saw, so without notifications a new
  ``dfs-hit-time`` becomes DFS_RADAR and a foreign channel change CHANNEL_SWITCHED at the next
  state() (change_detection.py; one hit gives one event whichever path sees it first).

A lost session is reopened by the next call (and the subscription renewed); until then calls raise
DriverUnavailable. OBSS-PD, client steering and the radar fallback list are CapabilityRefused: the
OpenConfig radio model has no leaf for them (``allowed-channels`` is operator policy, not a
fallback list, and is left alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

from lxml import etree

from drivers.event_buffer import DriverEventBuffer
from drivers.netconf.apply_transaction import apply_confirmed, check_change
from drivers.netconf.change_detection import RadioMemory, observe
from drivers.netconf.discovery import ManagedRadio, choose_hostname, managed_radios
from drivers.netconf.notifications import RADAR_CAPABILITY, ConfigChangeNotice, RadarNotice, parse_notification
from drivers.netconf.openconfig_names import OpenConfigReplyError
from drivers.netconf.openconfig_xml import OcRadio, hostnames_filter, parse_hostnames, parse_radios, radios_filter
from drivers.netconf.radio_translation import radio_config, radio_state
from drivers.netconf.session import NetconfSession
from drivers.netconf.target import NetconfTarget
from drivers.protocol import (
    ApplyResult,
    CapabilityRefused,
    DriverError,
    DriverEvent,
    DriverUnavailable,
    RadioInfo,
    RadioState,
    SteeringOutcome,
)
from radio_domain.radio import ConfigChange
from rrm.clock import Clock

log = logging.getLogger(__name__)

R = TypeVar("R")
NO_MECHANISM = "the OpenConfig access-point model has no {what}"


class NetconfDriver:
    """One OpenConfig AP (one access-point hostname) and its radios. Create with :meth:`open`."""

    def __init__(
        self,
        target: NetconfTarget,
        clock: Clock,
        ap_id: str,
        hostname: str,
        radios: Sequence[ManagedRadio],
        session: NetconfSession,
    ) -> None:
        self.target = target
        self.clock = clock
        self.ap_id = ap_id
        self.hostname = hostname
        self._radios = tuple(radios)
        self._by_id = {r.radio_id: r for r in self._radios}
        self._session: NetconfSession | None = session
        self._lock = asyncio.Lock()
        self._memory: dict[str, RadioMemory] = {}
        self._buffer = DriverEventBuffer(ap_id)
        self._notices: asyncio.Queue[etree._Element] = asyncio.Queue()
        self._notice_task: asyncio.Task[None] | None = None
        self._closed = False
        self.subscribed = False

    @classmethod
    async def open(cls, target: NetconfTarget, *, clock: Clock, ap_id: str | None = None) -> NetconfDriver:
        """Connect, choose the access point, discover its radios and subscribe to notifications."""
        subject = ap_id or target.hostname or target.label
        session = await NetconfSession.open(target, subject)
        try:
            data = await session.get(subject, "discover access points", hostnames_filter(), config_only=True)
            hostname = choose_hostname(
                _parsed(parse_hostnames, data, target.label, subject), target.hostname, target.label
            )
            ap_id = ap_id or hostname
            records = await _read_radios(session, hostname, ap_id, "discover radios")
            radios, skipped = managed_radios(records, ap_id, pushes_radar=session.offers(RADAR_CAPABILITY))
            if not radios:
                left_out = "; ".join(skipped) or "it lists none"
                raise DriverUnavailable(ap_id, "discover radios", f"no radio this driver can manage ({left_out})")
        except BaseException:
            await session.close()
            raise
        for line in skipped:
            log.warning("NETCONF %s (%s): %s; not managed", target.label, hostname, line)
        driver = cls(target, clock, ap_id, hostname, radios, session)
        try:
            driver._remember(records, observe_changes=False)
            await driver._subscribe(session)
        except BaseException as exc:
            await driver.close()
            if isinstance(exc, OpenConfigReplyError):
                raise DriverUnavailable(ap_id, "discover radios", str(exc)) from exc
            raise
        return driver

    @property
    def name(self) -> str:
        return "netconf"

    @property
    def session_id(self) -> str | None:
        """The server's id for the current session (None while disconnected)."""
        return None if self._session is None else self._session.session_id

    def radios(self) -> Sequence[RadioInfo]:
        return [r.info for r in self._radios]

    async def state(self) -> Sequence[RadioState]:
        async with self._lock:
            records = await self._read("state")
            now = self.clock.now()
            try:
                states = [radio_state(r.radio_id, _record(records, r), self.hostname, now) for r in self._radios]
                self._remember(records)
            except OpenConfigReplyError as exc:
                raise DriverUnavailable(self.ap_id, "state", str(exc)) from exc
            return states

    async def apply(self, radio_id: str, change: ConfigChange) -> ApplyResult:
        radio = self._managed("apply", radio_id)
        check_change(radio_id, change)
        async with self._lock:
            session = await self._connected("apply", radio_id)
            try:
                result, after = await apply_confirmed(session, self.hostname, radio, change, self.clock)
            finally:
                if not session.connected:
                    self._session = None
            previous = self._memory.get(radio_id)
            self._memory[radio_id] = RadioMemory(
                config=after,
                dfs_hit_time_ns=None if previous is None else previous.dfs_hit_time_ns,
                channel_change_reason=None if previous is None else previous.channel_change_reason,
            )
            return result

    async def steer_client(self, radio_id: str, client_id: str, target_radio_id: str) -> SteeringOutcome:
        self._managed("steer", radio_id)
        raise CapabilityRefused(radio_id, "steer", NO_MECHANISM.format(what="BSS transition request"))

    async def set_fallback_channels(self, radio_id: str, channels: Sequence[int]) -> None:
        self._managed("set fallback channels", radio_id)
        raise CapabilityRefused(
            radio_id,
            "set fallback channels",
            NO_MECHANISM.format(what="radar fallback list (allowed-channels is policy)"),
        )

    def events(self) -> AsyncIterator[DriverEvent]:
        """Events as they happen; ends after close() once the buffer is drained."""
        return self._buffer.drain()

    async def close(self) -> None:
        self._closed = True
        self._buffer.close()
        if self._notice_task is not None:
            self._notice_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._notice_task
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    # ------------------------------------------------------------ internals

    async def _connected(self, operation: str, subject: str) -> NetconfSession:
        if self._closed:
            raise DriverUnavailable(subject, operation, "the driver is closed")
        if self._session is not None and self._session.connected:
            return self._session
        if self._session is not None:
            await self._session.drop()
            self._session = None
        log.warning("NETCONF %s (%s): session lost; reconnecting", self.target.label, self.ap_id)
        session = await NetconfSession.open(self.target, subject)
        self._session = session
        await self._subscribe(session)
        return session

    async def _read(self, operation: str) -> dict[tuple[int, str], OcRadio]:
        session = await self._connected(operation, self.ap_id)
        try:
            records = await _read_radios(session, self.hostname, self.ap_id, operation)
        finally:
            if not session.connected:
                self._session = None
        return {(r.key.radio_index, r.key.frequency): r for r in records}

    def _remember(
        self,
        records: dict[tuple[int, str], OcRadio] | tuple[OcRadio, ...],
        notice: RadarNotice | None = None,
        observe_changes: bool = True,
    ) -> None:
        by_key = records if isinstance(records, dict) else {(r.key.radio_index, r.key.frequency): r for r in records}
        now = self.clock.now()
        for radio in self._radios:
            record = by_key.get((radio.key.radio_index, radio.key.frequency))
            if record is None:
                continue
            state = record.state
            current = RadioMemory(
                config=radio_config(record, self.hostname),
                dfs_hit_time_ns=None if state is None else state.dfs_hit_time_ns,
                channel_change_reason=None if state is None else state.channel_change_reason,
            )
            mine = notice is not None and notice.radio_index == radio.key.radio_index
            previous = self._memory.get(radio.radio_id)
            self._memory[radio.radio_id] = current
            if observe_changes:
                self._publish(observe(radio.radio_id, previous, current, now, notice if mine else None))

    def _publish(self, events: Sequence[DriverEvent]) -> None:
        for event in events:
            self._buffer.put(event)
            log.info("NETCONF %s: %s on %s (channel %d)", self.ap_id, event.type.value, event.radio_id, event.channel)

    async def _subscribe(self, session: NetconfSession) -> None:
        self.subscribed = await session.subscribe(self._notices.put_nowait, self._session_lost)
        if self.subscribed and self._notice_task is None:
            self._notice_task = asyncio.get_running_loop().create_task(self._handle_notices())

    def _session_lost(self) -> None:
        log.warning("NETCONF %s (%s): the session ended; the next call reconnects", self.target.label, self.ap_id)

    async def _handle_notices(self) -> None:
        while not self._closed:
            root = await self._notices.get()
            try:
                await self._handle_notice(root)
            except (DriverError, OpenConfigReplyError) as exc:
                log.warning("NETCONF %s: could not act on a notification: %s", self.ap_id, exc)
            except Exception:  # keep serving later notifications
                log.exception("NETCONF %s: notification handling failed", self.ap_id)

    async def _handle_notice(self, root: etree._Element) -> None:
        notice = parse_notification(root, self.target.label)
        if isinstance(notice, ConfigChangeNotice):
            if self._session is not None and notice.session_id == self._session.session_id:
                return  # our own commit: apply() already knows
            notice_for_radar = None
        elif isinstance(notice, RadarNotice) and notice.hostname == self.hostname:
            notice_for_radar = notice
        else:
            return
        async with self._lock:
            self._remember(await self._read("re-read after a notification"), notice_for_radar)

    def _managed(self, operation: str, radio_id: str) -> ManagedRadio:
        if self._closed:
            raise DriverUnavailable(radio_id, operation, "the driver is closed")
        radio = self._by_id.get(radio_id)
        if radio is None:
            raise CapabilityRefused(radio_id, operation, f"not a radio of this driver (it has {sorted(self._by_id)})")
        return radio


async def _read_radios(session: NetconfSession, hostname: str, subject: str, operation: str) -> tuple[OcRadio, ...]:
    data = await session.get(subject, operation, radios_filter(hostname))
    return _parsed(lambda d, _: parse_radios(d, hostname), data, hostname, subject)


def _parsed(parse: Callable[[etree._Element, str], R], data: etree._Element, source: str, subject: str) -> R:
    try:
        return parse(data, source)
    except OpenConfigReplyError as exc:
        raise DriverUnavailable(subject, "read", str(exc)) from exc


def _record(records: dict[tuple[int, str], OcRadio], radio: ManagedRadio) -> OcRadio:
    record = records.get((radio.key.radio_index, radio.key.frequency))
    if record is None:
        raise DriverUnavailable(radio.radio_id, "state", f"the AP no longer lists {radio.key.describe()}")
    return record
