"""The controller's one path to the radios, end to end: guardrails, shadow, approvals, rollback, audit.

A real controller and real agents on loopback (mTLS) over the simulated floor, on a virtual clock;
each test asserts what happened to the radios and what the ledger and the signed trail say.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.app import ControllerApp
from controller.audit_keys import load_or_create_signing_key
from controller.change_ledger import ChangeState
from controller.guardrails import Proposal
from controller.operator_requests import RequestKind, RequestState
from radio_domain.radio import ConfigChange
from tests.integration.conftest import Site, eventually

pytestmark = pytest.mark.integration


def _policy(site: Site, **layer: object) -> Path:
    path = site.state / "site.yaml"
    path.write_text(json.dumps({"format": "rrm-site-policy", "version": 1, "network": layer}))  # JSON is YAML
    return path


async def _running(site: Site, site_policy: Path | None = None) -> ControllerApp:
    controller = await site.start_controller(site_policy=site_policy)
    await site.start_agent("ap-1")
    await eventually(lambda: controller.registry.connected_count() == 1, "the agent connected")
    await site.advance(11)  # a first telemetry reading
    return controller


def _proposal(change: ConfigChange, loop: str = "FAST", gain: float = 0.1, change_id: str = "c1") -> Proposal:
    return Proposal(change_id, "ap-1/5g", change, loop, "test proposal", gain)


def _state(controller: ControllerApp, change_id: str = "c1") -> ChangeState | None:
    assert controller.pipeline is not None
    entry = controller.pipeline.ledger.get(change_id)
    return entry.state if entry else None


def _audited(controller: ControllerApp, change_id: str = "c1") -> list[str]:
    assert controller.audit is not None
    controller.audit.flush()
    return [e.record_type for e in controller.audit.query(change_id=change_id)]


NEVER = {"kpi": "cca_busy", "threshold": 2, "direction": "above", "window_s": 300}  # CCA busy is at most 1


async def test_an_allowed_change_is_sent_applied_watched_and_kept(site: Site) -> None:
    """A sound proposal reaches the radio, with a rollback token, and is kept after its window."""
    controller = await _running(site, _policy(site, rollback_triggers=[NEVER]))
    assert controller.pipeline is not None
    [verdict] = controller.pipeline.propose([_proposal(ConfigChange(channel=149))])
    assert verdict.allowed
    await eventually(lambda: site.world.config("ap-1/5g").channel == 149, "the radio on channel 149")
    await site.advance(2)
    await eventually(lambda: _state(controller) is ChangeState.APPLIED, "the ledger's applied")
    await site.advance(310)  # every default trigger window
    await eventually(lambda: _state(controller) is ChangeState.KEPT, "kept")
    assert _audited(controller) == ["change_sent", "change_applied", "change_kept"]
    assert controller.pipeline.ledger.get("c1").rollback_token_id == "rt-c1"  # type: ignore[union-attr]


async def test_a_refused_proposal_never_reaches_the_radio_and_says_why(site: Site) -> None:
    """A pinned channel: refused by the pin rule, recorded and audited, the radio untouched."""
    controller = await _running(site, _policy(site, pins={"channel": "current"}))
    assert controller.pipeline is not None
    [verdict] = controller.pipeline.propose([_proposal(ConfigChange(channel=149))])
    assert not verdict.allowed and "pin" in verdict.explain()
    await site.advance(5)
    assert site.world.config("ap-1/5g").channel == 36
    assert _state(controller) is ChangeState.REFUSED
    assert _audited(controller) == ["change_refused"]
    assert controller.commands.get("c1") is None


async def test_shadow_mode_sends_nothing(site: Site) -> None:
    """In shadow mode the change is recorded as what would have been done; no command exists."""
    controller = await _running(site, _policy(site, shadow=True))
    assert controller.pipeline is not None
    [verdict] = controller.pipeline.propose([_proposal(ConfigChange(channel=149))])
    assert verdict.allowed and verdict.shadow
    await site.advance(5)
    assert site.world.config("ap-1/5g").channel == 36
    assert controller.commands.get("c1") is None
    assert _state(controller) is ChangeState.SHADOW
    assert _audited(controller) == ["change_would_be_made"]


async def test_a_change_that_needs_approval_waits_for_an_operator_and_is_audited_with_them(site: Site) -> None:
    controller = await _running(site, _policy(site, safe_zones={"channel": {"requires_approval": True}}))
    assert controller.pipeline is not None
    controller.pipeline.propose([_proposal(ConfigChange(channel=149))])
    await site.advance(6)
    assert _state(controller) is ChangeState.AWAITING_APPROVAL and site.world.config("ap-1/5g").channel == 36
    controller.pipeline.approvals.approve("c1", "alice", "go ahead", site.clock.now())
    await site.advance(6)  # the next tick executes it, judged again on a fresh snapshot
    await eventually(lambda: site.world.config("ap-1/5g").channel == 149, "the approved change applied")
    assert controller.audit is not None
    controller.audit.flush()
    sent = [e for e in controller.audit.query(change_id="c1") if e.record_type == "change_sent"]
    assert [e.approver for e in sent] == ["alice"]


async def test_an_approval_nobody_gives_expires_after_thirty_minutes(site: Site) -> None:
    controller = await _running(site, _policy(site, safe_zones={"channel": {"requires_approval": True}}))
    assert controller.pipeline is not None
    controller.pipeline.propose([_proposal(ConfigChange(channel=149))])
    await site.advance(30 * 60 + 10, step_s=5.0)
    assert _state(controller) is ChangeState.REJECTED
    assert "approval_expired" in _audited(controller)
    assert site.world.config("ap-1/5g").channel == 36


async def test_a_rollback_trigger_undoes_the_change_through_the_agent(site: Site) -> None:
    """A trigger as data (CCA busy above -1: always) fires after its 30 s window; the radio goes back."""
    trigger = {"kpi": "cca_busy", "threshold": -1, "direction": "above", "window_s": 30, "rollback_depth": 1}
    controller = await _running(site, _policy(site, rollback_triggers=[trigger]))
    assert controller.pipeline is not None
    controller.pipeline.propose([_proposal(ConfigChange(channel=149))])
    await eventually(lambda: site.world.config("ap-1/5g").channel == 149, "the change applied")
    await site.advance(45)
    await eventually(lambda: site.world.config("ap-1/5g").channel == 36, "the automatic rollback")
    await site.advance(2)
    await eventually(lambda: _state(controller) is ChangeState.ROLLED_BACK, "the ledger's rolled back")
    assert {"rollback_sent", "rollback_outcome"} <= set(_audited(controller))


async def test_an_operator_rolls_back_an_aps_last_change(site: Site) -> None:
    """`rrm rollback --last 1 --ap ap-1` as the controller sees it: a request taken on its next tick."""
    controller = await _running(site, _policy(site, rollback_triggers=[NEVER]))
    assert controller.pipeline is not None
    controller.pipeline.propose([_proposal(ConfigChange(tx_power_dbm=14))])
    await eventually(lambda: site.world.config("ap-1/5g").tx_power_dbm == 14, "the change applied")
    await site.advance(2)
    await eventually(lambda: _state(controller) is ChangeState.APPLIED, "the ledger's applied")
    requests = controller.pipeline.requests
    request_id = requests.submit(RequestKind.ROLLBACK_LAST, {"ap_id": "ap-1", "count": 1}, "bob", site.clock.now())
    await site.advance(6)
    await eventually(lambda: site.world.config("ap-1/5g").tx_power_dbm == 20, "the operator's rollback")
    done = requests.get(request_id)
    assert done is not None and done.state is RequestState.DONE and done.result["rolled_back"] == ["c1"]


async def test_the_trail_verifies_with_the_public_key_after_a_restart(site: Site) -> None:
    """Decisions of two controller lifetimes form one chain, signed at each shutdown."""
    controller = await _running(site)
    assert controller.pipeline is not None
    controller.pipeline.propose([_proposal(ConfigChange(channel=149))])
    await site.advance(3)
    await site.stop_controller()
    controller = await site.start_controller()
    assert controller.pipeline is not None
    controller.pipeline.propose([_proposal(ConfigChange(tx_power_dbm=14), change_id="c2")])
    await site.stop_controller()
    from controller.audit_trail import AUDIT_DB_FILE, AuditTrailReader

    state = site.state / "controller"
    public = load_or_create_signing_key(state).public_key()
    reader = AuditTrailReader.open(state / AUDIT_DB_FILE)
    try:
        report = reader.verify(public)
    finally:
        reader.close()
    assert report.ok and report.records >= 2 and report.chain_only == 0


async def test_the_operator_commands_work_against_a_running_controller(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rrm change`, `rrm explain` and `rrm rollback` from another thread, as from another process."""
    import asyncio

    from rrm.cli.main import main

    controller = await _running(site, _policy(site, rollback_triggers=[NEVER]))
    state = str(site.state / "controller")

    async def run_cli(*argv: str) -> int:
        call = asyncio.create_task(asyncio.to_thread(main, list(argv)))
        while not call.done():
            await site.advance(1)  # the controller ticks every 5 virtual seconds
            await asyncio.sleep(0.05)
        return call.result()

    code = await run_cli(
        "change", "--state-dir", state, "--radio", "ap-1/5g", "--tx-power", "14", "--operator", "carol", "--reason", "t"
    )
    out = capsys.readouterr().out
    assert code == 0 and "allowed" in out, out
    change_id = out.strip().rsplit(" ", 1)[-1]
    await eventually(lambda: site.world.config("ap-1/5g").tx_power_dbm == 14, "the operator's change applied")
    await site.advance(3)
    stories: list[str] = []

    def explained() -> bool:  # the agent's report reaches the audit over gRPC, in real time
        assert main(["explain", change_id, "--state-dir", state]) == 0
        stories.append(capsys.readouterr().out)
        return "applied by the agent" in stories[-1]

    await eventually(explained, "the agent's report of the change in `rrm explain`")
    story = stories[-1]
    assert "OPERATOR loop" in story and "rt-" in story
    assert await run_cli("rollback", "--last", "1", "--ap", "ap-1", "--state-dir", state, "--operator", "carol") == 0
    await eventually(lambda: site.world.config("ap-1/5g").tx_power_dbm == 20, "the operator's rollback")
    assert main(["change", "--state-dir", state, "--radio", "ap-1/5g", "--operator", "carol", "--reason", "x"]) == 2
    assert "at least one of --channel" in capsys.readouterr().err
    assert controller.registry.connected_count() == 1


