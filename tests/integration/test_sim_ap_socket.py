"""The simulated APs behind a control socket: what an agent's sim-ap driver sees over the wire."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from drivers.protocol import CapabilityRefused, ChangeRejected, DriverUnavailable, SteeringOutcome
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


def _scenario() -> dict[str, Any]:
    """The shared three-AP floor, with a client that ignores BTM (and has 6 GHz) and one without DFS."""
    data: dict[str, Any] = two_ap_scenario()
    data["clients"][1] |= {"supports_btm": False, "bands": ["5g", "6g"]}
    data["clients"][3] |= {"supports_dfs": False}
    return data


@pytest.fixture
async def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    world = SimWorld(parse_scenario(_scenario(), "test"), epoch=EPOCH)
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


async def test_client_capabilities_and_the_disassociation_counter_cross_the_socket(
    served: tuple[SimWorld, WorldRunner, Path],
) -> None:
    world, runner, socket = served
    driver = await SimRemoteDriver.connect(socket, ["ap-1"])
    try:
        states = {s.radio_id: s for s in await driver.state()}
        assert states["ap-1/5g"] == world.radio_state("ap-1/5g")
        clients = {c.client_id: c for c in states["ap-1/5g"].clients}
        assert (clients["c1"].supports_btm, clients["c1"].supports_6g, clients["c1"].supports_dfs) == (
            False,
            True,
            True,
        )
        assert (clients["c3"].supports_btm, clients["c3"].supports_6g, clients["c3"].supports_dfs) == (
            True,
            False,
            False,
        )
        await driver.apply("ap-1/5g", ConfigChange(channel=100))  # uncleared DFS: a CAC, off air
        runner.step_once()
        state = next(s for s in await driver.state() if s.radio_id == "ap-1/5g")
        assert state.clients == ()
        assert state.disassociations_total == len(clients)
    finally:
        await driver.close()


async def test_steering_crosses_the_socket_with_its_outcomes_and_refusals(
    served: tuple[SimWorld, WorldRunner, Path],
) -> None:
    world, runner, socket = served
    driver = await SimRemoteDriver.connect(socket, ["ap-1"])
    try:
        assert await driver.steer_client("ap-1/5g", "c1", "ap-2/5g") is SteeringOutcome.IGNORED  # no BTM
        answers = [await driver.steer_client("ap-1/5g", "c3", "ap-3/5g") for _ in range(3)]
        assert set(answers) <= {SteeringOutcome.MOVED, SteeringOutcome.REJECTED}
        with pytest.raises(ChangeRejected, match="ap-1/5g: steer: client 'c5' is not associated with this radio"):
            await driver.steer_client("ap-1/5g", "c5", "ap-2/5g")
        with pytest.raises(CapabilityRefused, match="ap-2/5g: steer: radio is not managed by this driver"):
            await driver.steer_client("ap-2/5g", "c5", "ap-1/5g")
        if SteeringOutcome.MOVED in answers:
            runner.step_once()
            assert world.client_link("c3").radio_id == "ap-3/5g"
    finally:
        await driver.close()


async def test_the_fallback_list_crosses_the_socket_and_steers_the_radar_move(
    served: tuple[SimWorld, WorldRunner, Path],
) -> None:
    world, runner, socket = served
    driver = await SimRemoteDriver.connect(socket, ["ap-2"])
    try:
        await driver.set_fallback_channels("ap-2/5g", [157])
        assert world.radio("ap-2/5g").fallback == (157,)
        with pytest.raises(ChangeRejected, match=r"ap-2/5g: set fallback channels: channels \[14\] are not legal"):
            await driver.set_fallback_channels("ap-2/5g", [14])
        with pytest.raises(CapabilityRefused, match="ap-2/2g: set fallback channels: only a 5 GHz radio"):
            await driver.set_fallback_channels("ap-2/2g", [1])
        world.trigger_radar("ap-2/5g")
        runner.step_once()
        seen = []
        async for event in driver.events():
            seen.append(event)
            if event.type is EventType.CHANNEL_SWITCHED:
                break
        assert [e.type for e in seen] == [EventType.DFS_RADAR, EventType.CHANNEL_SWITCHED]
        assert seen[0].metadata["simulated"] == "true"
        assert seen[1].config is not None
        assert (seen[1].config.channel, seen[1].metadata["choice"]) == (157, "fallback")
    finally:
        await driver.close()


async def test_a_malformed_steer_or_fallback_request_is_a_typed_error(
    served: tuple[SimWorld, WorldRunner, Path],
) -> None:
    _, _, socket = served
    reader, writer = await asyncio.open_unix_connection(str(socket))
    try:
        replies: list[dict[str, Any]] = []
        for request in (
            {"op": "attach", "aps": ["ap-1"]},
            {"op": "fallback", "radio_id": "ap-1/5g", "channels": "36"},
            {"op": "steer", "radio_id": "ap-1/5g", "client_id": "c1"},
        ):
            writer.write(json.dumps({"id": len(replies)} | request).encode() + b"\n")
            replies.append(json.loads(await asyncio.wait_for(reader.readline(), 5.0)))
        assert replies[1]["error"]["type"] == "DriverError"
        assert "channels must be a list of integers" in replies[1]["error"]["detail"]
        assert replies[2]["error"] == {
            "type": "DriverError",
            "operation": "steer",
            "detail": "missing 'target_radio_id'",
        }
    finally:
        writer.close()


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
