"""Carrying out a plan: refusal of illegal plans, approval gating, guarded steps, observation, rollback."""

from __future__ import annotations

from controller.guardrails import NetworkSnapshot, RadioView
from controller.site_policy import PolicyLayer, SitePolicy
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.plan_execution import (
    ApplyStep,
    ExecutionSettings,
    ExecutionState,
    Observe,
    PlanComplete,
    PlanExecution,
    RefusePlan,
    RequestApproval,
    RollBackPlan,
)
from controller.slow_loop.site_plan import RadioAssignment, SitePlan, assignment_of
from radio_domain.radio import RadioConfig
from tests.unit.slow_loop.hand_made_graphs import REGION, graph, node

T0 = 10_000.0
OBSERVE_S = 600.0
SITE = SitePolicy(network=PolicyLayer(limits={"min_predicted_gain": 0.0}))


def site_of(n_aps: int) -> InterferenceGraph:
    """n APs in a line on 36, each hearing the next at -60 dBm."""
    nodes = [node(f"ap-{i}", channel=36) for i in range(n_aps)]
    return graph(nodes, {(f"ap-{i}/5g", f"ap-{i + 1}/5g"): -60.0 for i in range(n_aps - 1)})


def spread(g: InterferenceGraph) -> SitePlan:
    channels = (36, 149, 44, 157, 40, 161, 48, 165)
    moves = {r: RadioAssignment(channels[i % len(channels)], 20, 17.0) for i, r in enumerate(sorted(g.nodes))}
    return SitePlan(moves, "heuristic", "spread the channels")


class FakeSite:
    """The radios' configs as the execution's intents leave them (what a driver would hold)."""

    def __init__(self, g: InterferenceGraph) -> None:
        self.graph = g
        self.configs: dict[str, RadioConfig] = {r: n.config for r, n in g.nodes.items()}
        self.nop: dict[str, dict[int, float]] = {}

    def snapshot(self, now: float) -> NetworkSnapshot:
        views = {
            r: RadioView(r, n.ap_id, n.band, n.capabilities, self.configs[r], self.graph.neighbour_aps(r, -75.0))
            for r, n in self.graph.nodes.items()
        }
        return NetworkSnapshot(now, REGION, views, non_occupancy=self.nop)

    def apply(self, execution: PlanExecution, intent: ApplyStep, now: float) -> None:
        for p in intent.proposals:
            before = self.configs[p.radio_id]
            self.configs[p.radio_id] = p.change.apply_to(before)
            execution.record_applied(p.radio_id, before)
        execution.step_sent(now)


def run(execution: PlanExecution, site: FakeSite, qoe_after_step: list[float]) -> list[object]:
    """Drive the execution to its end; the i-th observation window measures qoe_after_step[i]."""
    intents: list[object] = []
    now, windows = T0, 0
    for _ in range(200):
        qoe = qoe_after_step[min(windows, len(qoe_after_step) - 1)]
        intent = execution.next(site.snapshot(now), SITE, now, qoe)
        intents.append(intent)
        if isinstance(intent, ApplyStep):
            site.apply(execution, intent, now)
            windows += 1
        elif isinstance(intent, RollBackPlan):
            for token in intent.tokens:
                site.configs[token.radio_id] = token.change.apply_to(site.configs[token.radio_id])
        if execution.finished:
            return intents
        now += 60.0
    raise AssertionError(f"the execution did not finish: {execution.state}")


def test_an_illegal_plan_is_refused_whole_with_its_reasons() -> None:
    """Channel 14 on 5 GHz and 30 dBm on UNII-2: the plan is refused, naming both, and nothing is staged."""
    g = site_of(3)
    moves = {r: assignment_of(n) for r, n in g.nodes.items()}
    moves["ap-0/5g"] = RadioAssignment(14, 20, 17.0)
    moves["ap-1/5g"] = RadioAssignment(52, 20, 30.0)
    execution = PlanExecution("p", g, SitePlan(moves, "heuristic", "bad"), 0.9)
    outcome = execution.start(T0)
    assert isinstance(outcome, RefusePlan) and execution.state is ExecutionState.REFUSED
    text = " ".join(outcome.reasons)
    assert "ap-0/5g" in text and "channel 14" in text and "ap-1/5g" in text and "30 dBm" in text


def test_a_large_plan_waits_for_an_approval_and_a_rejection_ends_it() -> None:
    """8 APs changing with approval above 6: RequestApproval naming them; nothing to do until approved."""
    g = site_of(8)
    execution = PlanExecution("p", g, spread(g), 0.9, ExecutionSettings(approval_above_aps=6))
    request = execution.start(T0)
    assert isinstance(request, RequestApproval) and len(request.ap_ids) == 8
    assert execution.next(FakeSite(g).snapshot(T0), SITE, T0, 0.9) is None
    assert isinstance(execution.reject("not during opening hours"), RefusePlan)
    small = PlanExecution("q", site_of(3), spread(site_of(3)), 0.9, ExecutionSettings(approval_above_aps=6))
    assert small.start(T0) is None and small.state is ExecutionState.READY


