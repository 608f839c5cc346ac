"""The simulated APs behind a control socket: what an agent's sim-ap driver sees over the wire."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.protocol import CapabilityRefused, ChangeRejected, DriverUnavailable
from drivers.sim.ap_server import SimApServer
from drivers.sim.remote_driver import SimRemoteDriver
from drivers.sim.runner import WorldRunner
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from radio_domain.events import EventType
from radio_domain.radio import ConfigChange
from rrm.clock import VirtualClock
from tests.integration.conftest import EPOCH, two_ap_scenario

pytestmark = pytest.mark.integration


@pytest.fixture
async def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    world = SimWorld(parse_scenario(two_ap_scenario(), "test"), epoch=EPOCH)
    runner = WorldRunner(world, [], VirtualClock(start=EPOCH))
    server = SimApServer(world, runner)
    socket = tmp_path / "ap.sock"
    await server.start(socket)
    yield world, runner, socket
    await server.stop()


async def test_state_apply_and_events_cross_the_socket(served: tuple[SimWorld, WorldRunner, Path]) -> None:
    world, runner, socket = served
    driver = await SimRemoteDriver.connect(socket, ["ap-2"])
    try:
        assert [r.radio_id for r in driver.radios()] == ["ap-2/2g", "ap-2/5g"]
        states = await driver.state()
        assert [s.config.channel for s in states] == [6, 52]
        result = await driver.apply("ap-2/2g", ConfigChange(channel=11))
        assert (result.before.channel, result.after.channel) == (6, 11)
        assert world.config("ap-2/2g").channel == 11
        for _ in range(125):
            runner.step_once()
        seen = []
        async for event in driver.events():
            seen.append(event.type)
            if event.type is EventType.CHANNEL_SWITCHED:
                break
        assert seen == [EventType.DFS_RADAR, EventType.CHANNEL_SWITCHED]
    finally:
        await driver.close()


async def test_refusals_keep_their_type_and_words(served: tuple[SimWorld, WorldRunner, Path]) -> None:
    _, _, socket = served
    driver = await SimRemoteDriver.connect(socket, ["ap-1"])
    try:
        with pytest.raises(ChangeRejected, match="ap-1/2g"):
            await driver.apply("ap-1/2g", ConfigChange(channel=13))
        with pytest.raises(CapabilityRefused, match="not managed by this driver"):
            await driver.apply("ap-2/2g", ConfigChange(channel=11))
    finally:
        await driver.close()


async def test_a_lost_ap_is_a_typed_error_naming_the_socket(served: tuple[SimWorld, WorldRunner, Path]) -> None:
    _, _, socket = served
    with pytest.raises(DriverUnavailable, match="no simulated AP at"):
        await SimRemoteDriver.connect(socket.with_name("missing.sock"), ["ap-1"])
    with pytest.raises(DriverUnavailable, match="ap-9: attach: not served here"):
        await SimRemoteDriver.connect(socket, ["ap-9"])
    driver = await SimRemoteDriver.connect(socket, ["ap-1"])
    await driver.close()
    with pytest.raises(DriverUnavailable, match="closed"):
        await driver.state()


async def test_an_agent_outlives_its_driver_failing(served: tuple[SimWorld, WorldRunner, Path], tmp_path: Path) -> None:
    """A lost AP control socket costs telemetry intervals, counted and logged, not the agent."""
    import asyncio

    from edge_agent.runtime import AgentRuntime, AgentSettings
    from radio_domain.identifiers import IdentifierHasher
    from rrm.sqlite_files import open_database

    world, _, socket = served
    clock = VirtualClock(start=EPOCH)
    driver = await SimRemoteDriver.connect(socket, ["ap-1"])
    agent = AgentRuntime(
        AgentSettings(agent_id="ap-1", region=world.region, telemetry_interval_s=10.0),
        driver,
        open_database(tmp_path / "agent.db"),
        IdentifierHasher(b"k" * 16),
        clock,
        link_settings=None,
    )
    await agent.start()
    await asyncio.sleep(0.01)  # let the loops start sleeping on the virtual clock
    try:
        for _ in range(3):
            clock.advance(10.0)
            for _ in range(20):
                await asyncio.sleep(0.01)
        assert agent.counters.telemetry_batches == 3
        await driver.close()
        for _ in range(2):
            clock.advance(10.0)
            for _ in range(20):
                await asyncio.sleep(0.01)
        assert agent.counters.driver_errors == 2
        assert agent.counters.telemetry_batches == 3
        assert "telemetry" in agent.running_loops()
    finally:
        await agent.stop()
