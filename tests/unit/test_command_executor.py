"""The agent's command execution: once per command, with a token, refusing what it must."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.sim.driver import SimDriver
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from edge_agent.action_ledger import ActionLedger
from edge_agent.command_executor import CommandExecutor
from edge_agent.command_journal import CommandJournal
from edge_agent.local_audit import LocalAuditLog
from edge_agent.non_occupancy import NonOccupancyTimers
from edge_agent.policy_book import PolicyBook
from edge_agent.radio_actions import RadioActions
from edge_agent.rollback_tokens import RollbackTokenStore
from rrm.clock import VirtualClock
from rrm.sqlite_files import open_database
from rrm.v1 import agent_link_pb2 as pb
from tests.integration.conftest import two_ap_scenario

pytestmark = pytest.mark.unit


@pytest.fixture
def setup(tmp_path: Path) -> tuple[CommandExecutor, SimWorld, list[pb.AgentMessage]]:
    world = SimWorld(parse_scenario(two_ap_scenario(), "test"), epoch=1_767_225_600.0)
    driver = SimDriver(world, ["ap-1"])
    db = open_database(tmp_path / "agent.db")
    emitted: list[pb.AgentMessage] = []
    clock = VirtualClock(start=1_767_225_600.0)
    journal, policies = CommandJournal(db), PolicyBook(db)
    actions = RadioActions(
        agent_id="ap-1",
        region=world.region,
        driver=driver,
        radios={r.radio_id: r for r in driver.radios()},
        configs={r.radio_id: world.config(r.radio_id) for r in driver.radios()},
        journal=journal,
        non_occupancy=NonOccupancyTimers(db),
        tokens=RollbackTokenStore(db),
        policies=policies,
        clock=clock,
    )
    ledger = ActionLedger(LocalAuditLog(db), emitted.append, clock)
    executor = CommandExecutor(actions=actions, ledger=ledger, journal=journal, policies=policies, clock=clock)
    return executor, world, emitted


def _config(message_id: str, radio_id: str, **change: int) -> pb.ControllerMessage:
    cmd = pb.ConfigCommand(change_id=message_id, radio_id=radio_id, parameters=pb.ConfigChange(**change))
    return pb.ControllerMessage(message_id=message_id, config_command=cmd)


def _reports(emitted: list[pb.AgentMessage]) -> list[pb.ActionReport]:
    return [m.action_report for m in emitted if m.WhichOneof("body") == "action_report"]


async def test_a_resent_command_is_applied_once(setup: tuple[CommandExecutor, SimWorld, list[pb.AgentMessage]]) -> None:
    executor, world, emitted = setup
    await executor.handle(_config("c1", "ap-1/5g", channel=44))
    await executor.handle(_config("c1", "ap-1/5g", channel=44))
    assert [r.status for r in _reports(emitted)] == [pb.APPLIED]
    assert world.config("ap-1/5g").channel == 44


async def test_every_action_is_reported_and_audited(
    setup: tuple[CommandExecutor, SimWorld, list[pb.AgentMessage]],
) -> None:
    executor, _, emitted = setup
    await executor.handle(_config("c1", "ap-1/5g", channel=44))
    kinds = [m.WhichOneof("body") for m in emitted]
    assert kinds == ["action_report", "audit"]
    audit = emitted[1].audit
    assert (audit.record_type, audit.outcome, audit.after.channel) == ("config_command", "APPLIED", 44)
    assert audit.rollback_token_id == emitted[0].action_report.rollback_token.token_id


async def test_a_command_for_a_radio_of_another_agent_is_refused(
    setup: tuple[CommandExecutor, SimWorld, list[pb.AgentMessage]],
) -> None:
    executor, world, emitted = setup
    await executor.handle(_config("c2", "ap-2/5g", channel=44))
    report = _reports(emitted)[0]
    assert report.status == pb.REFUSED
    assert report.error == "radio 'ap-2/5g' is not managed by agent ap-1"
    assert world.config("ap-2/5g").channel == 52


async def test_an_unknown_rollback_token_is_refused(
    setup: tuple[CommandExecutor, SimWorld, list[pb.AgentMessage]],
) -> None:
    executor, _, emitted = setup
    cmd = pb.RollbackCommand(rollback_id="r1", radio_id="ap-1/5g", rollback_token_id="nope")
    await executor.handle(pb.ControllerMessage(message_id="r1", rollback_command=cmd))
    report = _reports(emitted)[0]
    assert report.status == pb.REFUSED
    assert "no rollback token 'nope'" in report.error
