"""Carrying out a site plan safely, as a pure state machine that returns intents (issue 8 item 5).

Time is a parameter; nothing here touches a radio. The caller (the controller's slow loop, or
the evaluation on the simulator) turns intents into actions and reports back:

1. ``start(now)``: every changed assignment is checked against the regulatory tables, the
   radio's capabilities and its non-occupancy timers (candidate_channels.assignment_problems);
   one problem refuses the whole plan (``RefusePlan`` with every reason). A plan that changes
   more than ``approval_above_aps`` APs returns ``RequestApproval`` (the caller files it with
   controller.approvals) and waits for ``approve``/``reject``; otherwise it is ready.
2. ``next(snapshot, site, now, network_qoe)``: when ready, the next step's proposals (one per
   changed radio, at most 3 APs, no neighbours together: plan_staging.py) go through
   ``controller.guardrails.check_iteration``; the allowed ones come back as ``ApplyStep``
   (refused ones are reported and skipped: that AP keeps its config; retrying the ones only a
   lapsing guardrail refused, the site budget the agents' emergency moves had spent, for up to
   1 h or 10 min was measured and not kept: on dense_floor's ``rrm eval system`` the plan then
   moved 13-14 radios or 0-2, but mean QoE went 0.946 / 0.977 (seeds 23 / 1) to 0.942 / 0.970 or
   0.947 / 0.973, and the window's plan no longer started behind the long one: a plan carried
   out late meets a site the agents and the fast loop have moved on). The caller applies them,
   reports each success with ``record_applied(radio_id, before)`` (the rollback token: the full
   prior config) and then ``step_sent(now)``. The execution then observes for
   ``observation_s``; ``next`` returns ``Observe`` until the window has passed, then compares
   ``network_qoe`` (the caller's mean over the window) with the pre-plan baseline: a drop of
   more than ``max_qoe_drop`` (10 %) returns ``RollBackPlan`` with the tokens of every radio the
   plan changed so far, and the plan ends; otherwise the next step, or ``PlanComplete``.

A rollback never returns a radio to a channel now in its non-occupancy period (invariant 3:
a radar move is never rolled back onto the radar channel): such radios are listed as kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from controller.guardrails import NetworkSnapshot, Proposal, Verdict, check_iteration
from controller.site_policy import SitePolicy
from controller.slow_loop.candidate_channels import assignment_problems
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.plan_staging import MAX_APS_PER_STEP, PlanStep, stage_plan
from controller.slow_loop.quality_gate import DEFAULT_QUALITY_THRESHOLD, check_threshold
from controller.slow_loop.site_plan import RadioAssignment, SitePlan, assignment_of, current_plan, plan_cost
from radio_domain import regulatory
from radio_domain.radio import ConfigChange, RadioConfig, split_radio_id

SLOW = "SLOW"


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    max_aps_per_step: int = MAX_APS_PER_STEP
    approval_above_aps: int = 6  # plans changing more APs need a human approval
    observation_s: float = 600.0
    max_qoe_drop: float = 0.10  # relative drop of network QoE against the pre-plan baseline
    neighbour_rssi_dbm: float = -75.0  # ChangeLimits.neighbour_rssi_dbm
    # a scheduled plan runs only while some radio's client QoE is below this; None: always (quality_gate.py)
    quality_threshold: float | None = DEFAULT_QUALITY_THRESHOLD

    def __post_init__(self) -> None:
        if not 1 <= self.max_aps_per_step <= MAX_APS_PER_STEP:
            raise ValueError(f"max_aps_per_step must be 1..{MAX_APS_PER_STEP}, not {self.max_aps_per_step}")
        if self.approval_above_aps < 0 or self.observation_s < 0 or not 0 < self.max_qoe_drop < 1:
            raise ValueError("approval_above_aps and observation_s must be >= 0, max_qoe_drop in (0, 1)")
        check_threshold(self.quality_threshold)


class ExecutionState(StrEnum):
    NEW = "new"
    REFUSED = "refused"
    AWAITING_APPROVAL = "awaiting_approval"
    READY = "ready"
    APPLYING = "applying"
    OBSERVING = "observing"
    COMPLETE = "complete"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True, slots=True)
class RollbackToken:
    """The full config a radio had before the plan changed it."""

    radio_id: str
    change_id: str
    prior: RadioConfig

    @property
    def change(self) -> ConfigChange:
        return ConfigChange(self.prior.channel, self.prior.width_mhz, self.prior.tx_power_dbm, self.prior.obss_pd_dbm)


@dataclass(frozen=True, slots=True)
class RefusePlan:
    plan_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RequestApproval:
    plan_id: str
    ap_ids: tuple[str, ...]
    radio_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class ApplyStep:
    plan_id: str
    step: PlanStep
    proposals: tuple[Proposal, ...]  # allowed: send them
    refused: tuple[Verdict, ...] = ()  # skipped, with the rules they broke
    shadow: tuple[Proposal, ...] = ()  # allowed in shadow mode: record, do not send


@dataclass(frozen=True, slots=True)
class Observe:
    plan_id: str
    until: float


@dataclass(frozen=True, slots=True)
class DeferStep:
    """The next step touches APs the scheduler holds (an event's monitoring window, a cooldown):
    it waits, unapplied, and is offered again on a later call."""

    plan_id: str
    radio_ids: tuple[str, ...]  # the step's radios on held APs


@dataclass(frozen=True, slots=True)
class RollBackPlan:
    plan_id: str
    tokens: tuple[RollbackToken, ...]
    kept: tuple[str, ...]  # radios not restored: their prior channel is in non-occupancy
    reason: str


@dataclass(frozen=True, slots=True)
class PlanComplete:
    plan_id: str
    changed: tuple[str, ...]
    reason: str
    refused: tuple[str, ...] = ()  # radios whose staged change the guardrails refused: they kept their config


PlanIntent = RefusePlan | RequestApproval | ApplyStep | DeferStep | Observe | RollBackPlan | PlanComplete


@dataclass
class PlanExecution:
    """One plan being carried out (module docstring)."""

    plan_id: str
    graph: InterferenceGraph
    plan: SitePlan
    baseline_qoe: float
    settings: ExecutionSettings = field(default_factory=ExecutionSettings)
    state: ExecutionState = ExecutionState.NEW
    steps: tuple[PlanStep, ...] = ()
    next_step: int = 0
    observe_until: float = 0.0
    approved_by: str = ""
    tokens: dict[str, RollbackToken] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)

    def in_force(self) -> dict[str, RadioAssignment]:
        """The plan as the radios follow it: a radio whose change was refused keeps its config at planning."""
        return {
            r: assignment_of(self.graph.nodes[r]) if r in self.refused and r in self.graph.nodes else a
            for r, a in self.plan.assignments.items()
        }

    @property
    def finished(self) -> bool:
        return self.state in (ExecutionState.REFUSED, ExecutionState.COMPLETE, ExecutionState.ROLLED_BACK)

    @property
    def predicted_gain(self) -> float:
        """The plan's relative cost reduction in [0, 1], the slow loop's gain estimate per proposal."""
        before = plan_cost(self.graph, current_plan(self.graph).assignments)
        after = plan_cost(self.graph, self.plan.assignments)
        if not before > 0 or after >= before:
            return 0.0
        return min(1.0, (before - after) / before)

    def start(self, now: float) -> RefusePlan | RequestApproval | None:
        self._expect(ExecutionState.NEW)
        problems = [f"{r}: not a radio of the site" for r in self.plan.assignments if r not in self.graph.nodes]
        for radio_id in self.plan.changed(self.graph):
            node = self.graph.nodes[radio_id]
            problems += assignment_problems(self.graph.region, node, self.plan.assignments[radio_id], now)
        if problems:
            self.state = ExecutionState.REFUSED
            return RefusePlan(self.plan_id, tuple(problems))
        self.steps = stage_plan(self.graph, self.plan, self.settings.max_aps_per_step, self.settings.neighbour_rssi_dbm)
        aps = tuple(sorted(ap for s in self.steps for ap in s.ap_ids))
        if len(aps) > self.settings.approval_above_aps:
            self.state = ExecutionState.AWAITING_APPROVAL
            radios = tuple(r for s in self.steps for r in s.radio_ids)
            why = f"the plan changes {len(aps)} APs (more than {self.settings.approval_above_aps}): {self.plan.reason}"
            return RequestApproval(self.plan_id, aps, radios, why)
        self.state = ExecutionState.READY
        return None

    def approve(self, by: str) -> None:
        self._expect(ExecutionState.AWAITING_APPROVAL)
        self.approved_by = by
        self.state = ExecutionState.READY

    def reject(self, reason: str) -> RefusePlan:
        self._expect(ExecutionState.AWAITING_APPROVAL)
        self.state = ExecutionState.REFUSED
        return RefusePlan(self.plan_id, (f"approval refused: {reason}",))

    def next(
        self,
        snapshot: NetworkSnapshot,
        site: SitePolicy,
        now: float,
        network_qoe: float,
        held_aps: frozenset[str] = frozenset(),
    ) -> PlanIntent | None:
        """What to do now; None while waiting for an approval or for ``step_sent``.

        A step with a radio on one of ``held_aps`` is deferred (``DeferStep``), whether it is the
        first step or the one that follows a judged window: an event's lock holds every stage.
        """
        if self.state is ExecutionState.OBSERVING:
            if now < self.observe_until:
                return Observe(self.plan_id, self.observe_until)
            drop = self._drop(network_qoe)
            if drop > self.settings.max_qoe_drop:
                return self._roll_back(snapshot, drop)
            self.state = ExecutionState.READY
        if self.state is not ExecutionState.READY:
            return None
        if self.next_step >= len(self.steps):
            self.state = ExecutionState.COMPLETE
            return PlanComplete(
                self.plan_id,
                tuple(sorted(self.tokens)),
                self.plan.reason,
                tuple(sorted(self.refused - set(self.tokens))),
            )
        step = self.steps[self.next_step]
        held = tuple(r for r in step.radio_ids if split_radio_id(r)[0] in held_aps)
        if held:
            return DeferStep(self.plan_id, held)
        self.next_step += 1
        self.state = ExecutionState.APPLYING
        return self._apply_step(step, snapshot, site, now)

    def record_applied(self, radio_id: str, before: RadioConfig) -> None:
        """A proposal of the current step took effect; ``before`` is the radio's full prior config."""
        self._expect(ExecutionState.APPLYING)
        self.tokens.setdefault(radio_id, RollbackToken(radio_id, self._change_id(radio_id), before))

    def step_sent(self, now: float) -> None:
        self._expect(ExecutionState.APPLYING)
        self.state = ExecutionState.OBSERVING
        self.observe_until = now + self.settings.observation_s

    def _apply_step(self, step: PlanStep, snapshot: NetworkSnapshot, site: SitePolicy, now: float) -> ApplyStep:
        gain = self.predicted_gain
        proposals = []
        for radio_id in step.radio_ids:
            a = self.plan.assignments[radio_id]
            proposals.append(
                Proposal(
                    change_id=self._change_id(radio_id),
                    radio_id=radio_id,
                    change=ConfigChange(channel=a.channel, width_mhz=a.width_mhz, tx_power_dbm=a.tx_power_dbm),
                    loop=SLOW,
                    reason=f"{self.plan.source}: {self.plan.reason}",
                    predicted_gain=gain,
                    inputs={"plan_id": self.plan_id, "step": step.index, "source": self.plan.source},
                )
            )
        verdicts = check_iteration(proposals, snapshot, site, now)
        send, refused, shadow = [], [], []
        for verdict in verdicts:
            waiting = verdict.needs_approval and not self.approved_by
            if not verdict.allowed or waiting:
                refused.append(verdict)
                self.refused.add(verdict.proposal.radio_id)
            elif verdict.shadow:
                shadow.append(verdict.proposal)
            else:
                send.append(verdict.proposal)
        return ApplyStep(self.plan_id, step, tuple(send), tuple(refused), tuple(shadow))

    def _drop(self, network_qoe: float) -> float:
        if self.baseline_qoe <= 0:
            return 0.0
        return (self.baseline_qoe - network_qoe) / self.baseline_qoe

    def _roll_back(self, snapshot: NetworkSnapshot, drop: float) -> RollBackPlan:
        self.state = ExecutionState.ROLLED_BACK
        tokens, kept = [], []
        for radio_id, token in sorted(self.tokens.items()):
            if self._prior_blocked(token, snapshot):
                kept.append(radio_id)
            else:
                tokens.append(token)
        why = (
            f"network QoE fell {drop:.1%} below the pre-plan {self.baseline_qoe:.3f} "
            f"(more than {self.settings.max_qoe_drop:.0%}): the plan is rolled back"
        )
        return RollBackPlan(self.plan_id, tuple(tokens), tuple(kept), why)

    def _prior_blocked(self, token: RollbackToken, snapshot: NetworkSnapshot) -> bool:
        node = self.graph.nodes[token.radio_id]
        group = regulatory.bonding_group(self.graph.region, node.band, token.prior.channel, token.prior.width_mhz)
        blocked = snapshot.non_occupancy.get(token.radio_id, {})
        return any(blocked.get(c, 0.0) > snapshot.taken_at for c in group)

    def _change_id(self, radio_id: str) -> str:
        return f"{self.plan_id}:{radio_id}"

    def _expect(self, state: ExecutionState) -> None:
        if self.state is not state:
            raise RuntimeError(f"plan {self.plan_id} is {self.state.value}, not {state.value}")
