"""SnmpDriver: drivers.protocol.RadioDriver for one AP's radios over SNMP, driven by an OID profile.

At open the profile's channel columns are walked to find the radios (ifIndex, or MAC+slot on a WLC)
and their band; the power-level table and the telemetry columns are probed once, so ``reads`` says
what this AP really answers. ``state`` is one GET for the configuration and telemetry (and one more
for columns indexed by the current channel); counters become rates between readings. ``apply``
SETs channel and tx power in one PDU, verifies the echo, then reads back; width and OBSS-PD are
refused unless the profile names a column. Events come from the trap receiver when configured, else
radar is polled from the profile's radar column on the injected clock; a channel the AP changed on
its own is reported as CHANNEL_SWITCHED when ``state`` sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace

from drivers.event_buffer import DriverEventBuffer
from drivers.protocol import (
    ApplyResult,
    CapabilityRefused,
    ChangeRejected,
    DriverEvent,
    DriverUnavailable,
    RadioInfo,
    RadioState,
    SteeringOutcome,
)
from drivers.snmp.client import Credentials, SnmpClient, VarBind
from drivers.snmp.oid_profiles import (
    ChannelColumn,
    Column,
    Oid,
    OidProfile,
    PowerLevels,
    Telemetry,
    format_mac,
)
from drivers.snmp.radio_mapping import (
    CounterSnapshot,
    DiscoveryProblem,
    FoundRadio,
    SnmpRadio,
    config_oids,
    expected_after,
    find_radios,
    levels_from_mw,
    make_radio,
    parse_config,
    plan_assignments,
    radar_channels,
    radio_state,
    readback_problem,
    telemetry_oids,
)
from drivers.snmp.trap_receiver import TrapListen, TrapReceiver, TrapSubscription
from radio_domain.events import EventType
from radio_domain.radio import Band, ConfigChange, RadioConfig
from rrm.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    """One SNMP agent and how to use it (from ``url.parse_snmp_url``); secrets stay out of repr."""

    host: str
    port: int
    credentials: Credentials
    profile: OidProfile = field(repr=False)
    ap_id: str | None = None
    mac: bytes | None = None  # which AP of a WLC (MAC+slot profiles)
    trap: TrapListen | None = None
    timeout_s: float = 1.0
    retries: int = 1

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class SnmpDriver:
    """RadioDriver for the radios one SNMP agent reports for one AP."""

    def __init__(
        self, ap_id: str, target: SnmpTarget, client: SnmpClient, radios: Sequence[SnmpRadio], clock: Clock
    ) -> None:
        self.ap_id = ap_id
        self.target = target
        self.profile = target.profile
        self.clock = clock
        self._client = client
        self._radios = {r.info.radio_id: r for r in radios}
        self._counters: dict[str, CounterSnapshot] = {}
        self._last_config: dict[str, RadioConfig] = {}
        self._buffer = DriverEventBuffer(ap_id)
        self._closed = False
        self._radar_seen: dict[str, frozenset[int]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._receiver: TrapReceiver | None = None
        self._owns_receiver = False
        self._subscription: TrapSubscription | None = None

    def __repr__(self) -> str:
        return f"SnmpDriver({self.ap_id!r}, {self.target.where}, profile={self.profile.name})"

    @classmethod
    async def open(
        cls, target: SnmpTarget, *, clock: Clock, ap_id: str | None = None, trap_receiver: TrapReceiver | None = None
    ) -> SnmpDriver:
        """Connect, discover the radios and start the event sources; DriverUnavailable if it cannot."""
        label = ap_id or target.ap_id or target.where
        client = SnmpClient(label, target.host, target.port, target.credentials, target.timeout_s, target.retries)
        try:
            with_traps = uses_traps(target, trap_receiver)
            mac, radios = await discover_radios(client, target, ap_id, with_traps=with_traps)
            final_id = radios[0].info.ap_id
            client.who = final_id
            driver = cls(final_id, target, client, radios, clock)
            await driver._start_events(trap_receiver)
        except BaseException:
            await client.close()
            raise
        where = f"{target.where} MAC {format_mac(mac)}" if mac else target.where
        log.info("%s: SNMP %s at %s: radios %s", final_id, target.profile.name, where, list(driver._radios))
        return driver

    @property
    def name(self) -> str:
        return "snmp"

    def radios(self) -> Sequence[RadioInfo]:
        return [r.info for r in self._radios.values()]

    async def state(self) -> Sequence[RadioState]:
        self._check_open("state")
        radios = list(self._radios.values())
        first = await self._client.get([oid for r in radios for oid in self._config_oids(r)], "state")
        values = {vb.oid: vb for vb in first}
        configs = {r.info.radio_id: parse_config(r, self.profile, values, "state") for r in radios}
        per_channel = [oid for r in radios for oid in telemetry_oids(r, configs[r.info.radio_id].channel, True)]
        if per_channel:
            values |= {vb.oid: vb for vb in await self._client.get(per_channel, "state")}
        now = self.clock.now()
        states = []
        for radio in radios:
            rid = radio.info.radio_id
            state, counters = radio_state(radio, now, configs[rid], values, self._counters.get(rid))
            self._counters[rid] = counters
            self._note_config(rid, configs[rid], "state")
            states.append(state)
        return states

    async def apply(self, radio_id: str, change: ConfigChange) -> ApplyResult:
        radio = self._radio(radio_id, "apply")
        before = await self._read_config(radio, "apply")
        assignments = plan_assignments(radio, self.profile, before, change.apply_to(before))
        if not assignments:
            return ApplyResult(radio_id, before, before)
        await self._client.set_integers(radio_id, assignments, "apply")
        after = await self._read_config(radio, "apply")
        problem = readback_problem(expected_after(radio, before, change.apply_to(before)), after)
        if problem is not None:
            labels = ", ".join(a.label for a in assignments)
            raise ChangeRejected(radio_id, "apply", f"{labels}: {problem}")
        self._last_config[radio_id] = after
        log.info("%s: applied %s -> %s", radio_id, before, after)
        return ApplyResult(radio_id, before, after)

    async def steer_client(self, radio_id: str, client_id: str, target_radio_id: str) -> SteeringOutcome:
        self._radio(radio_id, "steer")
        raise CapabilityRefused(radio_id, "steer", "SNMP has no BSS transition management request")

    async def set_fallback_channels(self, radio_id: str, channels: Sequence[int]) -> None:
        self._radio(radio_id, "set fallback channels")
        raise CapabilityRefused(
            radio_id, "set fallback channels", "no standard SNMP object holds a radar fallback list"
        )

    def events(self) -> AsyncIterator[DriverEvent]:
        """Events as they arrive; ends after close() once the buffer is drained."""
        return self._buffer.drain()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self._receiver is not None and self._subscription is not None:
            self._receiver.unsubscribe(self._subscription)
            if self._owns_receiver:
                await self._receiver.close()
        await self._client.close()
        self._buffer.close()

    # --- internals -------------------------------------------------------------------------------

    def publish(self, event: DriverEvent) -> None:
        if self._closed:
            return
        self._buffer.put(event)

    def _config_oids(self, radio: SnmpRadio) -> list[Oid]:
        return config_oids(radio, self.profile) + telemetry_oids(radio, 0, False)

    async def _read_config(self, radio: SnmpRadio, operation: str) -> RadioConfig:
        answers = await self._client.get(self._config_oids(radio), operation)
        return parse_config(radio, self.profile, {vb.oid: vb for vb in answers}, operation)

    def _note_config(self, radio_id: str, config: RadioConfig, why: str) -> None:
        previous = self._last_config.get(radio_id)
        self._last_config[radio_id] = config
        if previous is not None and previous.channel != config.channel:
            log.info("%s: the AP moved from channel %d to %d on its own", radio_id, previous.channel, config.channel)
            self.publish(
                DriverEvent(
                    radio_id=radio_id,
                    type=EventType.CHANNEL_SWITCHED,
                    timestamp=self.clock.now(),
                    channel=config.channel,
                    config=config,
                    metadata={"source": f"snmp-{why}", "previous_channel": str(previous.channel)},
                )
            )

    async def _start_events(self, shared: TrapReceiver | None) -> None:
        if uses_traps(self.target, shared):
            await self._subscribe(shared)
        elif self.profile.radar is not None and self._radar_radios():
            self._radar_seen = await self._poll_radar()
            self._poller = asyncio.create_task(self._radar_loop(), name=f"snmp-radar-{self.ap_id}")

    async def _subscribe(self, shared: TrapReceiver | None) -> None:
        assert self.profile.traps is not None
        receiver = shared
        if receiver is None:
            assert self.target.trap is not None
            receiver = TrapReceiver(self.target.trap)
            await receiver.start()
            self._owns_receiver = True
        self._receiver = receiver
        radios = {r.index: rid for rid, r in self._radios.items()}
        self._subscription = TrapSubscription(self.profile.traps, radios, self._on_trap_event, self.clock.now)
        receiver.subscribe(self._subscription)

    def _on_trap_event(self, event: DriverEvent) -> None:
        """A channel change the AP reported is not reported again when ``state`` sees it."""
        last = self._last_config.get(event.radio_id)
        if event.type is EventType.CHANNEL_SWITCHED and last is not None:
            self._last_config[event.radio_id] = replace(last, channel=event.channel)
        self.publish(event)

    def _radar_radios(self) -> list[SnmpRadio]:
        return [r for r in self._radios.values() if r.info.band is Band.G5]

    async def _poll_radar(self) -> dict[str, frozenset[int]]:
        assert self.profile.radar is not None
        seen = {}
        for radio in self._radar_radios():
            rows = await self._client.walk(self.profile.radar.oid + radio.index, "poll radar")
            seen[radio.info.radio_id] = radar_channels(rows)
        return seen

    async def _radar_loop(self) -> None:
        while not self._closed:
            await self.clock.sleep(self.profile.radar_poll_s)
            try:
                seen = await self._poll_radar()
            except DriverUnavailable as exc:
                log.warning("%s: radar poll failed: %s", self.ap_id, exc)
                continue
            for radio_id, channels in seen.items():
                for channel in sorted(channels - self._radar_seen.get(radio_id, frozenset())):
                    log.warning("%s: radar on channel %d (polled)", radio_id, channel)
                    self.publish(
                        DriverEvent(
                            radio_id,
                            EventType.DFS_RADAR,
                            self.clock.now(),
                            channel=channel,
                            metadata={"source": "snmp-poll"},
                        )
                    )
            self._radar_seen = seen

    def _radio(self, radio_id: str, operation: str) -> SnmpRadio:
        self._check_open(operation, radio_id)
        radio = self._radios.get(radio_id)
        if radio is None:
            raise CapabilityRefused(radio_id, operation, f"radio is not managed by this driver ({list(self._radios)})")
        return radio

    def _check_open(self, operation: str, radio_id: str = "") -> None:
        if self._closed:
            raise DriverUnavailable(radio_id or self.ap_id, operation, "the driver is closed")


def uses_traps(target: SnmpTarget, shared: TrapReceiver | None) -> bool:
    """Events come from traps when there is a receiver and the profile maps traps (else: polling)."""
    wanted = shared is not None or target.trap is not None
    if wanted and target.profile.traps is None:
        log.warning("the %s profile maps no traps; radar is polled instead", target.profile.name)
    return wanted and target.profile.traps is not None


def default_ap_id(target: SnmpTarget, mac: bytes | None) -> str:
    """``ap-001122334455`` for an AP of a WLC, else the agent's host (and port when not 161)."""
    if mac is not None:
        return "ap-" + mac.hex()
    return target.host if target.port == 161 else f"{target.host}-{target.port}"


