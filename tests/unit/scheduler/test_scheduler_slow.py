"""The slow loop under the scheduler: its window, on demand, preempted by events, apart from the fast loop."""

from __future__ import annotations

from dataclasses import replace

from controller.ap_locks import ReportedEvent
from controller.fast_loop.intents import KeepConfig, SendChange
from controller.fast_loop.planner import FAST_LOOP
from controller.fast_loop_step import PlannerStep
from controller.scheduler import LoopScheduler, SchedulerSettings, TickReports, TickResult
from controller.scheduler_intents import SLOW_LOOP, SlowChange, SlowDeferred, SlowRollback, Step
from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.plan_execution import ExecutionSettings
from controller.slow_loop_runner import SlowLoopRunner
from controller.slow_loop_window import SlowLoopWindow
from radio_domain.events import EventType
from radio_domain.radio import ConfigChange
from tests.unit.scheduler.site import CONFIGS, T0, SiteSources, planner

WINDOW = SlowLoopWindow.parse("02:00-04:00", "Europe/Berlin")  # 01:00-03:00 UTC in January
IN_WINDOW = T0 + 3600.0  # 2026-01-01T01:00Z = 02:00 in Berlin


def runner() -> SlowLoopRunner:
    return SlowLoopRunner(HeuristicPlanner(seed=0), ExecutionSettings(observation_s=60.0))


def slow_changes(result: TickResult) -> list[str]:
    return sorted(i.radio_id for i in result.slow if isinstance(i, SlowChange))


def actions(result: TickResult, step: Step) -> list[str]:
    return [d.action for d in result.decisions if d.step is step]


def test_slow_loop_plans_once_per_window_opening_in_site_time() -> None:
    """Nothing at 01:00 Berlin; a plan at 02:00 Berlin; no second plan later in the same opening."""
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW), slow=runner())
    before = scheduler.tick(IN_WINDOW - 3600.0, TickReports(), SiteSources(IN_WINDOW - 3600.0))
    assert actions(before, Step.SLOW_LOOP) == []
    opened = scheduler.tick(IN_WINDOW, TickReports(), SiteSources(IN_WINDOW))
    assert actions(opened, Step.SLOW_LOOP)[0] == "plan_started"
    assert slow_changes(opened) == ["ap-1/5g"]  # the first step of the staged plan
    for k in range(1, 30):
        now = IN_WINDOW + 60.0 * k
        later = scheduler.tick(now, TickReports(), SiteSources(now))
        assert "plan_started" not in actions(later, Step.SLOW_LOOP)
    assert scheduler.counters.plans["window"] == 1


def test_plan_on_demand_outside_the_window() -> None:
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW), slow=runner())
    scheduler.request_plan("operator alice: rrm plan")
    result = scheduler.tick(T0, TickReports(), SiteSources(T0))
    started = [d for d in result.decisions if d.action == "plan_started"]
    assert [d.facts["trigger"] for d in started] == ["on_demand"]
    assert slow_changes(result) == ["ap-1/5g"]


def test_event_preempts_the_slow_loop_until_the_window_closes() -> None:
    """Radar on ap-1 in the tick its plan step is due: the step waits, then goes once ap-1 unlocks."""
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW, monitoring_window_s=300.0), slow=runner())
    radar = TickReports(events=(ReportedEvent("ev-1", "ap-1/5g", "ap-1", EventType.DFS_RADAR, IN_WINDOW),))
    first = scheduler.tick(IN_WINDOW, radar, SiteSources(IN_WINDOW))
    assert slow_changes(first) == []
    assert [i.radio_id for i in first.slow if isinstance(i, SlowDeferred)] == ["ap-1/5g"]
    assert [(d.loop, d.radio_id) for d in first.decisions if d.action == "held"] == [(SLOW_LOOP, "ap-1/5g")]
    waiting = scheduler.tick(IN_WINDOW + 299.0, TickReports(), SiteSources(IN_WINDOW + 299.0))
    assert slow_changes(waiting) == []
    unlocked = scheduler.tick(IN_WINDOW + 300.0, TickReports(), SiteSources(IN_WINDOW + 300.0))
    assert slow_changes(unlocked) == ["ap-1/5g"]
    assert scheduler.counters.preempted[SLOW_LOOP] == 1


def test_slow_and_fast_never_change_one_ap_in_one_tick() -> None:
    """The plan's step changes ap-1: the fast loop, due on both APs, only tunes ap-2."""
    power_down = replace(CONFIGS["ap-1/5g"], tx_power_dbm=17.0)
    fast, optimisers = planner({"ap-1/5g": power_down, "ap-2/5g": power_down})
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW), fast=PlannerStep(fast), slow=runner())
    result = scheduler.tick(IN_WINDOW, TickReports(), SiteSources(IN_WINDOW))
    assert slow_changes(result) == ["ap-1/5g"]
    assert sorted(i.radio_id for i in result.fast if isinstance(i, SendChange)) == ["ap-2/5g"]
    assert optimisers["ap-1/5g"].asked == []
    held = [d for d in result.decisions if d.action == "held" and d.loop == FAST_LOOP]
    assert [(d.radio_id, d.facts["cause"]) for d in held] == [("ap-1/5g", "slow_loop")]


