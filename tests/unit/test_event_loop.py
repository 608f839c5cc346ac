"""The edge event loop on a simulated building: radar, interference, rollback, guards, refusals.

Every test runs one agent (no controller: the loop must not need one) against a SimWorld on a
virtual clock, stepping the world, feeding the agent its driver events and readings the way the
runtime does, and then looking at the radios and at what the agent put in its outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from drivers.protocol import DriverEvent, RadioState
from drivers.sim.driver import SimDriver
from drivers.sim.scenario import parse_scenario
from drivers.sim.world import SimWorld
from edge_agent.decisions import rank
from edge_agent.runtime import AgentRuntime, AgentSettings
from radio_domain import regulatory
from radio_domain.events import EventType
from radio_domain.identifiers import IdentifierHasher
from radio_domain.radio import Band, ConfigChange
from radio_domain.regulatory import NOP_SECONDS, Region
from rrm.clock import VirtualClock
from rrm.sqlite_files import open_database
from rrm.v1 import agent_link_pb2 as pb
from tests.integration.conftest import EPOCH, two_ap_scenario

pytestmark = pytest.mark.unit

RADAR_AT_S = 120  # two_ap_scenario: radar on 5270 MHz, which ap-2/5g (52/40) occupies


@dataclass
class Rig:
    world: SimWorld
    driver: SimDriver
    clock: VirtualClock
    db_path: Path
    agent: AgentRuntime

    async def run(self, seconds: int, telemetry_every_s: int = 10) -> None:
        """Step the world second by second; the agent sees every event and a reading every 10 s."""
        for _ in range(seconds):
            self.clock.advance(1.0)
            for event in self.world.step(1.0):
                if self.driver.owns(event.radio_id):
                    self.agent.handle_event(event)
            if round(self.clock.now() - EPOCH) % telemetry_every_s == 0:
                await self.agent.sample_telemetry()
            await self.agent.event_loop.process_pending()

    async def inject(self, event: DriverEvent) -> None:
        self.agent.handle_event(event)
        await self.agent.event_loop.process_pending()

    async def observe(self, state: RadioState) -> None:
        self.agent.event_loop.observe_states([state])
        await self.agent.event_loop.process_pending()

    def messages(self) -> list[pb.AgentMessage]:
        entries = self.agent.outbox.pending(durable=True, after_seq=0, limit=100_000)
        return [pb.AgentMessage.FromString(e.payload) for e in entries]

    def reports(self) -> list[pb.ActionReport]:
        return [m.action_report for m in self.messages() if m.WhichOneof("body") == "action_report"]

    def audits(self) -> list[pb.AuditRecord]:
        return [m.audit for m in self.messages() if m.WhichOneof("body") == "audit"]

    def restart(self) -> AgentRuntime:
        """A new agent process on the same state directory and the same AP."""
        self.agent = _agent(self.driver, self.db_path, self.clock, self.world.region)
        return self.agent


def _agent(driver: SimDriver, db_path: Path, clock: VirtualClock, region: Region) -> AgentRuntime:
    settings = AgentSettings(agent_id="edge", region=region)
    return AgentRuntime(settings, driver, open_database(db_path), IdentifierHasher(b"k" * 32), clock, None)


def _rig(tmp_path: Path, scenario: dict[str, object], ap_ids: list[str]) -> Rig:
    world = SimWorld(parse_scenario(scenario, "test"), epoch=EPOCH)
    driver = SimDriver(world, ap_ids)
    clock = VirtualClock(start=EPOCH)
    db_path = tmp_path / "agent.db"
    return Rig(world, driver, clock, db_path, _agent(driver, db_path, clock, world.region))


@pytest.fixture
async def rig(tmp_path: Path) -> Rig:
    """ap-1 and ap-2 of the three-AP floor under one agent, with a first reading taken."""
    made = _rig(tmp_path, two_ap_scenario(), ["ap-1", "ap-2"])
    await made.agent.sample_telemetry()
    await made.agent.event_loop.process_pending()
    return made


def _burst(rig: Rig, radio_id: str, duty: float = 0.8, confidence: float = 0.9) -> DriverEvent:
    config = rig.world.config(radio_id)
    return DriverEvent(
        radio_id,
        EventType.NON_WIFI_BURST,
        rig.clock.now(),
        confidence,
        config.channel,
        config,
        {"duty_cycle": f"{duty:.2f}", "source": "spectral"},
    )


def _worse(state: RadioState, **changes: Any) -> RadioState:
    """``state`` with ``changes``, its clients getting a fifth less throughput (loss that costs them)."""
    slower = tuple(replace(c, throughput_mbps=0.8 * c.throughput_mbps) for c in state.clients)
    return replace(state, **({"clients": slower} | changes))


def _radar(rig: Rig, nop_channels: str) -> DriverEvent:
    """A radar report on ap-2/5g's channel 52, naming the channels it blocks, as a driver sends it."""
    config = rig.world.config("ap-2/5g")
    metadata = {"nop_channels": nop_channels, "nop_s": "1800"}
    return DriverEvent("ap-2/5g", EventType.DFS_RADAR, rig.clock.now(), 1.0, 52, config, metadata)


