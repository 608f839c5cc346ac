"""The simulated driver: drivers.protocol.RadioDriver over some APs of a shared SimWorld.

Several drivers (one per edge agent) share one world; each sees and changes only its own APs'
radios (a steering request goes from one of them, to any radio of the world, as a real BTM
request may name another vendor's BSS). Events reach a driver through ``publish``, which the
world runner calls after each step; ``events()`` yields them in order and ends once the driver
is closed (after what was already queued). The queue is bounded: when nobody reads, the oldest
events are dropped and counted.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection, Sequence

from drivers.event_buffer import DriverEventBuffer
from drivers.protocol import (
    ApplyResult,
    CapabilityRefused,
    DriverEvent,
    DriverUnavailable,
    RadioInfo,
    RadioState,
    SteeringOutcome,
)
from drivers.sim.world import SimWorld
from radio_domain.radio import ConfigChange

log = logging.getLogger(__name__)


class SimDriver:
    """RadioDriver for the radios of ``ap_ids`` in ``world``."""

    def __init__(self, world: SimWorld, ap_ids: Collection[str]) -> None:
        unknown = sorted(set(ap_ids) - set(world.ap_ids()))
        if unknown:
            raise ValueError(f"APs {unknown} are not in the world; it has {world.ap_ids()}")
        self.world = world
        self.ap_ids = tuple(ap_ids)
        self._radios = world.radios(self.ap_ids)
        self._radio_ids = frozenset(r.radio_id for r in self._radios)
        self._buffer = DriverEventBuffer(f"sim driver for {','.join(self.ap_ids)}")

    @property
    def name(self) -> str:
        return "sim"

    def radios(self) -> Sequence[RadioInfo]:
        return list(self._radios)

    def owns(self, radio_id: str) -> bool:
        return radio_id in self._radio_ids

    async def state(self) -> Sequence[RadioState]:
        self._check_open("state")
        return [self.world.radio_state(r.radio_id) for r in self._radios]

    async def apply(self, radio_id: str, change: ConfigChange) -> ApplyResult:
        self._check_mine("apply", radio_id)
        return self.world.apply(radio_id, change)

    async def steer_client(self, radio_id: str, client_id: str, target_radio_id: str) -> SteeringOutcome:
        """An 802.11v BSS transition request from one of our radios; the target may be any radio."""
        self._check_mine("steer", radio_id)
        return self.world.steer_client(radio_id, client_id, target_radio_id)

    async def set_fallback_channels(self, radio_id: str, channels: Sequence[int]) -> None:
        """Point the radio's own radar fallback (hostapd ``chanlist``) at these channels."""
        self._check_mine("set fallback channels", radio_id)
        self.world.set_fallback_channels(radio_id, channels)

    def publish(self, events: Sequence[DriverEvent]) -> None:
        """Queue the events that concern this driver's radios; others are ignored."""
        for event in events:
            if event.radio_id in self._radio_ids:
                self._buffer.put(event)

    @property
    def dropped_events(self) -> int:
        return self._buffer.dropped

    def events(self) -> AsyncIterator[DriverEvent]:
        """Events as they are published; ends after close() once the queue is drained."""
        return self._buffer.drain()

    async def close(self) -> None:
        self._buffer.close()

    def _check_mine(self, operation: str, radio_id: str) -> None:
        self._check_open(operation, radio_id)
        if radio_id not in self._radio_ids:
            raise CapabilityRefused(
                radio_id, operation, f"radio is not managed by this driver (APs {list(self.ap_ids)})"
            )

    def _check_open(self, operation: str, radio_id: str = "") -> None:
        if self._buffer.closed:
            raise DriverUnavailable(radio_id or ",".join(self.ap_ids), operation, "the driver is closed")
