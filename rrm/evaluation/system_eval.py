"""All three loops together on the simulator, on virtual time, with injected radar and interference.

Method. One ``SimWorld`` of the scenario (its own timeline plus the bursts of system_events.py)
on a virtual clock from 2026-01-01T00:00Z, stepped every ``step_s``:

- Event loop: the real agents (system_agents.py: ``AgentRuntime`` per AP on the simulated
  driver, the link replaced by an in-process drain of their outboxes), so radar, bursts,
  saturation and failures are handled at the edge exactly as in production.
- Controller: every step, the agents' reports go to the multi-timescale ``LoopScheduler``
  (controller/scheduler.py) with ``WorldSources``: the fast loop is the change planner with one
  ``FastLoopOptimizer`` per radio (as `rrm eval fast-loop` runs it), the slow loop the heuristic
  planner with the plan execution (staging, approval, QoE rollback). A plan is asked for once
  ``plan_at_start_s`` after the start (as an operator's `rrm plan` would) and then every day in
  the slow-loop window. The evaluation's operator approves a plan ``approve_after_s`` after it
  asks. Changes and rollbacks reach the radios as commands through the agents' command
  executors; the guardrails see every change the agents report.

Figures: ``qoe`` (mean network QoE over every step, 5th-percentile client QoE pooled every
``p5_every_s``, the mean of the first and the last hour), ``events`` (reported by type, the
injected radar hits and bursts, queue entries the event loops handled), ``moves`` per loop
(applied changes: the event loops' and the APs' own radar moves, fast, slow), ``rollbacks``
(the agents' post-action monitoring, the fast loop's, the slow loop's plans), ``approvals``,
``scheduler`` (locks, fast and slow changes preempted by a lock, held by a cooldown, fast
changes off the plan held or allowed), ``plans`` and ``violations`` (configs the loops applied
that break a regulatory or safe-zone rule, checked apart from the guardrails).

Deterministic for a scenario and seed: the world's draws, the optimisers' seeds and the
injected events all derive from the scenario seed; the scheduler has no randomness.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from controller.fast_loop.exploration import ChangeBudget
from controller.fast_loop.optimizer import FastLoopOptimizer
from controller.fast_loop.period import FAST_S
from controller.fast_loop.planner import ChangePlanner, PlannerSettings
from controller.fast_loop_step import PlannerStep
from controller.scheduler import LoopScheduler, SchedulerSettings
from controller.site_policy import SitePolicy
from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.plan_execution import ExecutionSettings
from controller.slow_loop_runner import SlowLoopRunner
from controller.slow_loop_window import SlowLoopWindow
from drivers.protocol import DriverError
from drivers.sim.runner import WorldRunner
from drivers.sim.scenario_model import Scenario
from drivers.sim.world import SimWorld
from edge_agent.event_policy import EventPolicy
from rrm.clock import VirtualClock
from rrm.evaluation.fast_loop_checks import independent_violations
from rrm.evaluation.fast_loop_world import ChangeLedger, WorldTelemetry
from rrm.evaluation.system_agents import InProcessAgents
from rrm.evaluation.system_carry_out import IntentCarrier
from rrm.evaluation.system_events import InjectionPlan, injection_plan, radar_target, with_bursts
from rrm.evaluation.system_world import WorldSources
from rrm.evaluation.world_graph import NonWifiMemory, RadarHistory
from rrm.evaluation.world_quality import QoeHistory

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z, as the demo
DAY_S = 86_400.0
_BO_STREAM = 0x626F
_DIGITS = 4

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SystemEvalOptions:
    days: float = 1.0
    step_s: float = 10.0
    radar_every_s: float = 6 * 3600.0
    burst_every_s: float = 4 * 3600.0
    burst_s: float = 900.0
    plan_at_start_s: float | None = 600.0
    approve_after_s: float = 300.0
    p5_every_s: float = 300.0
    slow_window: SlowLoopWindow = field(default_factory=lambda: SlowLoopWindow.parse("02:00-04:00"))
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)
    site: SitePolicy = field(default_factory=SitePolicy)
    max_changes_per_ap_day: int = 8

    def __post_init__(self) -> None:
        if self.days <= 0 or self.step_s <= 0 or self.days * DAY_S < 2 * self.step_s:
            raise ValueError(f"need days > 0, step_s > 0 and two steps at least (days={self.days:g})")


@dataclass
class _Qoe:
    every_s: float
    network: list[float] = field(default_factory=list)
    clients: list[float] = field(default_factory=list)
    next_p5: float = 0.0

    def sample(self, world: SimWorld) -> None:
        self.network.append(world.network_qoe())
        if world.time >= self.next_p5:
            self.clients.extend(world.client_qoe().values())
            self.next_p5 += self.every_s

    def recent(self, steps: int) -> float | None:
        return float(np.mean(self.network[-steps:])) if self.network else None

    def figures(self, steps_per_hour: int) -> dict[str, float]:
        net = self.network or [1.0]
        return {
            "mean": round(float(np.mean(net)), _DIGITS),
            "p5_client": round(float(np.percentile(self.clients, 5)) if self.clients else 1.0, _DIGITS),
            "first_hour_mean": round(float(np.mean(net[:steps_per_hour])), _DIGITS),
            "last_hour_mean": round(float(np.mean(net[-steps_per_hour:])), _DIGITS),
        }


def _planner(world: SimWorld, seed: int, budget_per_day: int) -> ChangePlanner:
    planner = ChangePlanner(world.region, PlannerSettings(), start_s=world.timestamp + FAST_S)
    budgets = {ap: ChangeBudget(budget_per_day) for ap in world.ap_ids()}
    for index, info in enumerate(world.radios()):
        radio_seed = int(np.random.SeedSequence([seed, _BO_STREAM, index]).generate_state(1)[0])
        optimiser = FastLoopOptimizer(
            info.radio_id, world.region, info.band, seed=radio_seed, budget=budgets[info.ap_id]
        )
        planner.add_radio(info.radio_id, optimiser)
    return planner


class _Radar:
    def __init__(self, plan: InjectionPlan) -> None:
        self._due = list(zip(plan.radar_at_s, plan.radar_picks, strict=True))
        self.hits = 0
        self.not_possible = 0

    def inject(self, world: SimWorld) -> None:
        while self._due and self._due[0][0] <= world.time:
            _, pick = self._due.pop(0)
            target = radar_target(world, pick)
            try:
                if target is None:
                    raise LookupError("no radio on a DFS channel")
                world.trigger_radar(target)
                self.hits += 1
            except (LookupError, DriverError):
                self.not_possible += 1


async def _run(
    scenario: Scenario, name: str, options: SystemEvalOptions, state_dir: Path, progress: Progress | None
) -> dict[str, object]:
    started = time.monotonic()
    total_s = options.days * DAY_S
    injected = injection_plan(scenario, total_s, options.radar_every_s, options.burst_every_s, options.burst_s)
    world = SimWorld(with_bursts(scenario, injected), epoch=EPOCH, slo=options.site.network_wide().slo)
    clock = VirtualClock(start=EPOCH)
    ledger = ChangeLedger()
    agents = InProcessAgents(world, clock, state_dir, EventPolicy(), ledger)
    planner = _planner(world, scenario.seed, options.max_changes_per_ap_day)
    slow = SlowLoopRunner(HeuristicPlanner(seed=scenario.seed), options.execution)
    settings = replace(options.scheduler, slow_window=options.slow_window)
    scheduler = LoopScheduler(settings, fast=PlannerStep(planner), slow=slow)
    carrier = IntentCarrier(agents, planner, slow, options.approve_after_s)
    telemetry = WorldTelemetry(world)
    radar_history, radar = RadarHistory(), _Radar(injected)
    non_wifi = NonWifiMemory()
    quality = QoeHistory()
    qoe = _Qoe(options.p5_every_s)
    steps_per_hour = max(1, round(3600.0 / options.step_s))
    await agents.start()
    try:
        runner = WorldRunner(world, agents.drivers, clock, step_s=options.step_s)
        steps = round(total_s / options.step_s)
        asked = options.plan_at_start_s is None
        for k in range(1, steps + 1):
            non_wifi.add(world, runner.step_once())
            non_wifi.refresh(world)
            clock.advance(options.step_s)
            for _ in range(3):
                await asyncio.sleep(0)
            radar.inject(world)
            telemetry.record()
            qoe.sample(world)
            quality.add(world)
            if not asked and options.plan_at_start_s is not None and world.time >= options.plan_at_start_s:
                asked = True
                scheduler.request_plan("evaluation's operator: a plan at the start")
            carrier.approvals_due(world.timestamp)
            sources = WorldSources(world, telemetry, ledger, radar_history, options.site, planner)
            sources.qoe = qoe.recent(max(1, round(options.execution.observation_s / 2 / options.step_s)))
            sources.non_wifi = non_wifi
            sources.quality = quality
            agents.check_running()
            result = scheduler.tick(world.timestamp, agents.drain(), sources)
            await carrier.carry_out(result, world.timestamp)
            if progress is not None and k % (steps_per_hour * 6) == 0:
                progress(f"{name}: {world.time / 3600.0:.0f} of {total_s / 3600.0:g} h")
        agents.drain()
    finally:
        await agents.stop()
    return _figures(
        name, scenario, options, world, qoe, steps_per_hour, agents, carrier, scheduler, slow, radar, injected
    ) | {"wall_s": round(time.monotonic() - started, 1)}


def _figures(
    name: str,
    scenario: Scenario,
    options: SystemEvalOptions,
    world: SimWorld,
    qoe: _Qoe,
    steps_per_hour: int,
    agents: InProcessAgents,
    carrier: IntentCarrier,
    scheduler: LoopScheduler,
    slow: SlowLoopRunner,
    radar: _Radar,
    injected: InjectionPlan,
) -> dict[str, object]:
    actions = agents.tally.actions
    ours = carrier.counts["fast_rollbacks"] + carrier.counts["slow_rollback_moves"]
    agent_rollbacks = max(0, actions["ROLLBACK:ROLLED_BACK"] - ours)
    counters = scheduler.counters
    c = slow.counters
    return {
        "scenario": name,
        "seed": scenario.seed,
        "days": options.days,
        "step_s": options.step_s,
        "aps": len(world.ap_ids()),
        "qoe": qoe.figures(steps_per_hour),
        "events": {
            "reported": dict(sorted(agents.tally.events.items())),
            "radar_injected": radar.hits,
            "radar_not_possible": radar.not_possible,
            "bursts_injected": len(injected.bursts),
            "event_loop": agents.event_loop_stats(),
        },
        "moves": {
            "event_loop": actions["LOCAL_EVENT_LOOP:APPLIED"],
            "event_loop_client_steering": actions["LOCAL_EVENT_LOOP:STEERED"],
            "ap_radar_moves": actions["AP_AUTONOMOUS:APPLIED"],
            "fast": carrier.counts["fast_moves"],
            "slow": carrier.counts["slow_moves"],
        },
        "rollbacks": {
            "event_loop_monitoring": agent_rollbacks,
            "fast": carrier.counts["fast_rollbacks"],
            "slow_plans": c.rolled_back,
            "slow_moves_undone": carrier.counts["slow_rollback_moves"],
        },
        "approvals": {"requested": c.approvals_requested, "granted": c.approvals_granted},
        "scheduler": {
            "ticks": counters.ticks,
            "locks": counters.locks,
            "locking_reports": counters.locking_reports,
            "preempted_fast": counters.preempted["FAST"],
            "preempted_slow": counters.preempted["SLOW"],
            "held_by_cooldown": dict(sorted(counters.cooled.items())),
            "off_plan_held": counters.off_plan_held,
            "off_plan_allowed": counters.off_plan_allowed,
        },
        "plans": {
            "started": dict(sorted(counters.plans.items())),
            "completed": c.completed,
            "rolled_back": c.rolled_back,
            "refused": c.refused,
            "kept_current": c.kept,
            "staged_changes_skipped": dict(sorted(c.skipped.items())),
        },
        "fast_keep_reasons": dict(sorted(carrier.keeps.items())),
        "commands_not_applied": carrier.counts["not_applied"],
        "violations": len(independent_violations(world.region, agents.tally.commanded, options.site)),
    }


def evaluate_system(
    scenario: Scenario, name: str, options: SystemEvalOptions | None = None, progress: Progress | None = None
) -> dict[str, object]:
    """The three loops on ``scenario`` (module docstring); the JSON figures."""
    options = options or SystemEvalOptions()
    with tempfile.TemporaryDirectory(prefix="rrm-system-eval-") as tmp:
        return asyncio.run(_run(scenario, name, options, Path(tmp), progress))
