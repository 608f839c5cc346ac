"""The slow loop's safe-RL policy: the learned plan only where it provably beats the heuristic's.

``propose(graph, now)`` (a ``SlowLoopPolicy`` named "safe_rl"):

1. The baseline plan: the heuristic planner's. Without one (no baseline given) the current plan
   stands in, and every reason says so ("fallback: current plan").
2. Two learned plans, by greedy moves under the conservative Q (q_plan_search.py), at most
   ``max_moves`` radios each: ``learned`` from the current plan (the baseline's assignments among
   the candidates), and ``refined``: the baseline plan plus learned moves of the radios it leaves
   alone, made on a copy of the graph after the baseline's moves.
3. Safe policy improvement: a learned plan's *lower bound* is compared with the baseline's
   *point estimate* under the same model (for ``refined``: its extra moves' lower bound with 0);
   ``learned`` may replace the baseline plan only while the model values that plan at 0 or more
   (``baseline_trusted``: where it does not, the model contradicts the data the baseline made);
   a learned plan is returned only when it exceeds the baseline by ``margin`` (the better of the
   two if both do), otherwise the baseline plan is. The test is deliberately lopsided
   (pessimistic for the new plan, not for the one it would replace), as in SPIBB-style safe
   policy improvement: where the data does not support a deviation, the baseline is followed.

Measured where the trust rule errs: on unplanned_office, after a learned plan had brought the
site to QoE 0.996, the heuristic's 24-radio re-plans of it were valued at -23.8 and followed
anyway (the baseline is not trusted, so it stands), and safe RL fell to 0.972 against the
heuristic's 0.986. The scheduled plans of a site whose every radio is at or above the quality
threshold are now not made at all (quality_gate.py; safe RL 0.993 there). Keeping the current
plan whenever the model distrusts the baseline was measured and not kept: dense_floor, where the
model undervalues the heuristic's later plans, fell from 0.906 to 0.887.

Before any of this, the model itself must have passed its held-out check after training
(held_out_check.py): a model without a passed check makes the baseline's plans only, whatever its
estimates say, and the reason quotes the check (``require_held_out_check``; the check's own
held-out episodes switch it off to measure the policy they test).

The reason names the decision, both values, the margin and the learned plan's moves, so an
operator can read why a plan was (or was not) the learned one. ``assess`` returns the same
decision as data. Pure: a frozen graph in, a plan out; the model is only read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from controller.slow_loop.cql_model import ConservativeQ
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.move_candidates import CandidateSettings, with_moves
from controller.slow_loop.policy_registry import PolicyUnavailable
from controller.slow_loop.q_plan_search import ValuedPlan, greedy_plan, plan_value
from controller.slow_loop.site_plan import RadioAssignment, SitePlan, SlowLoopPolicy, assignment_of, current_plan

NAME = "safe_rl"
FALLBACK_LABEL = "fallback: current plan (no heuristic planner given)"


@dataclass(frozen=True, slots=True)
class SafeRlSettings:
    margin: float = 0.5  # in reward units (QoE percent points per observation window)
    max_moves: int = 12
    candidates: CandidateSettings = field(default_factory=CandidateSettings)
    require_held_out_check: bool = True

    def __post_init__(self) -> None:
        if self.margin < 0 or self.max_moves < 1:
            raise ValueError(f"need margin >= 0 and max_moves >= 1 (margin {self.margin}, max_moves {self.max_moves})")


@dataclass(frozen=True, slots=True)
class PlanAssessment:
    """The decision ``propose`` makes, as data."""

    learned: ValuedPlan
    refined: ValuedPlan  # moves added on top of the baseline plan
    baseline: ValuedPlan
    baseline_plan: SitePlan
    margin: float
    cleared: bool = True  # the model passed its held-out check (or the check is not required)

    @property
    def baseline_trusted(self) -> bool:
        """Whether the model agrees the baseline plan helps (or it changes nothing).

        The baseline's moves are in the data with their observed gains; a model that values the
        baseline's whole plan below doing nothing disagrees with its own data on a coordinated
        plan its additive form judges badly, so it is not trusted to replace that plan.
        """
        return not self.baseline.moves or self.baseline.value >= 0.0

    @property
    def learned_gain(self) -> float:
        """The learned plan's conservative value over the baseline's estimate (0 when not allowed)."""
        if not self.learned.moves or not self.baseline_trusted:
            return 0.0
        return self.learned.lower_bound - self.baseline.value

    @property
    def refined_gain(self) -> float:
        return self.refined.lower_bound if self.refined.moves else 0.0

    @property
    def choice(self) -> str:
        """``learned``, ``refined`` or ``baseline``: what ``propose`` returns."""
        best = max(self.learned_gain, self.refined_gain)
        if not self.cleared or best <= self.margin:
            return "baseline"
        return "learned" if self.learned_gain >= self.refined_gain else "refined"

    @property
    def deploy_learned(self) -> bool:
        return self.choice != "baseline"


class SafeRlPolicy:
    """``SlowLoopPolicy`` "safe_rl" (module docstring)."""

    name = NAME

    def __init__(
        self, model: ConservativeQ, baseline: SlowLoopPolicy | None = None, settings: SafeRlSettings | None = None
    ) -> None:
        self.model = model
        self.baseline = baseline
        self.settings = settings or SafeRlSettings()

    @classmethod
    def from_file(
        cls, path: str | Path, baseline: SlowLoopPolicy | None = None, settings: SafeRlSettings | None = None
    ) -> SafeRlPolicy:
        """The policy with the model saved at ``path`` (raises cql_model.ModelFileError)."""
        return cls(ConservativeQ.load(path), baseline, settings)

    def assess(self, graph: InterferenceGraph, now: float) -> PlanAssessment:
        base = self.baseline.propose(graph, now) if self.baseline is not None else _fallback(graph)
        changed = {r: base.assignments[r] for r in base.changed(graph)}
        s = self.settings
        learned = greedy_plan(self.model, graph, now, s.max_moves, s.candidates, changed)
        baseline = plan_value(self.model, graph, changed, now)
        after = with_moves(graph, tuple(v.move for v in baseline.moves))
        refined = greedy_plan(self.model, after, now, s.max_moves, s.candidates, keep=frozenset(changed))
        return PlanAssessment(learned, refined, baseline, base, s.margin, self.cleared)

    @property
    def cleared(self) -> bool:
        """Whether the model may deploy learned plans (module docstring)."""
        check = self.model.held_out_check
        return not self.settings.require_held_out_check or (check is not None and check.passed)

    def check_note(self) -> str:
        """What the held-out check says about this policy's model, for reasons and logs."""
        check = self.model.held_out_check
        if check is None:
            return "the model has no held-out check (trained with `rrm train slow-loop --held-out 0`?)"
        return f"the model's {check.describe()}"

    def propose(self, graph: InterferenceGraph, now: float) -> SitePlan:
        verdict = self.assess(graph, now)
        base = verdict.baseline_plan
        label = base.source if self.baseline is not None else FALLBACK_LABEL
        figures = (
            f"{label} plan estimated {verdict.baseline.value:+.2f} ({len(verdict.baseline.moves)} moves); "
            f"learned plan {verdict.learned_gain:+.2f} over it ({len(verdict.learned.moves)} moves), "
            f"learned additions {verdict.refined_gain:+.2f} ({len(verdict.refined.moves)} moves), "
            f"conservative; margin {verdict.margin:g}"
        )
        choice = verdict.choice
        if choice == "baseline":
            why = "no learned plan beats it by the margin" if verdict.cleared else self.check_note()
            return SitePlan(base.assignments, NAME, f"kept the {label} plan ({base.reason}): {why}; {figures}")
        if choice == "learned":
            assignments = {r: assignment_of(n) for r, n in graph.nodes.items()}
            extra = verdict.learned.moves
            what = "learned plan deployed instead of the " + label + " plan"
        else:
            assignments = dict(base.assignments)
            extra = verdict.refined.moves
            what = f"learned plan deployed: the {label} plan plus learned moves"
        for valued in extra:
            assignments[valued.move.radio_id] = valued.move.assignment
        moves = ", ".join(_describe(graph, v.move.radio_id, assignments) for v in extra)
        return SitePlan(assignments, NAME, f"{what}: {figures}; learned moves: {moves}")


