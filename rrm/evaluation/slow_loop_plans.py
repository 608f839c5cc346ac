"""One slow-loop policy driven on a SimWorld: plan, stage, guard, apply, observe, roll back.

Every ``period_s`` of virtual time (the first plan ``first_plan_s`` after the start) the driver
builds the interference graph from the world's radio states (slow_loop_world.py) and, unless
every radio's client QoE is at or above the quality threshold (each radio's worst hour since
the last plan change: controller/slow_loop/quality_gate.py, world_quality.py; then the current
plan stays and the policy is not asked), asks the policy for a plan and carries it out with
``controller.slow_loop.plan_execution.PlanExecution``:
a plan that needs an approval is counted and approved by a simulated operator (the evaluation
measures the plans, not the operator), each step's proposals pass the guardrails against a
snapshot of the world, the allowed ones go through ``SimWorld.apply``, and after each step's
observation window the mean network QoE over that window is compared with the mean over the
``baseline_s`` before the plan. The next plan waits until the current one has finished.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from controller.site_policy import SitePolicy
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.plan_execution import (
    ApplyStep,
    ExecutionSettings,
    PlanComplete,
    PlanExecution,
    RefusePlan,
    RequestApproval,
    RollBackPlan,
)
from controller.slow_loop.plan_staging import ap_neighbours
from controller.slow_loop.quality_gate import gate_since, replan_verdict
from controller.slow_loop.site_plan import SlowLoopPolicy
from drivers.protocol import DriverError, DriverEvent
from drivers.sim.world import SimWorld
from rrm.evaluation.fast_loop_world import ChangeLedger
from rrm.evaluation.slow_loop_checks import AppliedPlanChange
from rrm.evaluation.slow_loop_world import RadarHistory, world_graph, world_snapshot
from rrm.evaluation.world_graph import NonWifiMemory
from rrm.evaluation.world_quality import QoeHistory

OPERATOR = "eval-operator"


@dataclass(frozen=True, slots=True)
class PlanSchedule:
    period_s: float = 6 * 3600.0
    first_plan_s: float = 600.0
    baseline_s: float = 1800.0


@dataclass(slots=True)
class PlanTally:
    """What happened to one policy's plans."""

    plans: int = 0
    held_by_quality: int = 0  # every radio at or above the quality threshold: the policy was not asked
    refused_plans: int = 0
    approvals_requested: int = 0
    completed: int = 0
    rollbacks: int = 0
    steps: int = 0
    changes: int = 0
    max_aps_per_step: int = 0
    refused_proposals: Counter[str] = field(default_factory=Counter)
    failed_applies: int = 0
    refusal_reasons: list[str] = field(default_factory=list)
    applied: list[AppliedPlanChange] = field(default_factory=list)
    neighbours: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)


