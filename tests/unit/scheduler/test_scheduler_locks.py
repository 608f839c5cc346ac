"""Events lock their AP against the fast loop until the monitoring window closes; cooldowns hold it too."""

from __future__ import annotations

from dataclasses import replace

from controller.ap_locks import ReportedAction, ReportedEvent
from controller.fast_loop.intents import SendChange
from controller.fast_loop.planner import FAST_LOOP
from controller.fast_loop_step import PlannerStep
from controller.guardrails import PastChange
from controller.scheduler import LoopScheduler, SchedulerSettings, TickReports
from controller.scheduler_intents import Step
from radio_domain.events import EventType
from radio_domain.radio import RadioConfig
from tests.unit.scheduler.site import CONFIGS, T0, SiteSources, planner

POWER_DOWN = replace(CONFIGS["ap-1/5g"], tx_power_dbm=17.0)


def radar_on_ap1(at: float, event_id: str = "ev-1") -> TickReports:
    return TickReports(events=(ReportedEvent(event_id, "ap-1/5g", "ap-1", EventType.DFS_RADAR, at),))


def sent_to(result_fast: tuple[object, ...]) -> list[str]:
    return sorted(i.radio_id for i in result_fast if isinstance(i, SendChange))


def test_event_preempts_the_fast_loop_on_its_ap_only() -> None:
    """Radar on ap-1 in the tick the fast loop is due: ap-1 is held, ap-2 is tuned, ap-1's optimiser not asked."""
    fast, optimisers = planner({"ap-1/5g": POWER_DOWN, "ap-2/5g": replace(POWER_DOWN)})
    scheduler = LoopScheduler(SchedulerSettings(), fast=PlannerStep(fast))
    result = scheduler.tick(T0, radar_on_ap1(T0 - 1.0), SiteSources(T0))
    assert sent_to(result.fast) == ["ap-2/5g"]
    assert optimisers["ap-1/5g"].asked == []
    held = [d for d in result.decisions if d.action == "held"]
    assert [(d.step, d.loop, d.radio_id) for d in held] == [(Step.FAST_LOOP, FAST_LOOP, "ap-1/5g")]
    assert [d.action for d in result.decisions if d.step is Step.EVENT_LOOP] == ["lock"]
    assert scheduler.counters.preempted[FAST_LOOP] == 1


def test_locked_ap_unlocks_when_its_monitoring_window_closes() -> None:
    """Locked for 300 s after the event: held at +299 s, unlocked and tuned at +300 s."""
    fast, _ = planner({"ap-1/5g": POWER_DOWN})
    scheduler = LoopScheduler(SchedulerSettings(monitoring_window_s=300.0), fast=PlannerStep(fast))
    scheduler.tick(T0, radar_on_ap1(T0), SiteSources(T0))
    still = scheduler.tick(T0 + 299.0, TickReports(), SiteSources(T0 + 299.0))
    assert sent_to(still.fast) == []
    opened = scheduler.tick(T0 + 300.0, TickReports(), SiteSources(T0 + 300.0))
    assert [(d.step, d.action, d.ap_id) for d in opened.decisions][:1] == [(Step.LOCK_CHECK, "unlock", "ap-1")]
    assert sent_to(opened.fast) == ["ap-1/5g"]


def test_a_later_event_extends_the_lock_and_a_hold_is_recorded_once() -> None:
    fast, _ = planner({"ap-1/5g": POWER_DOWN})
    scheduler = LoopScheduler(SchedulerSettings(monitoring_window_s=300.0), fast=PlannerStep(fast))
    scheduler.tick(T0, radar_on_ap1(T0), SiteSources(T0))
    burst = TickReports(events=(ReportedEvent("ev-2", "ap-1/5g", "ap-1", EventType.NON_WIFI_BURST, T0 + 200.0),))
    extended = scheduler.tick(T0 + 200.0, burst, SiteSources(T0 + 200.0))
    assert [d.action for d in extended.decisions if d.step is Step.EVENT_LOOP] == ["lock_extended"]
    assert not [d for d in extended.decisions if d.action == "held"]  # told at T0 already
    assert sent_to(scheduler.tick(T0 + 499.0, TickReports(), SiteSources(T0 + 499.0)).fast) == []
    assert sent_to(scheduler.tick(T0 + 500.0, TickReports(), SiteSources(T0 + 500.0)).fast) == ["ap-1/5g"]
    assert scheduler.counters.locks == 1