def plan_in_force() -> tuple[LoopScheduler, SlowLoopRunner]:
    """A scheduler whose plan put ap-2 on channel 149 (the heuristic's plan for the two-AP site)."""
    slow = runner()
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW, plan_deviation_gain=0.05), slow=slow)
    now = IN_WINDOW
    while now == IN_WINDOW or slow.active():
        scheduler.tick(now, TickReports(), SiteSources(now))
        now += 61.0
    assert slow.counters.completed == 1
    assert slow.in_force()["ap-2/5g"].channel == 149
    return scheduler, slow


def test_fast_channel_change_off_the_plan_needs_the_larger_gain() -> None:
    """ap-2 planned on 149: a move to 36 predicting 0.03 is refused, one predicting 0.08 is sent."""
    for gain, sent in ((0.03, False), (0.08, True)):
        scheduler, _ = plan_in_force()
        on_plan = {"ap-1/5g": CONFIGS["ap-1/5g"], "ap-2/5g": replace(CONFIGS["ap-2/5g"], channel=149)}
        fast, _ = planner({"ap-2/5g": replace(on_plan["ap-2/5g"], channel=36)}, gain=gain)
        scheduler.fast = PlannerStep(fast)
        now = IN_WINDOW + 10_000.0  # plan steps done and observed
        result = scheduler.tick(now, TickReports(), SiteSources(now, configs=on_plan))
        sends = [i for i in result.fast if isinstance(i, SendChange)]
        assert bool(sends) is sent, f"gain {gain}"
        expected = "off_plan_allowed" if sent else "off_plan_held"
        assert [d.action for d in result.decisions if d.action.startswith("off_plan")] == [expected]
        if not sent:
            assert any(isinstance(i, KeepConfig) and "plan" in i.reason for i in result.fast)


def test_fast_power_change_within_the_plan_needs_no_extra_gain() -> None:
    scheduler, _ = plan_in_force()
    on_plan = {"ap-1/5g": CONFIGS["ap-1/5g"], "ap-2/5g": replace(CONFIGS["ap-2/5g"], channel=149)}
    fast, _ = planner({"ap-2/5g": replace(on_plan["ap-2/5g"], tx_power_dbm=17.0)}, gain=0.03)
    scheduler.fast = PlannerStep(fast)
    now = IN_WINDOW + 10_000.0
    result = scheduler.tick(now, TickReports(), SiteSources(now, configs=on_plan))
    assert [i.radio_id for i in result.fast if isinstance(i, SendChange)] == ["ap-2/5g"]
    assert not [d for d in result.decisions if d.action.startswith("off_plan")]


def test_a_plan_whose_step_drops_qoe_by_more_than_ten_percent_is_rolled_back() -> None:
    """QoE 0.8 before the plan, 0.6 after its first step's window: every change so far goes back."""
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW), slow=runner())
    first = scheduler.tick(IN_WINDOW, TickReports(), SiteSources(IN_WINDOW, qoe=0.8))
    [change] = [i for i in first.slow if isinstance(i, SlowChange)]
    after = scheduler.tick(IN_WINDOW + 61.0, TickReports(), SiteSources(IN_WINDOW + 61.0, qoe=0.6))
    [rollback] = [i for i in after.slow if isinstance(i, SlowRollback)]
    assert [(c.radio_id, c.change) for c in rollback.changes] == [
        (change.radio_id, ConfigChange(36, 80, 20.0, -82))  # the full prior config of ap-1/5g
    ]
    assert "plan_rolled_back" in actions(after, Step.SLOW_LOOP)
    assert scheduler.slow is not None and not scheduler.slow.active()


def test_the_three_loops_decide_the_same_twice() -> None:
    """Determinism: the same reports and site give the same decisions and intents, slow and fast."""

    def run() -> list[str]:
        fast, _ = planner({"ap-1/5g": replace(CONFIGS["ap-1/5g"], tx_power_dbm=17.0), "ap-2/5g": CONFIGS["ap-2/5g"]})
        scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW), fast=PlannerStep(fast), slow=runner())
        radar = TickReports(events=(ReportedEvent("ev-1", "ap-2/5g", "ap-2", EventType.DFS_RADAR, IN_WINDOW),))
        seen = []
        for k in range(12):
            now = IN_WINDOW + 61.0 * k
            result = scheduler.tick(now, radar if k == 0 else TickReports(), SiteSources(now))
            seen += [f"{d.step.value}:{d.action}:{d.radio_id}:{d.reason}" for d in result.decisions]
            seen += [repr(i) for i in (*result.slow, *result.fast)]
        return seen

    first = run()
    assert first == run()
    assert any("SlowChange" in line for line in first) and any("plan_started" in line for line in first)


