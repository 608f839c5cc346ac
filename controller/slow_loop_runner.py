"""The slow loop as the scheduler drives it: a policy proposes, a ``PlanExecution`` carries the plan out.

``start`` asks the policy (controller/slow_loop: heuristic, safe RL, ...) for a plan on a frozen
interference graph and starts its execution, unless it is given the radios' client QoE (a
scheduled plan) and every radio is at or above the settings' quality threshold: then the
current plan stays without asking the policy (controller/slow_loop/quality_gate.py; an
on-demand plan is given none and always runs). The execution
(controller/slow_loop/plan_execution.py) is refused when a change is illegal, asks an approval
for a plan above the site's size, and carries the plan out in staged steps of at most 3 APs.
``step`` is called once per scheduler tick with the APs the scheduler holds (locked or
cooling down): a step with a held AP waits whole, so clients still see one move per AP and the
blast radius stays what the staging chose. The step's allowed changes come back as
``SlowChange`` intents, recorded at once with the radios' prior configs as the plan's rollback
tokens (the shim sends them; the controller's pipeline judges them again and keeps its own
token per change), and the step's observation window starts; a QoE drop of more than 10 % over
the window rolls the iteration back (``SlowRollback``). ``preview`` is the dry run: the plan,
its cost, its staging and whether it needs an approval, without starting anything.

The plan in force (``in_force``) is what the fast loop keeps within: the plan being carried out
or the last one completed; a rolled-back or refused plan leaves the one before in force.

With a ``history`` (controller/slow_loop/history_transitions_recorder.py) every stage sent is
recorded as one transition of the controller's own history once its window is judged, for the
offline agent to train on (`rrm train slow-loop --history DB`); the recorder never fails a plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from controller.guardrails import NetworkSnapshot
from controller.scheduler_intents import (
    SlowApproval,
    SlowChange,
    SlowDeferred,
    SlowFinished,
    SlowIntent,
    SlowRollback,
    SlowSkipped,
)
from controller.site_policy import SitePolicy
from controller.slow_loop.history_transitions import StageOutcome
from controller.slow_loop.history_transitions_recorder import StageRecorder
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.plan_execution import (
    ApplyStep,
    DeferStep,
    ExecutionSettings,
    ExecutionState,
    PlanComplete,
    PlanExecution,
    RefusePlan,
    RequestApproval,
    RollBackPlan,
)
from controller.slow_loop.plan_staging import PlanStep
from controller.slow_loop.quality_gate import gate_since, replan_verdict
from controller.slow_loop.site_plan import RadioAssignment, SitePlan, SlowLoopPolicy, current_plan, plan_cost
from radio_domain.radio import split_radio_id


@dataclass(frozen=True, slots=True)
class RadioPlanLine:
    radio_id: str
    before: RadioAssignment
    after: RadioAssignment


@dataclass(frozen=True, slots=True)
class PlanPreview:
    """What a plan would do (`rrm plan --dry-run`)."""

    source: str
    reason: str
    cost_before: float
    cost_after: float
    changes: tuple[RadioPlanLine, ...]
    steps: tuple[PlanStep, ...]
    needs_approval: bool
    refused: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "reason": self.reason,
            "cost_before": round(self.cost_before, 3),
            "cost_after": round(self.cost_after, 3),
            "changes": [
                {"radio_id": c.radio_id, "before": _assignment(c.before), "after": _assignment(c.after)}
                for c in self.changes
            ],
            "steps": [{"index": s.index, "ap_ids": list(s.ap_ids), "radio_ids": list(s.radio_ids)} for s in self.steps],
            "needs_approval": self.needs_approval,
            "refused": list(self.refused),
        }


@dataclass
class SlowLoopCounters:
    plans: int = 0
    kept: int = 0  # the policy found nothing better than the current plan
    held_by_quality: int = 0  # every radio at or above the quality threshold: the policy was not asked
    completed: int = 0
    rolled_back: int = 0
    refused: int = 0
    approvals_requested: int = 0
    approvals_granted: int = 0
    moves: int = 0  # staged changes handed to the shim
    rollback_moves: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> staged changes not sent


class SlowLoopRunner:
    def __init__(
        self, policy: SlowLoopPolicy, settings: ExecutionSettings | None = None, history: StageRecorder | None = None
    ) -> None:
        self.policy = policy
        self.settings = settings or ExecutionSettings()
        self.history = history
        self.execution: PlanExecution | None = None
        self.counters = SlowLoopCounters()
        self._in_force: Mapping[str, RadioAssignment] = {}
        self._serial = 0
        self._last_change_s: float | None = None  # a plan step or rollback last sent

    def quality_since(self, now: float) -> float:
        """From when the quality gate reads the radios' QoE: the last plan change, at most 24 h back."""
        return gate_since(now, self._last_change_s)

    # -- what the scheduler reads -------------------------------------------------------------

    def in_force(self) -> Mapping[str, RadioAssignment]:
        execution = self.execution
        if execution is not None and execution.state not in (ExecutionState.REFUSED, ExecutionState.ROLLED_BACK):
            return execution.in_force()
        return self._in_force

    def active(self) -> bool:
        return self.execution is not None and not self.execution.finished

    def busy_aps(self) -> frozenset[str]:
        execution = self.execution
        if execution is None or execution.state not in (ExecutionState.APPLYING, ExecutionState.OBSERVING):
            return frozenset()
        return frozenset(execution.steps[execution.next_step - 1].ap_ids)

    # -- a new plan ---------------------------------------------------------------------------

    def start(
        self,
        graph: InterferenceGraph,
        now: float,
        trigger: str,
        network_qoe: float | None,
        radio_qoe: Mapping[str, float] | None = None,
    ) -> list[SlowIntent]:
        """A new plan; ``radio_qoe`` (radio -> its clients' QoE) gates it, None: never (module docstring)."""
        self._settle()
        self._serial += 1
        plan_id = f"plan-{int(now)}-{self._serial}"
        self.counters.plans += 1
        if radio_qoe is not None:
            verdict = replan_verdict(radio_qoe, self.settings.quality_threshold)
            if not verdict.replan:
                self.counters.kept += 1
                self.counters.held_by_quality += 1
                return [SlowFinished(plan_id, "kept", f"{trigger}: {verdict.reason}")]
        plan = self.policy.propose(graph, now)
        if not plan.changed(graph):
            self.counters.kept += 1
            return [SlowFinished(plan_id, "kept", f"{trigger}: {plan.source}: {plan.reason}")]
        execution = PlanExecution(plan_id, graph, plan, network_qoe or 0.0, self.settings)
        self.execution = execution
        if self.history is not None:
            self.history.plan_started(execution, now)
        started = execution.start(now)
        if isinstance(started, RefusePlan):
            self.counters.refused += 1
            return [SlowFinished(plan_id, "refused", "; ".join(started.reasons))]
        if isinstance(started, RequestApproval):
            self.counters.approvals_requested += 1
            return [SlowApproval(plan_id, started.radio_ids, started.reason)]
        return []

    def approve(self, plan_id: str, by: str) -> None:
        if self.execution is not None and self.execution.plan_id == plan_id:
            self.execution.approve(by)
            self.counters.approvals_granted += 1

    def reject(self, plan_id: str, reason: str) -> list[SlowFinished]:
        if self.execution is None or self.execution.plan_id != plan_id:
            return []
        refused = self.execution.reject(reason)
        self.counters.refused += 1
        return [SlowFinished(plan_id, "refused", "; ".join(refused.reasons))]

    # -- one tick -----------------------------------------------------------------------------

    def step(
        self,
        now: float,
        network: NetworkSnapshot,
        site: SitePolicy,
        network_qoe: float | None,
        held_aps: frozenset[str],
    ) -> list[SlowIntent]:
        execution = self.execution
        if execution is None or execution.finished:
            return []
        observing = execution.state is ExecutionState.OBSERVING
        if observing and self.history is not None:
            self.history.observe(now, network)
        judged = observing and now >= execution.observe_until
        qoe = network_qoe if network_qoe is not None else execution.baseline_qoe
        intent = execution.next(network, site, now, qoe, held_aps)
        if judged and self.history is not None:
            self.history.stage_judged(execution, now, network, network_qoe, _outcome(intent))
        if isinstance(intent, DeferStep):
            return [SlowDeferred(r, _ap(r), execution.plan_id) for r in intent.radio_ids]
        if isinstance(intent, ApplyStep):
            return self._apply(execution, intent, network, now, network_qoe)
        if isinstance(intent, RollBackPlan):
            self._last_change_s = now
            self.counters.rolled_back += 1
            self.counters.rollback_moves += len(intent.tokens)
            back = tuple(
                SlowChange(
                    f"{t.change_id}:rollback",
                    t.radio_id,
                    _ap(t.radio_id),
                    t.change,
                    intent.plan_id,
                    -1,
                    0.0,
                    intent.reason,
                )
                for t in intent.tokens
            )
            return [
                SlowRollback(intent.plan_id, back, intent.reason),
                SlowFinished(intent.plan_id, "rolled_back", intent.reason),
            ]
        if isinstance(intent, PlanComplete):
            self.counters.completed += 1
            refused = f", {len(intent.refused)} refused by the guardrails (kept their config)" if intent.refused else ""
            summary = f"{len(intent.changed)} radios changed{refused}: {intent.reason}"
            return [SlowFinished(intent.plan_id, "completed", summary)]
        return []

    def _apply(
        self, execution: PlanExecution, step: ApplyStep, network: NetworkSnapshot, now: float, qoe: float | None
    ) -> list[SlowIntent]:
        intents: list[SlowIntent] = []
        for verdict in step.refused:
            why = verdict.explain()
            rule = verdict.violations[0].rule.value if verdict.violations else "awaiting_approval"
            self.counters.skipped[rule] += 1
            intents.append(SlowSkipped(verdict.proposal.radio_id, step.plan_id, why))
        for proposal in step.shadow:
            intents.append(SlowSkipped(proposal.radio_id, step.plan_id, "shadow mode: recorded, not sent"))
        if step.proposals:
            self._last_change_s = now
        for proposal in step.proposals:
            view = network.radios.get(proposal.radio_id)
            if view is not None:
                execution.record_applied(proposal.radio_id, view.config)
            self.counters.moves += 1
            intents.append(
                SlowChange(
                    proposal.change_id,
                    proposal.radio_id,
                    _ap(proposal.radio_id),
                    proposal.change,
                    step.plan_id,
                    step.step.index,
                    proposal.predicted_gain,
                    proposal.reason,
                )
            )
        execution.step_sent(now)
        if self.history is not None:
            self.history.stage_sent(execution, step, now, qoe)
        return intents

    def close(self) -> None:
        """Close the history (the controller's stop)."""
        if self.history is not None:
            self.history.close()

    def _settle(self) -> None:
        """Before a new plan: the one that completed stays in force."""
        execution = self.execution
        if execution is not None and execution.state is ExecutionState.COMPLETE:
            self._in_force = execution.in_force()

    # -- the dry run --------------------------------------------------------------------------

    def preview(self, graph: InterferenceGraph, now: float) -> PlanPreview:
        """The plan the policy would propose now, staged, without starting it."""
        plan = self.policy.propose(graph, now)
        trial = PlanExecution("preview", graph, plan, 0.0, self.settings)
        started = trial.start(now)
        return _preview(graph, plan, trial, started, now)


