"""`rrm plan` and the scheduler in a running controller: real agents on loopback over the simulated floor.

A real controller (its scheduler ticks every 10 s of virtual time) and three real agents over
mTLS; operators ask through the controller's database as `rrm plan` does, and one test runs the
command itself as a separate process against the running controller.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from dataclasses import replace

import pytest

from controller.app import ControllerApp
from controller.approvals import ApprovalQueue, ApprovalState
from controller.change_ledger import ChangeState
from controller.operator_requests import OperatorRequest, OperatorRequests, RequestKind, RequestState
from rrm.sqlite_files import open_database
from rrm.wire_codec import ms
from tests.integration.conftest import Site

pytestmark = pytest.mark.integration


async def _running(site: Site) -> ControllerApp:
    controller = await site.start_connected()
    await site.advance(21)  # two telemetry readings with the neighbours every radio hears
    return controller


def _ask(site: Site, arguments: dict[str, object]) -> str:
    conn = open_database(site.state / "controller" / "controller.db")
    try:
        return OperatorRequests(conn).submit(RequestKind.PLAN, arguments, "alice", site.clock.now())
    finally:
        conn.close()


def _answer(controller: ControllerApp, request_id: str) -> OperatorRequest | None:
    assert controller.pipeline is not None
    request = controller.pipeline.requests.get(request_id)
    return request if request is not None and request.state in (RequestState.DONE, RequestState.FAILED) else None


async def _answered(site: Site, controller: ControllerApp, request_id: str) -> OperatorRequest:
    for _ in range(30):
        answer = _answer(controller, request_id)
        if answer is not None:
            return answer
        await site.advance(1)
    raise AssertionError(f"request {request_id} was not answered within 30 simulated seconds")


def _configs(site: Site) -> dict[str, tuple[int, int, float]]:
    return {r: (c.channel, c.width_mhz, c.tx_power_dbm) for r in site.world.radio_ids() for c in [site.world.config(r)]}


async def test_a_dry_run_shows_the_plan_and_changes_nothing(site: Site) -> None:
    """Per radio before/after, the cost, the steps of at most 3 APs and the approval: no radio moves."""
    controller = await _running(site)
    before = _configs(site)
    answer = await _answered(site, controller, _ask(site, {"site": "default", "dry_run": True, "reason": "look"}))
    assert answer.state is RequestState.DONE, answer.result
    plan = answer.result["plan"]
    assert answer.result["radios"] == 6
    assert plan["cost_after"] <= plan["cost_before"]
    changed = {c["radio_id"] for c in plan["changes"]}
    staged = {r for step in plan["steps"] for r in step["radio_ids"]}
    assert staged == changed
    assert all(len(step["ap_ids"]) <= 3 for step in plan["steps"])
    assert plan["needs_approval"] is False  # 3 APs: below the default 6
    gate = answer.result["window_quality_gate"]
    assert isinstance(gate["would_plan"], bool) and "quality threshold 0.95" in gate["reason"], gate
    await site.advance(30)
    assert _configs(site) == before
    assert controller.pipeline is not None
    assert not [e for e in controller.pipeline.ledger.in_state(*ChangeState) if e.loop == "SLOW"]


async def test_a_plan_on_demand_is_staged_through_the_pipeline_to_the_radios(site: Site) -> None:
    """The plan starts at the next tick; its first step's changes are judged, sent, applied and audited."""
    controller = await _running(site)
    answer = await _answered(site, controller, _ask(site, {"site": "default", "dry_run": False, "reason": "now"}))
    assert answer.state is RequestState.DONE, answer.result
    assert any(str(d).startswith("plan_started") for d in answer.result["decisions"])
    assert controller.pipeline is not None
    ledger = controller.pipeline.ledger
    assert answer.result.get("radios"), f"the planner changes nothing on this floor: {answer.result}"
    await site.advance(5)
    slow = [e for e in ledger.in_state(*ChangeState) if e.loop == "SLOW"]
    assert slow, "the plan's first step reached the pipeline"
    assert {e.plan_id for e in slow} == {answer.result["plan_id"]}
    applied = [e for e in slow if e.state in (ChangeState.APPLIED, ChangeState.KEPT, ChangeState.ROLLED_BACK)]
    for entry in applied:
        target = entry.story["proposal"]["parameters"]
        assert entry.story["history"][1]["after"]["channel"] == int(target["channel"])
    assert controller.audit is not None
    controller.audit.flush()
    decisions = [e.reason_code for e in controller.audit.query(record_type="scheduler_decision")]
    assert "SLOW_LOOP:PLAN_STARTED" in decisions


async def test_a_plan_for_another_site_is_refused(site: Site) -> None:
    controller = await _running(site)
    answer = await _answered(site, controller, _ask(site, {"site": "elsewhere", "dry_run": True}))
    assert answer.state is RequestState.FAILED
    assert "plans site 'default', not 'elsewhere'" in answer.result["error"]


