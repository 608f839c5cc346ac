"""SimDriver speaks drivers.protocol for its own APs; WorldRunner steps the world with a clock."""

from __future__ import annotations

import asyncio

import pytest

from drivers.protocol import (
    CapabilityRefused,
    ChangeRejected,
    DriverEvent,
    DriverUnavailable,
    RadioDriver,
    SteeringOutcome,
)
from drivers.sim.driver import SimDriver
from drivers.sim.runner import WorldRunner
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from radio_domain.events import EventType
from radio_domain.radio import ConfigChange
from rrm.clock import VirtualClock

pytestmark = pytest.mark.unit

EPOCH = 1_767_225_600.0


def _world() -> SimWorld:
    radios = [
        {"band": "2g", "channel": 6, "width_mhz": 20, "tx_power_dbm": 17},
        {"band": "5g", "channel": 52, "width_mhz": 20, "tx_power_dbm": 20},
    ]
    data = {
        "format": "rrm-scenario",
        "version": 1,
        "seed": 2,
        "region": "FCC",
        "area_m": [50, 20],
        "duration_s": 60,
        "aps": [{"id": "a", "x": 5, "y": 10, "radios": radios}, {"id": "b", "x": 45, "y": 10, "radios": radios}],
        "clients": [{"id": "c", "x": 8, "y": 10, "band": "5g", "demand_mbps": 5}],
        "interferers": [{"kind": "radar", "x": 5, "y": 12, "freq_mhz": 5262, "start_s": 3, "stop_s": 4}],
    }
    return SimWorld(parse_scenario(data, "driver-test"), epoch=EPOCH)


async def _collect(driver: SimDriver) -> list[DriverEvent]:
    return [event async for event in driver.events()]


def test_the_driver_is_a_radio_driver_for_its_own_aps_only() -> None:
    world = _world()
    driver = SimDriver(world, ["a"])
    assert isinstance(driver, RadioDriver)
    assert driver.name == "sim"
    assert [r.radio_id for r in driver.radios()] == ["a/2g", "a/5g"]
    caps = {r.radio_id: r.capabilities for r in driver.radios()}
    assert caps["a/5g"].reports_radar
    assert caps["a/5g"].reports_spectrum
    assert caps["a/5g"].can_steer_clients
    assert caps["a/5g"].can_set_fallback_channels
    assert not caps["a/2g"].can_set_fallback_channels  # no radar on 2.4 GHz, so no radar fallback list
    assert caps["a/2g"].channels == tuple(range(1, 12))
    with pytest.raises(ValueError, match="not in the world"):
        SimDriver(world, ["zzz"])


async def test_state_and_apply_go_to_the_shared_world() -> None:
    world = _world()
    driver = SimDriver(world, ["a"])
    states = await driver.state()
    assert [s.radio_id for s in states] == ["a/2g", "a/5g"]
    assert states[0].timestamp == EPOCH
    result = await driver.apply("a/2g", ConfigChange(channel=11))
    assert result.after.channel == 11
    assert world.config("a/2g").channel == 11
    with pytest.raises(CapabilityRefused, match="b/2g: apply: radio is not managed by this driver"):
        await driver.apply("b/2g", ConfigChange(channel=1))
    assert world.config("b/2g").channel == 6


async def test_steering_and_fallback_go_from_the_drivers_own_radios_only() -> None:
    world = _world()
    driver = SimDriver(world, ["a"])
    assert world.client_link("c").radio_id == "a/5g"
    outcome = await driver.steer_client("a/5g", "c", "b/5g")  # the target may be another AP's radio
    assert outcome in {SteeringOutcome.MOVED, SteeringOutcome.REJECTED}
    with pytest.raises(ChangeRejected, match="a/2g: steer: client 'c' is not associated"):
        await driver.steer_client("a/2g", "c", "b/2g")
    with pytest.raises(CapabilityRefused, match="b/5g: steer: radio is not managed by this driver"):
        await driver.steer_client("b/5g", "c", "a/5g")
    await driver.set_fallback_channels("a/5g", [100, 36])
    assert world.radio("a/5g").fallback == (100, 36)
    with pytest.raises(CapabilityRefused, match="b/5g: set fallback channels: radio is not managed"):
        await driver.set_fallback_channels("b/5g", [36])
    with pytest.raises(CapabilityRefused, match="a/2g: set fallback channels"):
        await driver.set_fallback_channels("a/2g", [1])
    await driver.close()
    with pytest.raises(DriverUnavailable, match="closed"):
        await driver.steer_client("a/5g", "c", "b/5g")


async def test_triggered_radar_reaches_the_driver_through_the_runner() -> None:
    world = _world()
    driver = SimDriver(world, ["a"])
    runner = WorldRunner(world, [driver], VirtualClock(EPOCH))
    await driver.set_fallback_channels("a/5g", [149])
    triggered = world.trigger_radar("a/5g")
    assert runner.step_once()[: len(triggered)] == triggered
    await driver.close()
    got = await _collect(driver)
    assert [e.type for e in got] == [EventType.DFS_RADAR, EventType.CHANNEL_SWITCHED]
    assert got[1].config is not None
    assert got[1].config.channel == 149


async def test_events_reach_only_the_driver_of_the_radio_and_end_after_close() -> None:
    world = _world()
    mine, theirs = SimDriver(world, ["a"]), SimDriver(world, ["b"])
    runner = WorldRunner(world, [mine, theirs], VirtualClock(EPOCH), step_s=1.0)
    stepped = [e for _ in range(4) for e in runner.step_once()]
    assert {e.radio_id for e in stepped} == {"a/5g", "b/5g"}  # the radar reaches both APs on channel 52
    await mine.close()
    await theirs.close()
    got_mine, got_theirs = await asyncio.gather(_collect(mine), _collect(theirs))
    assert got_mine == [e for e in stepped if e.radio_id == "a/5g"]
    assert got_theirs == [e for e in stepped if e.radio_id == "b/5g"]
    assert [e.type for e in got_mine] == [EventType.DFS_RADAR, EventType.CHANNEL_SWITCHED]
    assert got_mine[0].timestamp == EPOCH + 3.0
    with pytest.raises(DriverUnavailable, match="closed"):
        await mine.state()


async def test_a_waiting_reader_wakes_when_events_are_published() -> None:
    world = _world()
    driver = SimDriver(world, ["a"])
    runner = WorldRunner(world, [driver], VirtualClock(EPOCH))

    async def first_event() -> DriverEvent:
        return await anext(driver.events())

    reader = asyncio.create_task(first_event())
    await asyncio.sleep(0)
    assert not reader.done()
    for _ in range(3):
        runner.step_once()
    event = await asyncio.wait_for(reader, timeout=5.0)
    assert event.type is EventType.DFS_RADAR
    assert event.radio_id == "a/5g"


async def test_the_runner_steps_the_world_as_the_virtual_clock_advances() -> None:
    world = _world()
    driver = SimDriver(world, ["a"])
    clock = VirtualClock(EPOCH)
    runner = WorldRunner(world, [driver], clock, step_s=1.0)
    task = asyncio.create_task(runner.run(until=EPOCH + 5.0))
    for _ in range(5):
        await asyncio.sleep(0)
        clock.advance(1.0)
        await asyncio.sleep(0)
    await asyncio.wait_for(task, timeout=5.0)
    assert world.time == 5.0
    assert world.config("a/5g").channel != 52  # the radar at t=3 moved it
    with pytest.raises(ValueError, match="step_s"):
        WorldRunner(world, [driver], clock, step_s=0.0)