def _fallback(graph: InterferenceGraph) -> SitePlan:
    plan = current_plan(graph)
    return SitePlan(plan.assignments, FALLBACK_LABEL, plan.reason)


def _describe(graph: InterferenceGraph, radio_id: str, assignments: Mapping[str, RadioAssignment]) -> str:
    before = assignment_of(graph.nodes[radio_id])
    after = assignments[radio_id]
    return (
        f"{radio_id} {before.channel}/{before.width_mhz} {before.tx_power_dbm:g} dBm -> "
        f"{after.channel}/{after.width_mhz} {after.tx_power_dbm:g} dBm"
    )


def build_safe_rl_policy(seed: int) -> SlowLoopPolicy:
    """The policy registry's default hook (policy_registry.py): refuses, naming what is needed.

    The policy needs a trained model, which a seed alone does not give: train one with
    ``rrm train slow-loop --out MODEL`` and build ``SafeRlPolicy.from_file(MODEL, HeuristicPlanner(seed))``,
    or let ``rrm eval slow-loop`` train or load one (rrm/evaluation/slow_loop_safe_rl.py).
    """
    raise PolicyUnavailable(
        f"safe_rl (seed {seed}) needs a trained model: run `rrm train slow-loop --out MODEL`, "
        "then `rrm eval slow-loop --model MODEL`, or let the evaluation train one"
    )