def _without_own_radar_move(rig: Rig, radio_id: str, **capabilities: object) -> None:
    """Make the agent see an AP that does not move by itself on radar (e.g. no fallback list)."""
    info = rig.agent.radios[radio_id]
    caps = replace(info.capabilities, can_set_fallback_channels=False, **capabilities)  # type: ignore[arg-type]
    rig.agent.radios[radio_id] = replace(info, capabilities=caps)
    rig.agent.event_loop.knowledge.invalidate(radio_id)


def _group(rig: Rig, radio_id: str) -> set[int]:
    config = rig.world.config(radio_id)
    _, band = radio_id.split("/")
    return set(regulatory.bonding_group(rig.world.region, Band(band), config.channel, config.width_mhz))


async def test_radar_leaves_the_channel_at_once_through_the_aps_fallback_list(rig: Rig) -> None:
    """The agent pointed the AP's fallback list at its ranking; radar lands the radio on its head."""
    fallback = rig.world.radio("ap-2/5g").fallback
    assert fallback and not set(fallback) & {52, 56}
    await rig.run(RADAR_AT_S + 1)
    assert not _group(rig, "ap-2/5g") & {52, 56}
    assert rig.world.config("ap-2/5g").channel == fallback[0]
    moves = [r for r in rig.reports() if r.origin == pb.AP_AUTONOMOUS]
    assert len(moves) == 1 and moves[0].before.channel == 52 and moves[0].rollback_token.token_id


async def test_the_radar_channel_is_never_used_again_within_thirty_minutes(rig: Rig) -> None:
    """For the whole non-occupancy period, neither the loop's own moves nor anything else go back."""
    await rig.run(RADAR_AT_S + 1)
    hit = rig.clock.now()
    while rig.clock.now() < hit + NOP_SECONDS - 60:
        await rig.inject(_burst(rig, "ap-2/5g"))  # interference keeps forcing it to move on
        await rig.run(60)
        assert not _group(rig, "ap-2/5g") & {52, 56}, f"back on the radar channels after {rig.clock.now() - hit:.0f} s"
    radio = rig.agent.radios["ap-2/5g"]
    assert rig.agent.actions.violations(radio, ConfigChange(channel=52, width_mhz=40), rig.clock.now())
    await rig.run(120)
    assert not rig.agent.actions.violations(radio, ConfigChange(channel=52, width_mhz=40), rig.clock.now())


async def test_the_non_occupancy_period_survives_an_agent_restart(rig: Rig) -> None:
    """A restarted agent still refuses the radar channel, and does not rank it."""
    await rig.run(RADAR_AT_S + 1)
    agent = rig.restart()
    await agent.sample_telemetry()
    await agent.event_loop.process_pending()
    assert {52, 56} <= set(agent.dfs.blocked("ap-2/5g", rig.clock.now()))
    radio = agent.radios["ap-2/5g"]
    assert any("non-occupancy" in v for v in agent.actions.violations(radio, ConfigChange(channel=52), rig.clock.now()))
    assert not {52, 56} & set(rig.world.radio("ap-2/5g").fallback)


