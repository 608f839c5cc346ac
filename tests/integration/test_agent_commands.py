"""Controller commands through real agents to the (simulated) radios, with rollback tokens."""

from __future__ import annotations

import sqlite3

import pytest

from controller.command_queue import CommandState
from radio_domain.radio import ConfigChange
from rrm.v1 import agent_link_pb2 as pb
from tests.integration.conftest import Site, eventually

pytestmark = pytest.mark.integration


def _report(site: Site, change_id: str) -> pb.ActionReport | None:
    with site.ingest_db() as db:
        row = db.execute("SELECT report FROM action_reports WHERE change_id = ?", (change_id,)).fetchone()
    return pb.ActionReport.FromString(row[0]) if row else None


def _reported(site: Site, change_id: str) -> bool:
    try:
        return _report(site, change_id) is not None
    except sqlite3.OperationalError:
        return False


async def _connected(site: Site, *ap_ids: str) -> None:
    for ap_id in ap_ids:
        await site.start_agent(ap_id)
    await eventually(
        lambda: site.controller is not None and site.controller.registry.connected_count() == len(ap_ids),
        f"agents {ap_ids} connected",
    )


async def test_a_change_is_applied_reported_and_rolled_back_with_its_token(site: Site) -> None:
    controller = await site.start_controller()
    await _connected(site, "ap-1")
    change_id = controller.send_config("ap-1/5g", ConfigChange(channel=44), reason="operator test")
    await eventually(lambda: _reported(site, change_id), "the action report")
    report = _report(site, change_id)
    assert report is not None
    assert report.status == pb.APPLIED
    assert (report.before.channel, report.after.channel) == (36, 44)
    assert report.rollback_token.token_id == f"rt-{change_id}"
    assert report.rollback_token.prior_config.channel == 36
    assert site.world.config("ap-1/5g").channel == 44
    queued = controller.commands.get(change_id)
    assert queued is not None and queued.state is CommandState.ACKED

    rollback_id = controller.send_rollback("ap-1/5g", report.rollback_token.token_id, reason="test rollback")
    await eventually(lambda: _reported(site, rollback_id), "the rollback report")
    rolled = _report(site, rollback_id)
    assert rolled is not None and rolled.status == pb.ROLLED_BACK
    assert site.world.config("ap-1/5g").channel == 36


async def test_an_illegal_change_is_refused_by_the_agent_and_the_radio_is_untouched(site: Site) -> None:
    controller = await site.start_controller()
    await _connected(site, "ap-1")
    change_id = controller.send_config("ap-1/2g", ConfigChange(channel=13), reason="not in the US")
    await eventually(lambda: _reported(site, change_id), "the refusal")
    report = _report(site, change_id)
    assert report is not None and report.status == pb.REFUSED
    assert "regulatory: channel 13 is not a legal 2g channel in FCC" in report.error
    assert site.world.config("ap-1/2g").channel == 1


async def test_a_safe_zone_from_the_controller_is_enforced_by_the_agent(site: Site) -> None:
    controller = await site.start_controller()
    await _connected(site, "ap-1")
    zone = pb.SafeZone(parameter="tx_power_dbm", min=5, max=15, step=1)
    controller.send_policy("ap-1", pb.PolicyUpdate(policy_id="p1", safe_zones=[zone]))
    change_id = controller.send_config("ap-1/5g", ConfigChange(tx_power_dbm=18), reason="louder")
    await eventually(lambda: _reported(site, change_id), "the refusal")
    report = _report(site, change_id)
    assert report is not None and report.status == pb.REFUSED
    assert report.error == "tx_power_dbm 18 is outside the safe zone [5, 15]"
    assert site.world.config("ap-1/5g").tx_power_dbm == 20


async def test_a_command_for_a_disconnected_agent_is_delivered_when_it_returns(site: Site) -> None:
    controller = await site.start_controller()
    await _connected(site, "ap-1")
    await site.stop_agent("ap-1")
    await eventually(lambda: controller.registry.connected_count() == 0, "the agent gone")
    change_id = controller.send_config("ap-1/2g", ConfigChange(channel=11), reason="while away", deadline_s=None)
    await site.start_agent("ap-1")
    await eventually(lambda: _reported(site, change_id), "the report after reconnecting")
    assert site.world.config("ap-1/2g").channel == 11


async def test_a_command_past_its_deadline_is_never_applied(site: Site) -> None:
    controller = await site.start_controller()
    await _connected(site, "ap-1")
    await site.stop_agent("ap-1")
    await eventually(lambda: controller.registry.connected_count() == 0, "the agent gone")
    change_id = controller.send_config("ap-1/2g", ConfigChange(channel=11), reason="stale", deadline_s=30)
    await site.advance(60)
    await site.start_agent("ap-1")
    await eventually(lambda: controller.registry.connected_count() == 1, "the agent back")
    queued = controller.commands.get(change_id)
    assert queued is not None and queued.state is CommandState.EXPIRED
    assert site.world.config("ap-1/2g").channel == 1


async def test_a_radar_move_is_never_rolled_back_onto_the_radar_channel(site: Site) -> None:
    """Invariant 3: the AP's DFS move leaves a token, but restoring it onto the NOP channel is refused."""
    controller = await site.start_controller()
    await _connected(site, "ap-2")
    await site.advance(130)
    await eventually(lambda: controller.counters.actions == 1, "the AP's own radar move reported")
    with site.ingest_db() as db:
        blob = db.execute("SELECT report FROM action_reports WHERE origin = 'AP_AUTONOMOUS'").fetchone()[0]
    move = pb.ActionReport.FromString(blob)
    assert move.before.channel == 52 and move.after.channel != 52
    rollback_id = controller.send_rollback("ap-2/5g", move.rollback_token.token_id, reason="undo radar move")
    await eventually(lambda: _reported(site, rollback_id), "the rollback's outcome")
    outcome = _report(site, rollback_id)
    assert outcome is not None and outcome.status == pb.REFUSED
    assert outcome.error.startswith("regulatory: channels [52, 56] are in their non-occupancy period after radar")
    assert site.world.config("ap-2/5g").channel == move.after.channel