def test_a_controller_with_a_broken_site_policy_does_not_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every problem of the file on stderr, exit 2, before anything listens."""
    from rrm.cli.main import main

    bad = tmp_path / "site.yaml"
    bad.write_text("format: rrm-site-policy\nversion: 1\nnetwork: {pins: {channel: banana}, shadow: 3}\n")
    state = str(tmp_path / "s")
    code = main(
        ["controller", "--insecure", "--listen", "127.0.0.1:0", "--state-dir", state, "--site-policy", str(bad)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "network.pins.channel" in err and "network.shadow" in err, err


async def test_agents_receive_and_enforce_their_aps_safe_zones(site: Site) -> None:
    """Invariant 2 on both sides: the site policy's zone reaches the agent, which refuses beyond it."""
    controller = await _running(site, _policy(site, safe_zones={"tx_power_dbm": {"max": 23, "default": 14}}))
    agent = site.agents["ap-1"]
    await site.advance(6)
    await eventually(
        lambda: any(z.maximum == 23 for z in agent.actions.zones_for("ap-1/5g") if z.parameter == "tx_power_dbm"),
        "the zone at the agent",
    )
    direct = controller.send_config("ap-1/5g", ConfigChange(tx_power_dbm=17.5), reason="around the pipeline")
    await eventually(lambda: controller.commands.get(direct) is not None, "queued")
    await site.advance(2)
    assert site.world.config("ap-1/5g").tx_power_dbm == 20  # off the zone's 1 dB grid: refused by the agent
