"""A trap/inform receiver (pysnmp ntfrcv) that turns radio notifications into DriverEvents.

One receiver listens on one UDP endpoint and can serve several drivers (a WLC sends the traps of
all its APs to one port): each driver subscribes with its profile's :class:`TrapMap` and the
radios it manages, keyed by their MAC+slot index. ``bsnRadarChannelDetected`` becomes DFS_RADAR
on the channel the trap names, ``bsnAPCurrentChannelChanged`` becomes CHANNEL_SWITCHED, and
``bsnRadarChannelCleared`` is noted without an event. Anything else is counted in ``dropped`` by
reason, never raised: unknown trap OIDs, known traps for radios nobody manages, malformed varbinds.

v2c traps are accepted with the configured community; v3 informs with the configured user; v3
*traps* also need the sender's engine id (``engine_id``), since the sender is authoritative.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config
from pysnmp.entity.rfc3413 import ntfrcv
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine
from pysnmp.proto.rfc1902 import OctetString

from drivers.protocol import DriverEvent, DriverUnavailable
from drivers.snmp.client import UsmCredentials, VarBind, decode_varbind, usm_protocols
from drivers.snmp.oid_profiles import Oid, TrapMap, format_oid, split_mac_slot
from radio_domain.events import EventType

log = logging.getLogger(__name__)

SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)  # snmpTrapOID.0


@dataclass(frozen=True, slots=True)
class TrapListen:
    """Where to listen and whom to believe; secrets are left out of repr."""

    host: str
    port: int
    community: str | None = field(default=None, repr=False)
    usm: UsmCredentials | None = None
    engine_id: bytes | None = None


@dataclass(frozen=True, slots=True)
class Notification:
    trap_oid: Oid
    varbinds: tuple[VarBind, ...]
    source: str


@dataclass(frozen=True, slots=True)
class RadioTrap:
    """A recognised radio notification: which one, for which index, on which channel."""

    kind: str  # radar_detected | radar_cleared | channel_changed
    index: Oid
    channel: int


def notification_from(varbinds: Sequence[VarBind], source: str) -> Notification | None:
    """The notification named by snmpTrapOID.0 among the varbinds; None when it has none."""
    for vb in varbinds:
        if vb.oid == SNMP_TRAP_OID and isinstance(vb.value, tuple):
            return Notification(vb.value, tuple(varbinds), source)
    return None


def decode_radio_trap(notification: Notification, traps: TrapMap) -> RadioTrap | str:
    """The radio trap, or the reason it is not one (``unknown trap`` or what is malformed)."""
    kinds = {
        traps.radar_detected: "radar_detected",
        traps.radar_cleared: "radar_cleared",
        traps.channel_changed: "channel_changed",
    }
    kind = kinds.get(notification.trap_oid)
    if kind is None:
        return "unknown trap"
    mac = _value_under(notification.varbinds, traps.mac)
    slot = _value_under(notification.varbinds, traps.slot)
    channel = _value_under(notification.varbinds, traps.channel)
    if not isinstance(channel, int):
        return f"malformed: no integer channel varbind under {format_oid(traps.channel)}"
    if isinstance(mac, bytes) and len(mac) == 6 and isinstance(slot, int):
        return RadioTrap(kind, (*mac, slot), channel)
    suffix = _suffix_under(notification.varbinds, traps.channel)
    try:
        split_mac_slot(suffix)
    except ValueError:
        return "malformed: no MAC and slot varbinds, and the channel varbind carries no MAC+slot index"
    return RadioTrap(kind, suffix, channel)


def _value_under(varbinds: Sequence[VarBind], column: Oid) -> object:
    for vb in varbinds:
        if vb.oid[: len(column)] == column:
            return vb.value
    return None


def _suffix_under(varbinds: Sequence[VarBind], column: Oid) -> Oid:
    for vb in varbinds:
        if vb.oid[: len(column)] == column:
            return vb.oid[len(column) :]
    return ()


_EVENT_OF = {"radar_detected": EventType.DFS_RADAR, "channel_changed": EventType.CHANNEL_SWITCHED}


def event_for(trap: RadioTrap, radio_id: str, now: float, source: str) -> DriverEvent | None:
    event_type = _EVENT_OF.get(trap.kind)
    if event_type is None:
        return None
    return DriverEvent(
        radio_id=radio_id,
        type=event_type,
        timestamp=now,
        channel=trap.channel,
        metadata={"source": "snmp-trap", "trap": trap.kind, "sender": source},
    )


@dataclass(eq=False, slots=True)
class TrapSubscription:
    """One driver's radios: index -> radio id, and where its events go."""

    traps: TrapMap
    radios: Mapping[Oid, str]
    sink: Callable[[DriverEvent], None]
    now: Callable[[], float]


