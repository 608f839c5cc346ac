"""What the fast loop may change in one scheduler tick: held APs out, the slow loop's plan kept.

The scheduler builds one ``FastGate`` per tick (controller/scheduler.py). A fast loop that lets
the scheduler pick its radios asks ``allows(radio_id)`` for each due radio; every fast loop's
judge is wrapped by ``wrap``: proposals for radios of held APs (locked by an event, cooling down,
changed by the slow loop in this tick or in the plan step under way) and channel changes off the
plan without the larger expected gain (``expected_gain``) get a refusing verdict at once, and only the others reach
the loop's own judge (the guardrails, or the controller's change pipeline, which sends them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from controller.guardrails import NetworkSnapshot, Proposal, Rule, Verdict, Violation
from controller.plan_adherence import PlanDeviation, plan_deviation
from controller.slow_loop.site_plan import RadioAssignment
from radio_domain.radio import split_radio_id

Judge = Callable[[Sequence[Proposal]], Sequence[Verdict]]


@dataclass(frozen=True, slots=True)
class Hold:
    rule: Rule  # HOLD_DOWN for a lock or the slow loop's AP, COOLDOWN for a cooldown
    reason: str


@dataclass(frozen=True, slots=True)
class FastGate:
    now: float
    network: NetworkSnapshot
    held: Mapping[str, Hold]  # AP -> why the fast loop may not change it in this tick
    plan: Mapping[str, RadioAssignment]  # the slow loop's plan in force
    deviation_gain: float
    on_hold: Callable[[str], None]  # told each radio the gate holds back
    on_deviation: Callable[[PlanDeviation, str], None]  # told each off-plan proposal (and its change id)

    def allows(self, radio_id: str) -> bool:
        if _ap(radio_id) in self.held:
            self.on_hold(radio_id)
            return False
        return True

    def wrap(self, judge: Judge) -> Judge:
        """``judge`` behind the gate: refused proposals never reach it; verdicts keep the proposals' order."""

        def gated(proposals: Sequence[Proposal]) -> Sequence[Verdict]:
            screened = [self.screen(p) for p in proposals]
            passed = [p for p, verdict in zip(proposals, screened, strict=True) if verdict is None]
            judged = iter(judge(passed) if passed else ())
            return [verdict if verdict is not None else next(judged) for verdict in screened]

        return gated

    def screen(self, proposal: Proposal) -> Verdict | None:
        """A refusing verdict for a held or off-plan proposal, None to let the judge decide."""
        hold = self.held.get(_ap(proposal.radio_id))
        if hold is not None:
            self.on_hold(proposal.radio_id)
            return Verdict(proposal, (Violation(hold.rule, hold.reason),))
        view = self.network.radios.get(proposal.radio_id)
        if view is None:
            return None
        target = proposal.change.apply_to(view.config)
        gain = expected_gain(proposal)
        deviation = plan_deviation(self.plan, proposal.radio_id, view.config, target, gain, self.deviation_gain)
        if deviation is None:
            return None
        self.on_deviation(deviation, proposal.change_id)
        if deviation.allowed:
            return None
        return Verdict(proposal, (Violation(Rule.HYSTERESIS, deviation.explain()),))


def expected_gain(proposal: Proposal) -> float:
    """The model's expected gain when the proposal states it (the fast loop's predicted minus current mean).

    An exploratory fast-loop proposal reaches the guardrails with its optimistic gain (mean plus two
    standard deviations); leaving the site's plan asks for the gain it expects, not the one it hopes for.
    """
    predicted, current = proposal.inputs.get("predicted_mean"), proposal.inputs.get("current_mean")
    if isinstance(predicted, int | float) and isinstance(current, int | float):
        return float(predicted) - float(current)
    return proposal.predicted_gain


def _ap(radio_id: str) -> str:
    try:
        return split_radio_id(radio_id)[0]
    except ValueError:
        return radio_id
