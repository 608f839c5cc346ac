"""Stepping a SimWorld in time with a clock and handing its events to the drivers.

With rrm.clock.WallClock the world runs in real time; with rrm.clock.VirtualClock it moves only
as the caller advances the clock (ARCHITECTURE.md "Time"), or the caller calls ``step_once``.
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers.protocol import DriverEvent
from drivers.sim.driver import SimDriver
from drivers.sim.world import SimWorld
from rrm.clock import Clock


class WorldRunner:
    """Steps ``world`` by ``step_s`` and publishes each step's events to every driver."""

    def __init__(self, world: SimWorld, drivers: Sequence[SimDriver], clock: Clock, step_s: float = 1.0) -> None:
        if step_s <= 0:
            raise ValueError(f"step_s must be positive, not {step_s}")
        self.world = world
        self.drivers = list(drivers)
        self.clock = clock
        self.step_s = step_s

    def step_once(self) -> list[DriverEvent]:
        """One world step; the events go to the drivers and are returned."""
        events = self.world.step(self.step_s)
        for driver in self.drivers:
            driver.publish(events)
        return events

    async def run(self, until: float | None = None) -> None:
        """Sleep ``step_s`` on the clock, step, repeat; stop once ``clock.now() >= until`` (never when None)."""
        while until is None or self.clock.now() < until:
            await self.clock.sleep(self.step_s)
            self.step_once()