def test_the_window_plan_waits_for_a_plan_still_in_progress() -> None:
    """An on-demand plan still running when the window opens: the window's plan starts once it ends."""
    slow = runner()
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW), slow=slow)
    scheduler.request_plan("operator: before the window")
    now = IN_WINDOW - 30.0
    scheduler.tick(now, TickReports(), SiteSources(now))
    assert slow.active()
    started: list[str] = []
    while now < IN_WINDOW + 3600.0 and len(started) < 2:
        now += 31.0
        result = scheduler.tick(now, TickReports(), SiteSources(now))
        started += [str(d.facts["trigger"]) for d in result.decisions if d.action == "plan_started"]
        assert "plan_refused" not in actions(result, Step.SLOW_LOOP)
    assert started == ["window"]
    assert scheduler.counters.plans == {"on_demand": 1, "window": 1}


def test_an_event_holds_a_later_stage_of_a_plan_in_progress() -> None:
    """Radar on ap-2 while the plan's first stage (ap-1) is watched: the stage for ap-2 that follows
    the judged window waits for ap-2's monitoring window too, then goes."""
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW, monitoring_window_s=300.0), slow=runner())
    first = scheduler.tick(IN_WINDOW, TickReports(), SiteSources(IN_WINDOW))
    assert slow_changes(first) == ["ap-1/5g"]
    radar_at = IN_WINDOW + 30.0
    radar = TickReports(events=(ReportedEvent("ev-2", "ap-2/5g", "ap-2", EventType.DFS_RADAR, radar_at),))
    scheduler.tick(radar_at, radar, SiteSources(radar_at))
    judged = scheduler.tick(IN_WINDOW + 61.0, TickReports(), SiteSources(IN_WINDOW + 61.0))
    assert slow_changes(judged) == []  # the window closed, but ap-2 is locked
    assert [i.radio_id for i in judged.slow if isinstance(i, SlowDeferred)] == ["ap-2/5g"]
    still = scheduler.tick(radar_at + 299.0, TickReports(), SiteSources(radar_at + 299.0))
    assert slow_changes(still) == []
    unlocked = scheduler.tick(radar_at + 300.0, TickReports(), SiteSources(radar_at + 300.0))
    assert slow_changes(unlocked) == ["ap-2/5g"]


def test_window_plan_waits_while_every_radio_is_above_the_quality_threshold() -> None:
    """Both radios' clients at 0.97 (threshold 0.95): the window keeps the current plan and says why."""
    slow = runner()
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW), slow=slow)
    good = {"ap-1/5g": 0.97, "ap-2/5g": 0.99}
    result = scheduler.tick(IN_WINDOW, TickReports(), SiteSources(IN_WINDOW, radio_qoes=good))
    assert slow_changes(result) == []
    kept = [d for d in result.decisions if d.action == "plan_kept"]
    assert len(kept) == 1 and "quality threshold 0.95" in kept[0].reason and "ap-1/5g at 0.970" in kept[0].reason
    assert slow.counters.held_by_quality == 1
    assert not slow.active()


def test_one_radio_below_the_quality_threshold_lets_the_window_plan() -> None:
    slow = runner()
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW), slow=slow)
    one_poor = {"ap-1/5g": 0.99, "ap-2/5g": 0.90}
    result = scheduler.tick(IN_WINDOW, TickReports(), SiteSources(IN_WINDOW, radio_qoes=one_poor))
    assert slow_changes(result) == ["ap-1/5g"]
    assert slow.counters.held_by_quality == 0


def test_an_operators_plan_is_not_gated_by_the_quality_threshold() -> None:
    slow = runner()
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW), slow=slow)
    scheduler.request_plan("operator alice: rrm plan")
    good = {"ap-1/5g": 0.99, "ap-2/5g": 0.99}
    result = scheduler.tick(T0, TickReports(), SiteSources(T0, radio_qoes=good))
    assert slow_changes(result) == ["ap-1/5g"]
    assert slow.counters.held_by_quality == 0


def test_without_a_quality_threshold_the_window_always_plans() -> None:
    slow = SlowLoopRunner(HeuristicPlanner(seed=0), ExecutionSettings(observation_s=60.0, quality_threshold=None))
    scheduler = LoopScheduler(SchedulerSettings(slow_window=WINDOW), slow=slow)
    good = {"ap-1/5g": 0.99, "ap-2/5g": 0.99}
    result = scheduler.tick(IN_WINDOW, TickReports(), SiteSources(IN_WINDOW, radio_qoes=good))
    assert slow_changes(result) == ["ap-1/5g"]


def test_the_gate_reads_the_qoe_under_the_plan_in_force_only() -> None:
    """Before any plan the last day counts; after a plan, only the time since its last step was sent."""
    fresh = runner()
    assert fresh.quality_since(IN_WINDOW) == IN_WINDOW - 86_400.0
    _, slow = plan_in_force()
    later = IN_WINDOW + 20_000.0
    since = slow.quality_since(later)
    assert IN_WINDOW <= since < IN_WINDOW + 10_000.0  # the plan's last step, not a day back