async def test_radar_reported_by_an_agent_locks_its_ap_in_the_scheduler(site: Site) -> None:
    """The radar at t=120 s on ap-2's DFS channel reaches the controller and locks ap-2 for 5 minutes."""
    controller = await _running(site)
    await site.advance(120)
    shim = controller.scheduler
    assert shim is not None
    await site.advance(10)  # the next scheduler tick takes the report
    assert "ap-2" in shim.scheduler.locks.locked_aps(site.clock.now())
    await site.advance(300)
    assert "ap-2" not in shim.scheduler.locks.locked_aps(site.clock.now())


async def test_rrm_plan_dry_run_as_a_separate_process(site: Site) -> None:
    """The command itself, against the running controller: it waits for the answer and prints the plan."""
    controller = await _running(site)
    state_dir = site.state / "controller"
    args = ["plan", "--site", "default", "--dry-run", "--json", "--state-dir", str(state_dir), "--operator", "bob"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rrm.cli.main", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    communicate = asyncio.ensure_future(proc.communicate())
    for _ in range(600):
        if communicate.done():
            break
        await site.advance(1)
        await asyncio.sleep(0.02)
    out, err = await communicate
    assert proc.returncode == 0, err.decode()
    answer = json.loads(out)
    assert answer["dry_run"] is True and "steps" in answer["plan"]
    assert controller.pipeline is not None
    assert not [e for e in controller.pipeline.ledger.in_state(*ChangeState) if e.loop == "SLOW"]


async def test_a_plan_above_the_approval_size_waits_for_an_operator(site: Site) -> None:
    """With approvals above 1 AP: the plan is filed as one approval; once approved its first step goes out."""
    controller = await site.start_connected(replace(site.controller_settings(), plan_approval_above_aps=1))
    await site.advance(21)
    answer = await _answered(site, controller, _ask(site, {"site": "default", "dry_run": False}))
    assert answer.result.get("needs_approval") is True, answer.result
    plan_id = str(answer.result["plan_id"])
    assert controller.pipeline is not None
    conn = open_database(site.state / "controller" / "controller.db")  # the operator's side, as `rrm approvals`
    try:
        queue = ApprovalQueue(conn)
        assert [r.request_id for r in queue.pending(site.clock.now())] == [plan_id]
        await site.advance(30)
        assert not [e for e in controller.pipeline.ledger.in_state(*ChangeState) if e.loop == "SLOW"]
        queue.approve(plan_id, "carol", "go", site.clock.now())
    finally:
        conn.close()
    await site.advance(25)
    slow = [e for e in controller.pipeline.ledger.in_state(*ChangeState) if e.loop == "SLOW"]
    assert slow and {e.plan_id for e in slow} == {plan_id}
    request = controller.pipeline.approvals.get(plan_id)
    assert request is not None and request.decided_by == "carol" and request.state is ApprovalState.EXECUTED


async def test_the_fast_loop_does_not_iterate_the_radios_of_a_locked_ap(site: Site) -> None:
    """A 20-minute monitoring window after ap-2's radar: the fast loop (shadow) iterates ap-1 and ap-3, never ap-2."""
    controller = await site.start_connected(replace(site.controller_settings(), monitoring_window_s=1200.0))
    await site.advance(150)  # the radar at t=120 s on ap-2's DFS channel, and a scheduler tick after it
    shim = controller.scheduler
    assert shim is not None
    lock = shim.scheduler.locks.held("ap-2", site.clock.now())
    assert lock is not None, "ap-2 is not locked after its radar"
    await site.advance(900)
    iterated = _fast_loop_observations(site, lock.since, lock.until)
    assert iterated, "the fast loop iterated no radio in 15 minutes"
    assert not [r for r in iterated if r.startswith("ap-2/")], iterated


def _fast_loop_observations(site: Site, after_s: float, before_s: float) -> list[str]:
    """The radios whose fast-loop optimiser was told an observation between the two times."""
    with sqlite3.connect(site.state / "controller" / "fast_loop.db") as conn:
        query = "SELECT radio_id FROM fast_loop_observations WHERE ts_s > ? AND ts_s < ?"
        rows = conn.execute(query, (after_s, before_s)).fetchall()
    return sorted({r for (r,) in rows})


async def test_the_quality_gate_reads_each_radios_client_qoe_from_the_agents_samples(site: Site) -> None:
    """Each radio with stations, the mean QoE of its client readings (the run is within one hour)."""
    controller = await _running(site)
    shim, telemetry = controller.scheduler, controller.telemetry
    assert shim is not None and telemetry is not None
    now = site.clock.now()
    hour_start = now // 3600 * 3600
    found = shim.sources(now).radio_qoe(hour_start - 3600.0)
    served = {r for r in site.world.radio_ids() if site.world.radio_state(r).clients}
    assert set(found) == served, (found, served)
    for radio_id, qoe in found.items():
        window = telemetry.aggregate(radio_id, ms(now))  # every sample of the run, all clients' readings
        assert window is not None and window.qoe_mean is not None
        assert window.first_ts_ms >= ms(hour_start), "the run began before this hour: two hours to compare"
        assert qoe == pytest.approx(window.qoe_mean, abs=1e-6), radio_id
    assert shim.sources(now).radio_qoe(now) == {}  # nothing read after now