class PlanDriver:
    """Runs a policy's plans on a world, one world step at a time (module docstring)."""

    def __init__(
        self,
        world: SimWorld,
        policy: SlowLoopPolicy,
        site: SitePolicy,
        execution: ExecutionSettings,
        schedule: PlanSchedule,
    ) -> None:
        self.world = world
        self.policy = policy
        self.site = site
        self.settings = execution
        self.schedule = schedule
        self.tally = PlanTally()
        self.radar = RadarHistory()
        self.non_wifi = NonWifiMemory()
        self.quality = QoeHistory()
        self._last_change_ts: float | None = None  # world timestamp of the last plan step or rollback
        self.ledger = ChangeLedger()
        self._qoe: list[tuple[float, float]] = []  # (world time, network QoE)
        self._next_plan_s = schedule.first_plan_s
        self._running: PlanExecution | None = None
        self._window_start_s = 0.0

    def after_step(self, events: list[DriverEvent]) -> None:
        """Called after every ``world.step``: record, then start or advance the plan."""
        self.radar.add(events)
        self.non_wifi.add(self.world, events)
        self.non_wifi.refresh(self.world)
        self.quality.add(self.world)
        t = self.world.time
        self._qoe.append((t, self.world.network_qoe()))
        self._qoe = [
            (s, q) for s, q in self._qoe if t - s <= max(self.schedule.baseline_s, self.settings.observation_s)
        ]
        if self._running is None and t >= self._next_plan_s:
            self._start_plan()
        if self._running is not None:
            self._advance()

    def _mean_qoe_since(self, since_s: float) -> float:
        values = [q for s, q in self._qoe if s > since_s]
        return sum(values) / len(values) if values else self.world.network_qoe()

    def _start_plan(self) -> None:
        t = self.world.time
        plan_id = f"{self.policy.name}-{self.tally.plans}"
        self.tally.plans += 1
        since = gate_since(self.world.timestamp, self._last_change_ts)
        if not replan_verdict(self.quality.radio_qoe(since), self.settings.quality_threshold).replan:
            self.tally.held_by_quality += 1
            self._finish()
            return
        graph = world_graph(self.world, self.radar, self.non_wifi)
        plan = self.policy.propose(graph, self.world.timestamp)
        baseline = self._mean_qoe_since(t - self.schedule.baseline_s)
        execution = PlanExecution(plan_id, graph, plan, baseline, self.settings)
        self.tally.neighbours[plan_id] = self._neighbour_map(graph)
        outcome = execution.start(self.world.timestamp)
        if isinstance(outcome, RefusePlan):
            self.tally.refused_plans += 1
            self.tally.refusal_reasons += list(outcome.reasons)[:5]
            self._finish()
            return
        if isinstance(outcome, RequestApproval):
            self.tally.approvals_requested += 1
            execution.approve(OPERATOR)
        self._running = execution

    def _neighbour_map(self, graph: InterferenceGraph) -> dict[str, frozenset[str]]:
        aps = {n.ap_id for n in graph.nodes.values()}
        return {ap: ap_neighbours(graph, ap, self.settings.neighbour_rssi_dbm) for ap in aps}

    def _advance(self) -> None:
        execution = self._running
        assert execution is not None
        snapshot = world_snapshot(self.world, execution.graph, self.ledger, self.settings.neighbour_rssi_dbm)
        now = self.world.timestamp
        intent = execution.next(snapshot, self.site, now, self._mean_qoe_since(self._window_start_s))
        if isinstance(intent, ApplyStep):
            self._apply(execution, intent)
        elif isinstance(intent, RollBackPlan):
            self._roll_back(intent)
            self._finish()
        elif isinstance(intent, PlanComplete):
            self.tally.completed += 1
            self._finish()

    def _apply(self, execution: PlanExecution, intent: ApplyStep) -> None:
        now = self.world.timestamp
        for verdict in intent.refused:
            for violation in verdict.violations or ():
                self.tally.refused_proposals[violation.rule.value] += 1
        aps = set()
        for proposal in intent.proposals:
            info = execution.graph.nodes[proposal.radio_id]
            before = self.world.config(proposal.radio_id)
            blocked = self.world.non_occupancy(proposal.radio_id)
            try:
                self.world.apply(proposal.radio_id, proposal.change)
            except DriverError:
                self.tally.failed_applies += 1
                continue
            after = self.world.config(proposal.radio_id)
            execution.record_applied(proposal.radio_id, before)
            self.ledger.record(proposal.radio_id, proposal.change_id, before, after, now)
            self.tally.applied.append(
                AppliedPlanChange(
                    execution.plan_id,
                    intent.step.index,
                    proposal.radio_id,
                    info.ap_id,
                    info.band,
                    info.capabilities,
                    before,
                    after,
                    now,
                    blocked,
                )
            )
            self.tally.changes += 1
            aps.add(info.ap_id)
        self.tally.steps += 1
        if aps:
            self._last_change_ts = now
        self.tally.max_aps_per_step = max(self.tally.max_aps_per_step, len(aps))
        execution.step_sent(now)
        self._window_start_s = self.world.time

    def _roll_back(self, intent: RollBackPlan) -> None:
        now = self.world.timestamp
        self._last_change_ts = now
        self.tally.rollbacks += 1
        for token in intent.tokens:
            before = self.world.config(token.radio_id)
            try:
                self.world.apply(token.radio_id, token.change)
            except DriverError:
                self.tally.failed_applies += 1
                continue
            self.ledger.record(
                token.radio_id, token.change_id + "-rollback", before, self.world.config(token.radio_id), now
            )
            self.ledger.rollback(token.radio_id, now)

    def _finish(self) -> None:
        self._running = None
        while self._next_plan_s <= self.world.time:
            self._next_plan_s += self.schedule.period_s