def test_only_emergencies_and_the_agents_own_actions_lock() -> None:
    """A CAC completion, a controller command or a steering request does not lock; an event-loop move does."""
    fast, _ = planner({"ap-1/5g": POWER_DOWN, "ap-2/5g": replace(POWER_DOWN)})
    scheduler = LoopScheduler(SchedulerSettings(), fast=PlannerStep(fast))
    reports = TickReports(
        events=(ReportedEvent("ev-1", "ap-1/5g", "ap-1", EventType.CAC_COMPLETED, T0),),
        actions=(
            ReportedAction("act-1", "ap-1/5g", "ap-1", "CONTROLLER_COMMAND", T0),
            ReportedAction("act-2", "ap-2/5g", "ap-2", "LOCAL_EVENT_LOOP", T0),
            ReportedAction("act-3", "ap-1/5g", "ap-1", "LOCAL_EVENT_LOOP", T0, "steered", changed_config=False),
        ),
    )
    result = scheduler.tick(T0, reports, SiteSources(T0))
    assert sent_to(result.fast) == ["ap-1/5g"]
    assert scheduler.locks.locked_aps(T0) == frozenset({"ap-2"})


def test_cooldown_holds_an_ap_changed_moments_ago() -> None:
    """ap-1 changed 10 s ago (by anyone): the fast loop waits out the 60 s cooldown."""
    fast, _ = planner({"ap-1/5g": POWER_DOWN})
    scheduler = LoopScheduler(SchedulerSettings(cooldown_s=60.0), fast=PlannerStep(fast))
    changed = (PastChange("ap-1/5g", "ap-1", "channel", T0 - 10.0, "op-1"),)
    held = scheduler.tick(T0, TickReports(), SiteSources(T0, changes=changed))
    assert sent_to(held.fast) == []
    assert [(d.step, d.facts.get("cause")) for d in held.decisions] == [(Step.FAST_LOOP, "cooldown")]
    later = scheduler.tick(T0 + 50.0, TickReports(), SiteSources(T0 + 50.0, changes=changed))
    assert sent_to(later.fast) == ["ap-1/5g"]
    assert scheduler.counters.cooled[FAST_LOOP] == 1


def test_same_reports_give_the_same_decisions() -> None:
    """Determinism: two schedulers fed the same ticks decide the same, in the same order."""

    def run() -> list[tuple[str, ...]]:
        fast, _ = planner({"ap-1/5g": POWER_DOWN, "ap-2/5g": replace(POWER_DOWN, tx_power_dbm=14.0)})
        scheduler = LoopScheduler(SchedulerSettings(), fast=PlannerStep(fast))
        seen: list[tuple[str, ...]] = []
        for k, reports in enumerate([radar_on_ap1(T0), TickReports(), TickReports()]):
            now = T0 + 150.0 * k
            result = scheduler.tick(now, reports, SiteSources(now))
            seen += [(d.step.value, d.action, d.radio_id, d.reason) for d in result.decisions]
            seen += [(type(i).__name__, repr(i)) for i in result.fast]
        return seen

    first = run()
    assert first == run()
    assert any(e[0] == "SendChange" and "ap-2/5g" in e[1] for e in first)


def test_post_window_config_is_untouched_by_a_held_loop() -> None:
    """While ap-1 is locked its config stays what the agent left: no intent names it."""
    fast, _ = planner({"ap-1/5g": POWER_DOWN, "ap-2/5g": replace(POWER_DOWN)})
    scheduler = LoopScheduler(SchedulerSettings(), fast=PlannerStep(fast))
    sources = SiteSources(T0, configs={"ap-1/5g": RadioConfig(149, 80, 20.0, -82), "ap-2/5g": CONFIGS["ap-2/5g"]})
    result = scheduler.tick(T0, radar_on_ap1(T0), sources)
    assert all("ap-1/5g" not in repr(i) for i in result.fast)
    assert result.fast  # ap-2 was due and decided