async def discover_radios(
    client: SnmpClient, target: SnmpTarget, ap_id: str | None, *, with_traps: bool
) -> tuple[bytes | None, list[SnmpRadio]]:
    """Walk the channel columns, then probe each radio's power levels and telemetry columns."""
    profile = target.profile
    walks: list[tuple[ChannelColumn, list[VarBind]]] = []
    for channel_column in profile.channels:
        walks.append((channel_column, await client.walk(channel_column.column.oid, "open")))
    try:
        mac, found = find_radios(profile, walks, target.mac)
    except DiscoveryProblem as exc:
        raise DriverUnavailable(client.who, "open", str(exc)) from None
    final_id = ap_id or target.ap_id or default_ap_id(target, mac)
    traps = profile.traps
    radar = traps is not None and traps.radar_detected is not None if with_traps else profile.radar is not None
    radios = []
    for radio in found:
        levels = await _read_levels(client, profile, radio.index)
        telemetry = await _probe_telemetry(client, profile, radio)
        radios.append(make_radio(final_id, radio, profile, levels, telemetry, radar))
    return mac, radios


async def _read_levels(client: SnmpClient, profile: OidProfile, index: Oid) -> PowerLevels | None:
    """What each power level means for this radio; None when it has no level the agent answers."""
    power = profile.tx_power
    if power is None:
        return None
    columns = [power.level, *([power.level_count] if power.level_count else []), *power.level_mw]
    answers = await client.get([c.at(index) for c in columns], "open")
    values = [vb.value if isinstance(vb.value, int) else None for vb in answers]
    if values[0] is None:
        log.warning("%s: %s does not answer; tx power is not managed", client.who, power.level.label(index))
        return None
    if power.levels_dbm:
        return PowerLevels(power.levels_dbm)
    count = values[1] if power.level_count else None
    return levels_from_mw(count, values[2 if power.level_count else 1 :])


async def _probe_telemetry(client: SnmpClient, profile: OidProfile, radio: FoundRadio) -> dict[Telemetry, Column]:
    """The telemetry columns this radio answers (per-channel ones: any row under its index)."""
    plain = {k: c for k, c in profile.telemetry.items() if not c.per_channel}
    answered: dict[Telemetry, Column] = {}
    if plain:
        answers = await client.get([c.at(radio.index) for c in plain.values()], "open")
        answered |= {k: c for (k, c), vb in zip(plain.items(), answers, strict=True) if isinstance(vb.value, int)}
    for kind, column in profile.telemetry.items():
        if column.per_channel and await client.walk(column.oid + radio.index, "open"):
            answered[kind] = column
    return answered