async def test_radar_the_ap_did_not_act_on_is_acted_on_by_the_agent_and_never_rolled_back(rig: Rig) -> None:
    """The AP gets its grace to move by itself (a switch mid-CSA is refused); then the agent moves it, for good."""
    radar = _radar(rig, "52,56")
    await rig.inject(radar)
    assert rig.world.config("ap-2/5g").channel == 52, "the agent does not race the AP's own channel switch"
    rig.clock.advance(2.1)
    await rig.agent.event_loop.process_pending()
    assert not _group(rig, "ap-2/5g") & {52, 56}
    [report] = [r for r in rig.reports() if r.origin == pb.LOCAL_EVENT_LOOP]
    assert report.status == pb.APPLIED and report.before.channel == 52
    terrible = replace(rig.world.radio_state("ap-2/5g"), packet_error_rate=0.9, retry_rate=0.9)
    await rig.observe(terrible)
    assert not _group(rig, "ap-2/5g") & {52, 56}
    assert rig.agent.event_loop.stats.rollbacks == 0


async def test_strong_interference_moves_the_radio_and_explains_why(rig: Rig) -> None:
    """A >= 0.8 confidence, >= 70 % duty burst: a channel change, audited with reason and inputs."""
    before = rig.world.config("ap-1/5g").channel
    await rig.inject(_burst(rig, "ap-1/5g"))
    assert rig.world.config("ap-1/5g").channel != before
    [audit] = [a for a in rig.audits() if a.record_type == "event_channel_change"]
    assert audit.reason_code == "NON_WIFI_BURST_AVOIDANCE" and audit.outcome == "APPLIED"
    assert audit.before.channel == before and audit.after.channel == rig.world.config("ap-1/5g").channel
    assert "best of" in audit.details_json and '"duty_cycle": "0.80"' in audit.details_json
    assert audit.rollback_token_id


@pytest.mark.parametrize(
    ("worse", "trigger"),
    [
        ({"packet_error_rate": 0.5}, "packet error rate"),
        ({"retry_rate": 0.6}, "retry rate"),
        ({"disassociations_total": 10_000}, "client disconnections a minute"),
        ({"clients": ()}, "client throughput"),
    ],
)
async def test_each_monitoring_trigger_rolls_the_move_back(rig: Rig, worse: dict[str, object], trigger: str) -> None:
    """PER or retries +30 %, > 10 disconnects a minute, throughput -40 %, on two readings in a row:
    back to the prior config."""
    before = rig.world.config("ap-1/2g")
    await rig.inject(_burst(rig, "ap-1/2g"))
    moved = rig.world.config("ap-1/2g")
    assert moved.channel != before.channel
    for _ in range(2):
        assert rig.world.config("ap-1/2g") == moved  # the first bad reading alone rolls nothing back
        rig.clock.advance(10)
        await rig.observe(_worse(rig.world.radio_state("ap-1/2g"), **worse))
    assert rig.world.config("ap-1/2g") == before
    [rollback] = [r for r in rig.reports() if r.origin == pb.ROLLBACK]
    assert rollback.status == pb.ROLLED_BACK and trigger in rollback.reason


async def test_a_new_critical_event_in_the_window_rolls_the_move_back(rig: Rig) -> None:
    """A hardware failure report right after a move undoes the move."""
    before = rig.world.config("ap-1/2g")
    await rig.inject(_burst(rig, "ap-1/2g"))
    failure = DriverEvent("ap-1/2g", EventType.HW_FAILURE, rig.clock.now(), 1.0, rig.world.config("ap-1/2g").channel)
    await rig.inject(failure)
    assert rig.world.config("ap-1/2g") == before
    assert any(r.origin == pb.ROLLBACK and "HW_FAILURE" in r.reason for r in rig.reports())


async def test_a_move_that_stays_good_is_kept_after_its_window(rig: Rig) -> None:
    """Five quiet minutes after the move: kept, no longer watched, nothing rolled back."""
    await rig.inject(_burst(rig, "ap-1/2g"))
    moved = rig.world.config("ap-1/2g")
    await rig.run(310)
    assert rig.world.config("ap-1/2g").channel == moved.channel
    assert "ap-1/2g" not in rig.agent.event_loop.watched
    assert rig.agent.event_loop.stats.rollbacks == 0


