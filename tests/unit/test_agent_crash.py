"""An agent loop that fails is never silent: `crashed` names it, and the system evaluation stops on it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from drivers.protocol import RadioState
from drivers.sim.driver import SimDriver
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from edge_agent.event_policy import EventPolicy
from edge_agent.runtime import AgentRuntime, AgentSettings
from radio_domain.identifiers import IdentifierHasher
from rrm.clock import VirtualClock
from rrm.evaluation.fast_loop_world import ChangeLedger
from rrm.evaluation.system_agents import AgentCrashed, InProcessAgents
from rrm.sqlite_files import open_database
from tests.integration.conftest import EPOCH, two_ap_scenario

pytestmark = pytest.mark.unit


class BrokenTableDriver(SimDriver):
    """A driver whose radio table breaks after its first reading: a bug, not a DriverError."""

    readings = 0

    async def state(self) -> Sequence[RadioState]:
        self.readings += 1
        if self.readings > 1:
            raise KeyError("radio table")
        return await super().state()


async def _settle(clock: VirtualClock, seconds: float) -> None:
    for _ in range(int(seconds)):
        clock.advance(1.0)
        for _ in range(3):
            await asyncio.sleep(0)


async def test_a_failed_telemetry_loop_is_named_and_stops_the_system_evaluation(tmp_path: Path) -> None:
    world = SimWorld(parse_scenario(two_ap_scenario(), "test"), epoch=EPOCH)
    clock = VirtualClock(start=EPOCH)
    agents = InProcessAgents(world, clock, tmp_path, EventPolicy(), ChangeLedger())
    broken = AgentRuntime(
        AgentSettings(agent_id="ap-1", region=world.region, telemetry_interval_s=10.0),
        BrokenTableDriver(world, ["ap-1"]),
        open_database(tmp_path / "broken.db"),
        IdentifierHasher(b"k" * 32),
        clock,
        None,
    )
    agents.agents["ap-1"] = broken
    await agents.start()
    try:
        await _settle(clock, 5)
        agents.check_running()  # nothing has failed yet
        assert broken.crashed() is None
        await _settle(clock, 20)  # the second reading fails
        crash = broken.crashed()
        assert crash is not None and crash[0] == "telemetry" and isinstance(crash[1], KeyError)
        with pytest.raises(AgentCrashed, match=r"agent ap-1: its telemetry loop failed: KeyError: 'radio table'"):
            agents.check_running()
    finally:
        await agents.stop()
