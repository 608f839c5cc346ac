"""What the agent knows about its radios: when rankings are redone, what a reading teaches."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from drivers.protocol import DriverEvent
from drivers.sim.driver import SimDriver
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from edge_agent.runtime import AgentRuntime, AgentSettings
from radio_domain.events import EventType
from radio_domain.identifiers import IdentifierHasher
from rrm.clock import VirtualClock
from rrm.sqlite_files import open_database
from tests.integration.conftest import EPOCH, two_ap_scenario

pytestmark = pytest.mark.unit


@pytest.fixture
async def agent(tmp_path: Path) -> AgentRuntime:
    world = SimWorld(parse_scenario(two_ap_scenario(), "test"), epoch=EPOCH)
    runtime = AgentRuntime(
        AgentSettings(agent_id="edge", region=world.region),
        SimDriver(world, ["ap-2"]),
        open_database(tmp_path / "a.db"),
        IdentifierHasher(b"k" * 32),
        VirtualClock(start=EPOCH),
        None,
    )
    await runtime.sample_telemetry()
    await runtime.event_loop.process_pending()
    return runtime


def _burst(agent: AgentRuntime, duty: float) -> DriverEvent:
    config = agent.configs["ap-2/5g"]
    return DriverEvent("ap-2/5g", EventType.NON_WIFI_BURST, EPOCH, 0.5, 52, config, {"duty_cycle": f"{duty:.2f}"})


async def test_a_ranking_is_ready_before_any_event_and_kept_while_nothing_it_needs_changes(agent: AgentRuntime) -> None:
    """Weak interference that moves a little leaves the ranking alone; crossing the exclusion level redoes it."""
    knowledge = agent.event_loop.knowledge
    assert knowledge.stale() == []
    knowledge.note_event(_burst(agent, 0.10))
    knowledge.note_event(_burst(agent, 0.15))
    assert "ap-2/5g" not in knowledge.stale()
    knowledge.note_event(_burst(agent, 0.35))  # past the selector's 0.3 exclusion level
    assert "ap-2/5g" in knowledge.stale()  # redone after the next pass...
    context = knowledge.context("ap-2/5g", EPOCH)
    assert context is not None and context.ranking is not None  # ...the decision filters the ready one


async def test_a_new_channel_or_a_new_reading_redoes_the_ranking(agent: AgentRuntime) -> None:
    """The ranking depends on the channel, width and what the radio hears."""
    knowledge = agent.event_loop.knowledge
    state = knowledge.states["ap-2/5g"]
    knowledge.note_config("ap-2/5g", replace(state.config, tx_power_dbm=state.config.tx_power_dbm - 1))
    assert knowledge.stale() == []  # power alone: same candidates
    knowledge.note_config("ap-2/5g", replace(state.config, channel=149))
    assert knowledge.stale() == ["ap-2/5g"]
    await agent.event_loop.process_pending()
    knowledge.note_state(state)
    assert "ap-2/5g" in knowledge.stale()


async def test_a_radio_on_air_on_a_dfs_channel_has_cleared_it(agent: AgentRuntime) -> None:
    """ap-2/5g operates on 52/40: 52 and 56 are known as cleared, so moving back needs no CAC."""
    assert {52, 56} <= agent.dfs.cleared("ap-2/5g")


async def test_radar_is_decided_on_the_ready_ranking_which_is_redone_after(agent: AgentRuntime) -> None:
    """The radar decision only filters the ranking (fast); the ranking and fallback list follow right after."""
    knowledge = agent.event_loop.knowledge
    config = agent.configs["ap-2/5g"]
    radar = DriverEvent("ap-2/5g", EventType.DFS_RADAR, EPOCH, 1.0, 52, config, {"nop_channels": "52,56"})
    knowledge.note_event(radar)
    context = knowledge.context("ap-2/5g", EPOCH)
    assert context is not None and context.ranking is not None
    assert {52, 56} <= set(context.blocked)
    assert "ap-2/5g" in knowledge.stale()
    await agent.event_loop.process_pending()
    assert knowledge.stale() == []