async def test_a_rollback_never_goes_back_onto_a_channel_radar_has_closed_since(rig: Rig) -> None:
    """The way back is closed by radar in the meantime: the rollback is refused and the radio stays."""
    await rig.inject(_burst(rig, "ap-2/5g"))
    moved = rig.world.config("ap-2/5g")
    assert moved.channel not in (52, 56)
    rig.agent.dfs.record_radar("ap-2/5g", [52, 56], rig.clock.now(), rig.clock.now() + NOP_SECONDS)
    for _ in range(2):
        rig.clock.advance(10)
        await rig.observe(_worse(rig.world.radio_state("ap-2/5g"), packet_error_rate=0.9))
    assert rig.world.config("ap-2/5g").channel == moved.channel
    [refused] = [r for r in rig.reports() if r.origin == pb.ROLLBACK]
    assert refused.status == pb.REFUSED and "non-occupancy" in refused.error


async def test_a_rolled_back_action_is_held_down_before_it_is_tried_again(rig: Rig) -> None:
    """After a rollback the same kind of action waits (600 s, doubling), so the radio does not flap."""
    await rig.inject(_burst(rig, "ap-1/2g"))
    for _ in range(2):
        rig.clock.advance(10)
        await rig.observe(_worse(rig.world.radio_state("ap-1/2g"), packet_error_rate=0.9))
    assert rig.agent.event_loop.stats.rollbacks == 1
    rig.clock.advance(40)
    await rig.inject(_burst(rig, "ap-1/2g"))
    assert rig.agent.event_loop.stats.deferred_by_holddown == 1
    assert rig.agent.event_loop.stats.actions == 1


async def test_the_cooldown_holds_a_second_move_but_not_radar(rig: Rig) -> None:
    """A width reduction, then 5 s later a move is held by the cooldown; radar 1 s later moves at once."""
    await rig.inject(_burst(rig, "ap-2/5g", duty=0.5))  # 30-70 % duty: narrow, stay on channel 52
    assert (rig.world.config("ap-2/5g").channel, rig.world.config("ap-2/5g").width_mhz) == (52, 20)
    rig.clock.advance(5)
    await rig.inject(_burst(rig, "ap-2/5g"))
    loop = rig.agent.event_loop
    assert loop.stats.actions == 1 and loop.stats.deferred_by_cooldown == 1
    assert rig.world.config("ap-2/5g").channel == 52
    rig.clock.advance(1)
    radar = _radar(rig, "52")
    await rig.inject(radar)
    rig.clock.advance(2.1)  # the AP's grace for its own move; still inside the 10 s cooldown
    await loop.process_pending()
    assert rig.world.config("ap-2/5g").channel != 52
    assert loop.stats.actions == 2


async def test_the_agent_refuses_its_own_change_outside_the_safe_zone(rig: Rig) -> None:
    """A power raise beyond the controller's safe zone is refused locally, with the zone named."""
    zone = pb.SafeZone(parameter="tx_power_dbm", min=5, max=20, step=1)
    rig.agent.executor._policies.update(pb.PolicyUpdate(policy_id="p", safe_zones=[zone]))
    state = rig.world.radio_state("ap-1/5g")
    weak = tuple(replace(c, qoe=0.2, rssi_dbm=-82.0) for c in state.clients) or ()
    assert weak, "the scenario gives ap-1/5g clients"
    await rig.observe(replace(state, clients=weak))
    [audit] = [a for a in rig.audits() if a.record_type == "event_tx_power_adjust"]
    assert audit.outcome == "REFUSED"
    assert "tx_power_dbm 23 is outside the safe zone [5, 20]" in audit.details_json
    assert rig.world.config("ap-1/5g").tx_power_dbm == 20


async def test_most_urgent_first_when_events_arrive_together(rig: Rig) -> None:
    """A burst of interference and a radar report in one batch: the radar move is made first."""
    _without_own_radar_move(rig, "ap-2/5g")
    loop = rig.agent.event_loop
    rig.agent.handle_event(_burst(rig, "ap-1/2g"))
    radar = _radar(rig, "52,56")
    rig.agent.handle_event(radar)
    await loop.process_pending()
    local = [r.radio_id for r in rig.reports() if r.origin == pb.LOCAL_EVENT_LOOP]
    assert local == ["ap-2/5g", "ap-1/2g"]


async def test_duplicate_events_are_coalesced_into_one_decision(rig: Rig) -> None:
    """Fifty copies of one burst are one decision and one move."""
    loop = rig.agent.event_loop
    for _ in range(50):
        rig.agent.handle_event(_burst(rig, "ap-1/2g"))
    await loop.process_pending()
    assert loop.queue.stats.coalesced == 49
    assert loop.stats.processed == 1 and loop.stats.actions == 1