def test_an_approved_plan_runs_in_observed_steps_within_the_blast_radius() -> None:
    """QoE holds: steps of <= 3 non-neighbouring APs, an observation window after each, then complete."""
    g = site_of(8)
    execution = PlanExecution("p", g, spread(g), 0.9, ExecutionSettings(observation_s=OBSERVE_S))
    assert isinstance(execution.start(T0), RequestApproval)
    execution.approve("alice")
    site = FakeSite(g)
    intents = run(execution, site, [0.9])
    steps = [i for i in intents if isinstance(i, ApplyStep)]
    assert steps and all(len({p.radio_id.split("/")[0] for p in s.proposals}) <= 3 for s in steps)
    assert any(isinstance(i, Observe) for i in intents)
    assert isinstance(intents[-1], PlanComplete) and len(intents[-1].changed) == 8
    moved = [p.radio_id for s in steps for p in s.proposals]
    assert len(moved) == len(set(moved)) == 8
    assert all(site.configs[r].channel == execution.plan.assignments[r].channel for r in g.nodes)


def test_a_qoe_drop_over_ten_percent_rolls_the_whole_iteration_back() -> None:
    """After the second step QoE is 15 % below the baseline: every radio changed so far is restored."""
    g = site_of(8)
    execution = PlanExecution("p", g, spread(g), 0.8, ExecutionSettings(approval_above_aps=100))
    assert execution.start(T0) is None
    site = FakeSite(g)
    intents = run(execution, site, [0.79, 0.68])
    rollback = intents[-1]
    assert isinstance(rollback, RollBackPlan) and execution.state is ExecutionState.ROLLED_BACK
    applied = {p.radio_id for i in intents if isinstance(i, ApplyStep) for p in i.proposals}
    assert {t.radio_id for t in rollback.tokens} == applied and applied
    assert all(site.configs[r] == g.nodes[r].config for r in g.nodes)
    assert "15.0%" in rollback.reason


def test_a_five_percent_dip_is_not_rolled_back() -> None:
    """5 % below the baseline is within the 10 % the plan may cost: it completes."""
    g = site_of(4)
    execution = PlanExecution("p", g, spread(g), 0.8)
    assert execution.start(T0) is None
    intents = run(execution, FakeSite(g), [0.76])
    assert isinstance(intents[-1], PlanComplete)


def test_the_rollback_never_returns_a_radio_to_a_channel_in_non_occupancy() -> None:
    """Radar put 36 into NOP after the move: that radio is kept where it is, the others restored."""
    g = site_of(2)
    execution = PlanExecution("p", g, spread(g), 0.8)
    assert execution.start(T0) is None
    site = FakeSite(g)
    first = execution.next(site.snapshot(T0), SITE, T0, 0.8)
    assert isinstance(first, ApplyStep)
    site.apply(execution, first, T0)
    site.nop = {"ap-0/5g": {36: T0 + 3600.0}}
    later = T0 + OBSERVE_S + 1.0
    intent = execution.next(site.snapshot(later), SITE, later, 0.5)
    assert isinstance(intent, RollBackPlan)
    assert "ap-0/5g" in intent.kept and all(t.radio_id != "ap-0/5g" for t in intent.tokens)


def test_proposals_the_guardrails_refuse_are_skipped_not_sent() -> None:
    """A pinned channel on ap-1: its proposal comes back refused by the pin rule; the others are sent."""
    g = site_of(3)
    pinned = SitePolicy(
        network=PolicyLayer(limits={"min_predicted_gain": 0.0}),
        aps={"ap-1": PolicyLayer(pins={"channel": None})},
    )
    execution = PlanExecution("p", g, spread(g), 0.8)
    assert execution.start(T0) is None
    site = FakeSite(g)
    sent, refused = [], []
    now = T0
    while not execution.finished:
        intent = execution.next(site.snapshot(now), pinned, now, 0.8)
        if isinstance(intent, ApplyStep):
            sent += [p.radio_id for p in intent.proposals]
            refused += [(v.proposal.radio_id, v.violations[0].rule.value) for v in intent.refused]
            site.apply(execution, intent, now)
        now += OBSERVE_S
    assert ("ap-1/5g", "pin") in refused and "ap-1/5g" not in sent and sent


def test_a_completed_plan_names_the_refused_radios_and_keeps_them_on_their_config_in_force() -> None:
    """ap-1's change is refused by a pin: the plan completes saying so, and what is in force for ap-1 is what it has."""
    g = site_of(3)
    pinned = SitePolicy(
        network=PolicyLayer(limits={"min_predicted_gain": 0.0}),
        aps={"ap-1": PolicyLayer(pins={"channel": None})},
    )
    plan = spread(g)
    execution = PlanExecution("p", g, plan, 0.8)
    assert execution.start(T0) is None
    site = FakeSite(g)
    now, last = T0, None
    while not execution.finished:
        last = execution.next(site.snapshot(now), pinned, now, 0.8)
        if isinstance(last, ApplyStep):
            site.apply(execution, last, now)
        now += OBSERVE_S
    assert isinstance(last, PlanComplete)
    assert last.refused == ("ap-1/5g",) and "ap-1/5g" not in last.changed and last.changed
    in_force = execution.in_force()
    assert in_force["ap-1/5g"] == assignment_of(g.nodes["ap-1/5g"]) != plan.assignments["ap-1/5g"]
    assert in_force["ap-0/5g"] == plan.assignments["ap-0/5g"]
