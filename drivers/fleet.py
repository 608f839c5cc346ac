"""One driver over several APs' drivers, so a failing AP never stops the agent serving the others.

An agent next to a closet of APs opens one driver per AP (a hostapd interface, a NETCONF session,
an SNMP agent) and runs over a FleetDriver. Reads go to every driver at once; a driver that fails
(timeout, refused credentials, garbage) is left out of that reading, logged with its error and
counted, and the others' radios are still returned. Only when every driver fails does ``state``
raise, so the agent's telemetry loop reports the interval as skipped. Changes go to the one driver
that owns the radio; events from all drivers are merged, and one stream ending leaves the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from drivers.protocol import (
    ApplyResult,
    CapabilityRefused,
    DriverError,
    DriverEvent,
    DriverUnavailable,
    RadioDriver,
    RadioInfo,
    RadioState,
    SteeringOutcome,
)
from radio_domain.radio import ConfigChange

log = logging.getLogger(__name__)

MAX_MERGED_EVENTS = 10_000


@dataclass(slots=True)
class ReadFailure:
    """The last failed read of one member driver."""

    driver: str
    error: DriverError
    consecutive: int


class FleetDriver:
    """RadioDriver over ``members``; radio ids must be unique across them."""

    def __init__(self, members: Sequence[RadioDriver]) -> None:
        if not members:
            raise ValueError("a fleet driver needs at least one member driver")
        self.members = tuple(members)
        self._owner: dict[str, RadioDriver] = {}
        for member in self.members:
            for info in member.radios():
                other = self._owner.get(info.radio_id)
                if other is not None:
                    raise ValueError(
                        f"radio {info.radio_id} is reported by both the {other.name} and the {member.name} driver; "
                        "give each AP its own id (?ap=ID in its URL)"
                    )
                self._owner[info.radio_id] = member
        self.failures: dict[int, ReadFailure] = {}  # member index -> its last failed read
        self._queue: deque[DriverEvent] = deque()
        self._wakeup = asyncio.Event()
        self._running = 0
        self._pumps: list[asyncio.Task[None]] = []
        self.dropped_events = 0

    @property
    def name(self) -> str:
        names = sorted({m.name for m in self.members})
        return "+".join(names)

    def radios(self) -> Sequence[RadioInfo]:
        return [info for member in self.members for info in member.radios()]

    async def state(self) -> Sequence[RadioState]:
        results = await asyncio.gather(*(m.state() for m in self.members), return_exceptions=True)
        states: list[RadioState] = []
        errors: list[DriverError] = []
        for index, (member, result) in enumerate(zip(self.members, results, strict=True)):
            if isinstance(result, DriverError):
                errors.append(result)
                self._note_failure(index, member, result)
            elif isinstance(result, BaseException):
                raise result  # a bug, not an AP's failure: crash and restart (STYLE.md point 11)
            else:
                if index in self.failures:
                    log.info("%s driver reads again after %d failures", member.name, self.failures[index].consecutive)
                    del self.failures[index]
                states.extend(result)
        if errors and len(errors) == len(self.members):
            first = errors[0]
            raise DriverUnavailable(first.radio_id, "state", f"every AP failed to answer; first: {first}")
        return states

    def _note_failure(self, index: int, member: RadioDriver, error: DriverError) -> None:
        previous = self.failures.get(index)
        consecutive = previous.consecutive + 1 if previous else 1
        self.failures[index] = ReadFailure(member.name, error, consecutive)
        if consecutive == 1 or consecutive % 60 == 0:
            log.warning(
                "%s driver failed to read (%d in a row), its radios are skipped: %s", member.name, consecutive, error
            )

    def _member_for(self, radio_id: str, operation: str) -> RadioDriver:
        member = self._owner.get(radio_id)
        if member is None:
            raise CapabilityRefused(radio_id, operation, f"no driver of this agent manages it ({sorted(self._owner)})")
        return member

    async def apply(self, radio_id: str, change: ConfigChange) -> ApplyResult:
        return await self._member_for(radio_id, "apply").apply(radio_id, change)

    async def steer_client(self, radio_id: str, client_id: str, target_radio_id: str) -> SteeringOutcome:
        return await self._member_for(radio_id, "steer").steer_client(radio_id, client_id, target_radio_id)

    async def set_fallback_channels(self, radio_id: str, channels: Sequence[int]) -> None:
        await self._member_for(radio_id, "set fallback channels").set_fallback_channels(radio_id, channels)

    async def events(self) -> AsyncIterator[DriverEvent]:
        """Every member's events as they come; ends when every member's stream has ended."""
        if not self._pumps:
            self._running = len(self.members)
            self._pumps = [
                asyncio.create_task(self._pump(m), name=f"fleet-events-{i}") for i, m in enumerate(self.members)
            ]
        while True:
            while self._queue:
                yield self._queue.popleft()
            if self._running == 0:
                return
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _pump(self, member: RadioDriver) -> None:
        try:
            async for event in member.events():
                if len(self._queue) >= MAX_MERGED_EVENTS:
                    self._queue.popleft()
                    self.dropped_events += 1
                    if self.dropped_events == 1 or self.dropped_events % 1000 == 0:
                        log.warning("fleet driver dropped %d unread events", self.dropped_events)
                self._queue.append(event)
                self._wakeup.set()
        except DriverError as exc:
            log.error("%s driver's event stream failed; its radios send no more events: %s", member.name, exc)
        finally:
            self._running -= 1
            self._wakeup.set()
            if self._running:
                log.warning("the %s driver's event stream ended; the other APs' events still flow", member.name)

    async def close(self) -> None:
        results = await asyncio.gather(*(m.close() for m in self.members), return_exceptions=True)
        for member, result in zip(self.members, results, strict=True):
            if isinstance(result, Exception):
                log.warning("closing the %s driver failed: %s", member.name, result)
        for pump in self._pumps:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(pump), 1.0)
            pump.cancel()
