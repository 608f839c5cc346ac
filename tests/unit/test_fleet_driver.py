"""One agent, several APs' drivers: a failing AP never stops the others being served."""

from __future__ import annotations

import asyncio

import pytest

from drivers.fleet import FleetDriver
from drivers.protocol import CapabilityRefused, DriverEvent, DriverUnavailable
from drivers.sim.driver import SimDriver
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from radio_domain.events import EventType
from radio_domain.radio import ConfigChange
from tests.integration.conftest import EPOCH, two_ap_scenario

pytestmark = pytest.mark.unit


def _world() -> SimWorld:
    return SimWorld(parse_scenario(two_ap_scenario(), "fleet"), epoch=EPOCH)


def _fleet(world: SimWorld) -> tuple[FleetDriver, SimDriver, SimDriver]:
    first, second = SimDriver(world, ["ap-1"]), SimDriver(world, ["ap-2"])
    return FleetDriver([first, second]), first, second


async def test_reads_every_ap_and_skips_one_that_fails() -> None:
    """The second AP keeps being read while the first one's driver is gone."""
    fleet, first, _ = _fleet(_world())
    assert {s.radio_id for s in await fleet.state()} == {"ap-1/2g", "ap-1/5g", "ap-2/2g", "ap-2/5g"}
    await first.close()  # the AP stopped answering
    states = await fleet.state()
    assert {s.radio_id for s in states} == {"ap-2/2g", "ap-2/5g"}
    failure = fleet.failures[0]
    assert isinstance(failure.error, DriverUnavailable)
    assert failure.consecutive == 1
    await fleet.state()
    assert fleet.failures[0].consecutive == 2


async def test_fails_only_when_every_ap_fails() -> None:
    fleet, first, second = _fleet(_world())
    await first.close()
    await second.close()
    with pytest.raises(DriverUnavailable, match="every AP failed to answer"):
        await fleet.state()


async def test_changes_go_to_the_driver_that_owns_the_radio() -> None:
    world = _world()
    fleet, _, _ = _fleet(world)
    result = await fleet.apply("ap-2/5g", ConfigChange(tx_power_dbm=14))
    assert result.after.tx_power_dbm == 14
    assert world.radio_state("ap-2/5g").config.tx_power_dbm == 14
    with pytest.raises(CapabilityRefused, match="ap-9/5g: apply: no driver of this agent manages it"):
        await fleet.apply("ap-9/5g", ConfigChange(tx_power_dbm=14))


def test_two_drivers_claiming_one_radio_is_refused() -> None:
    world = _world()
    with pytest.raises(ValueError, match="radio ap-1/2g is reported by both"):
        FleetDriver([SimDriver(world, ["ap-1"]), SimDriver(world, ["ap-1", "ap-3"])])


async def test_events_of_every_ap_arrive_and_the_stream_ends_after_all_members_end() -> None:
    fleet, first, second = _fleet(_world())
    got: list[DriverEvent] = []

    async def collect() -> None:
        async for event in fleet.events():
            got.append(event)

    task = asyncio.create_task(collect())
    await asyncio.sleep(0)
    first.publish([DriverEvent("ap-1/5g", EventType.DFS_RADAR, EPOCH, channel=52)])
    await first.close()  # one AP's stream ends; the other's still flows
    second.publish([DriverEvent("ap-2/5g", EventType.NON_WIFI_BURST, EPOCH + 1)])
    await asyncio.sleep(0.01)
    assert [(e.radio_id, e.type) for e in got] == [
        ("ap-1/5g", EventType.DFS_RADAR),
        ("ap-2/5g", EventType.NON_WIFI_BURST),
    ]
    assert not task.done()
    await second.close()
    await asyncio.wait_for(task, 5)