def _etsi_weather_scenario() -> dict[str, object]:
    return {
        "format": "rrm-scenario",
        "version": 1,
        "seed": 3,
        "region": "ETSI",
        "area_m": [30, 20],
        "duration_s": 3600,
        "aps": [
            {
                "id": "ap-1",
                "x": 10,
                "y": 10,
                "radios": [{"band": "5g", "channel": 36, "width_mhz": 20, "tx_power_dbm": 20}],
            }
        ],
        "clients": [{"id": "c1", "x": 12, "y": 9, "band": "5g", "demand_mbps": 4}],
        "interferers": [],
    }


async def test_a_weather_radar_channel_is_dark_for_ten_minutes_then_known_as_cleared(tmp_path: Path) -> None:
    """ETSI 5600-5650 MHz: a move onto channel 124 means a 600 s CAC; afterwards the agent knows it is clear."""
    rig = _rig(tmp_path, _etsi_weather_scenario(), ["ap-1"])
    await rig.agent.sample_telemetry()
    async with rig.agent.actions.lock("ap-1/5g"):
        outcome = await rig.agent.actions.change("ap-1/5g", ConfigChange(channel=124), loop="OPERATOR")
    assert outcome.status == pb.APPLIED
    await rig.run(300)
    assert not rig.world.config("ap-1/5g").enabled
    assert 124 not in rig.agent.dfs.cleared("ap-1/5g")
    await rig.run(301)
    assert rig.world.config("ap-1/5g").enabled
    assert 124 in rig.agent.dfs.cleared("ap-1/5g")
    context = rig.agent.event_loop.context("ap-1/5g")
    assert context is not None
    on_124 = rank(context, rig.agent.event_loop.policy).find(124, 20)
    assert on_124 is not None and on_124.cac_s == 0  # a later move back here needs no new CAC


async def test_everything_above_works_without_a_controller(rig: Rig) -> None:
    """No link at all: radar still moves the radio, and the records wait in the outbox."""
    assert rig.agent.link is None
    await rig.run(RADAR_AT_S + 1)
    kinds = {m.WhichOneof("body") for m in rig.messages()}
    assert {"event", "action_report", "audit"} <= kinds
    assert any(m.event.type == pb.DFS_RADAR for m in rig.messages() if m.WhichOneof("body") == "event")


async def test_an_alarm_is_raised_once_not_for_every_event(rig: Rig) -> None:
    """No channel left: one alarm with its reason, repeats counted but not re-reported within 10 minutes."""
    _without_own_radar_move(rig, "ap-2/5g", channels=(52, 56))
    for _ in range(3):
        await rig.inject(_radar(rig, "52,56"))
        rig.clock.advance(1)
    alarms = [r for r in rig.reports() if r.error.startswith("alarm:")]
    assert len(alarms) == 1 and "no legal 5g channel" in alarms[0].error
    assert rig.agent.event_loop.stats.alarms_repeated == 2


async def test_the_agent_leaves_the_radar_move_to_the_ap_when_the_ap_makes_it(rig: Rig) -> None:
    """Radar first reaches the loop at once, before the AP's switch report: the agent waits, never races."""
    loop = rig.agent.event_loop
    for event in rig.world.trigger_radar("ap-2/5g"):  # DFS_RADAR, then the AP's CHANNEL_SWITCHED
        if rig.agent.handle_event(event):  # what the agent's event pump does
            await loop.process_pending()
    await loop.process_pending()
    assert not _group(rig, "ap-2/5g") & {52, 56}
    assert [r.origin for r in rig.reports()] == [pb.AP_AUTONOMOUS]


async def test_rollback_tokens_past_their_week_are_forgotten(rig: Rig) -> None:
    """The agent's memory stays bounded: an hourly pass drops tokens past their expiry."""
    await rig.inject(_burst(rig, "ap-1/2g"))
    [report] = [r for r in rig.reports() if r.origin == pb.LOCAL_EVENT_LOOP]
    token_id = report.rollback_token.token_id
    assert rig.agent.actions.tokens.get(token_id) is not None
    rig.clock.advance(8 * 24 * 3600)
    await rig.observe(rig.world.radio_state("ap-1/2g"))
    assert rig.agent.actions.tokens.get(token_id) is None