def _preview(
    graph: InterferenceGraph,
    plan: SitePlan,
    trial: PlanExecution,
    started: RefusePlan | RequestApproval | None,
    now: float,
) -> PlanPreview:
    before = current_plan(graph).assignments
    changes = tuple(RadioPlanLine(r, before[r], plan.assignments[r]) for r in plan.changed(graph))
    return PlanPreview(
        source=plan.source,
        reason=plan.reason,
        cost_before=plan_cost(graph, before, now),
        cost_after=plan_cost(graph, plan.assignments, now),
        changes=changes,
        steps=trial.steps,
        needs_approval=isinstance(started, RequestApproval),
        refused=started.reasons if isinstance(started, RefusePlan) else (),
    )


def _outcome(intent: object) -> StageOutcome:
    """What the end of a stage's window led to."""
    if isinstance(intent, RollBackPlan):
        return StageOutcome.ROLLED_BACK
    if isinstance(intent, PlanComplete):
        return StageOutcome.COMPLETE
    return StageOutcome.CONTINUED


def _assignment(a: RadioAssignment) -> dict[str, float]:
    return {"channel": a.channel, "width_mhz": a.width_mhz, "tx_power_dbm": a.tx_power_dbm}


def _ap(radio_id: str) -> str:
    return split_radio_id(radio_id)[0]
