"""AP ids as keyed hashes: nothing above the driver sees an AP's real name (privacy invariant 7)."""

from __future__ import annotations

import asyncio

import pytest

from drivers.protocol import DriverEvent, DriverUnavailable
from drivers.pseudonymous import PseudonymousApDriver, ap_pseudonym
from drivers.sim.driver import SimDriver
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from radio_domain.events import EventType
from radio_domain.identifiers import IdentifierHasher
from radio_domain.radio import ConfigChange
from tests.integration.conftest import EPOCH, two_ap_scenario

pytestmark = pytest.mark.unit

HASHER = IdentifierHasher(b"s" * 32)


def _wrapped() -> tuple[PseudonymousApDriver, SimDriver, SimWorld]:
    world = SimWorld(parse_scenario(two_ap_scenario(), "pseudo"), epoch=EPOCH)
    inner = SimDriver(world, ["ap-1", "ap-2"])
    return PseudonymousApDriver(inner, HASHER), inner, world


def test_pseudonyms_are_stable_keyed_and_distinct() -> None:
    assert ap_pseudonym(HASHER, "ap-1") == ap_pseudonym(HASHER, "ap-1")
    assert ap_pseudonym(HASHER, "ap-1") != ap_pseudonym(HASHER, "ap-2")
    assert ap_pseudonym(HASHER, "ap-1") != ap_pseudonym(IdentifierHasher(b"t" * 32), "ap-1")
    assert ap_pseudonym(HASHER, "ap-1").startswith("anon-ap-")


async def test_radios_states_and_managed_neighbours_carry_only_pseudonyms() -> None:
    driver, _, _ = _wrapped()
    hidden = ap_pseudonym(HASHER, "ap-1")
    assert {r.radio_id for r in driver.radios()} >= {f"{hidden}/2g", f"{hidden}/5g"}
    assert all(r.ap_id.startswith("anon-ap-") for r in driver.radios())
    states = await driver.state()
    text = repr(states)
    assert "'ap-1" not in text
    assert "'ap-2" not in text
    managed = [n for s in states for n in s.neighbors if n.managed]
    assert managed, "the APs hear each other"
    assert all(n.neighbor_id.startswith("anon-ap-") for n in managed)


async def test_changes_by_pseudonym_reach_the_real_radio() -> None:
    driver, _, world = _wrapped()
    hidden = f"{ap_pseudonym(HASHER, 'ap-2')}/5g"
    result = await driver.apply(hidden, ConfigChange(tx_power_dbm=13))
    assert result.radio_id == hidden
    assert world.radio_state("ap-2/5g").config.tx_power_dbm == 13


async def test_errors_and_events_name_the_pseudonym() -> None:
    driver, inner, _ = _wrapped()
    hidden = ap_pseudonym(HASHER, "ap-1")
    got: list[DriverEvent] = []

    async def collect() -> None:
        async for event in driver.events():
            got.append(event)

    task = asyncio.create_task(collect())
    await asyncio.sleep(0)
    inner.publish([DriverEvent("ap-1/5g", EventType.DFS_RADAR, EPOCH, channel=52, metadata={"ap_name": "ap-1"})])
    await asyncio.sleep(0.01)
    assert got[0].radio_id == f"{hidden}/5g"
    assert got[0].metadata == {"ap_name": hidden}
    await inner.close()
    await asyncio.wait_for(task, 5)
    with pytest.raises(DriverUnavailable) as caught:
        await driver.apply(f"{hidden}/5g", ConfigChange(tx_power_dbm=12))
    assert "ap-1/" not in str(caught.value)
    assert hidden in str(caught.value)