class TrapReceiver:
    def __init__(self, listen: TrapListen) -> None:
        self.listen = listen
        self.port = listen.port
        self.received = 0
        self.dropped: Counter[str] = Counter()
        self._subscriptions: list[TrapSubscription] = []
        self._engine: SnmpEngine | None = None
        self._receiver: ntfrcv.NotificationReceiver | None = None

    def __repr__(self) -> str:
        return f"TrapReceiver({self.listen.host}:{self.port})"

    async def start(self) -> int:
        """Bind and start receiving; returns the bound UDP port (useful with port 0)."""
        where = f"{self.listen.host}:{self.listen.port}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((self.listen.host, self.listen.port))
        except OSError as exc:
            sock.close()
            raise DriverUnavailable(where, "listen for traps", f"cannot bind UDP {where}: {exc.strerror}") from None
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        engine = SnmpEngine()
        config.add_transport(engine, udp.DOMAIN_NAME, udp.UdpAsyncioTransport().open_server_mode(sock=sock))
        if self.listen.community is not None:
            config.add_v1_system(engine, "rrm-traps", self.listen.community)
        if self.listen.usm is not None:
            auth, priv = usm_protocols(self.listen.usm)
            engine_id = OctetString(self.listen.engine_id) if self.listen.engine_id else None
            config.add_v3_user(
                engine,
                self.listen.usm.user,
                auth,
                self.listen.usm.auth_key,
                priv,
                self.listen.usm.priv_key or None,
                securityEngineId=engine_id,
            )
        self._receiver = ntfrcv.NotificationReceiver(engine, self._on_notification)
        self._engine = engine
        log.info("receiving SNMP traps on %s:%d", self.listen.host, self.port)
        return self.port

    def subscribe(self, subscription: TrapSubscription) -> None:
        self._subscriptions.append(subscription)

    def unsubscribe(self, subscription: TrapSubscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def _on_notification(  # pysnmp's callback: its objects are untyped
        self, engine: Any, state_reference: Any, _ctx_engine: Any, _ctx: Any, varbinds: Iterable[Any], _cb: Any
    ) -> None:
        self.received += 1
        try:
            source = self._source(engine, state_reference)
            decoded = [decode_varbind(oid, value) for oid, value in varbinds]
            notification = notification_from(decoded, source)
            if notification is None:
                self._drop("no snmpTrapOID", source)
                return
            self.dispatch(notification)
        except Exception:  # a bad notification must never stop the receiver
            log.exception("could not process an SNMP notification")
            self._drop("malformed", "?")

    def dispatch(self, notification: Notification) -> None:
        """Hand a notification to the subscriber that manages its radio, or count why not."""
        reason = "unknown trap"
        for sub in self._subscriptions:
            trap = decode_radio_trap(notification, sub.traps)
            if isinstance(trap, str):
                reason = trap if reason == "unknown trap" else reason
                continue
            radio_id = sub.radios.get(trap.index)
            if radio_id is None:
                reason = "radio not managed here"
                continue
            event = event_for(trap, radio_id, sub.now(), notification.source)
            log.info("%s: trap %s on channel %d from %s", radio_id, trap.kind, trap.channel, notification.source)
            if event is not None:
                sub.sink(event)
            return
        self._drop(reason, notification.source, notification.trap_oid)

    def _drop(self, reason: str, source: str, trap_oid: Oid = ()) -> None:
        self.dropped[reason] += 1
        log.debug("dropped SNMP notification %s from %s: %s", format_oid(trap_oid) or "?", source, reason)

    @staticmethod
    def _source(engine: Any, state_reference: Any) -> str:
        _domain, address = engine.message_dispatcher.get_transport_info(state_reference)
        return f"{address[0]}:{address[1]}"

    async def close(self) -> None:
        self._subscriptions.clear()
        if self._engine is not None:
            if self._receiver is not None:
                self._receiver.close(self._engine)
            self._engine.close_dispatcher()
            self._engine = None
