"""Recording the controller's executed plan stages in its slow-loop history (history_transitions.py).

SlowLoopRunner, the I/O edge around the pure PlanExecution, calls the hooks below; the rows
are computed by history_transitions_stage.py (the simulator's feature functions and reward) on
the controller's interference graph at the time (network_graph.py, through ``graph_at``):

- ``plan_started``: the plan's own graph is the state of a stage sent at the planning time;
- ``stage_sent``: the decision: the state, the features of the moves sent, the moved radios'
  clients; a proposal the guardrails refused counts as a violation (it never reached a radio),
  one allowed only in shadow mode is neither a move nor a violation;
- ``observe``: every tick of the monitoring window: the moved radios' dark client share;
- ``stage_judged``: the window is over: the network QoE after it (the scheduler's: the mean client
  QoE over the telemetry window), the reward, the next state (the graph now, which is the next
  stage's state when one follows in the same tick, stored once), terminal when the plan
  completed or was rolled back; one row.

A stage whose QoE after the window is unknown (no client seen) or that moves a radio missing
from the graph is skipped and counted (``counters.skipped``). A failure (the database, a bug)
never reaches the plan: it is logged at ERROR with the plan and stage, and counted
(``counters.failures``); the plan goes on unrecorded.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from controller.guardrails import NetworkSnapshot
from controller.slow_loop.history_transitions import HistoryFileError, HistoryState, PlanHistory, StageOutcome
from controller.slow_loop.history_transitions_stage import OpenStage, decision_state
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.move_candidates import CandidateSettings
from controller.slow_loop.plan_execution import ApplyStep, PlanExecution
from controller.slow_loop.site_plan import SitePlan
from controller.slow_loop.step_reward import RewardWeights

log = logging.getLogger(__name__)

GraphSource = Callable[[float], InterferenceGraph]


@dataclass
class HistoryCounters:
    rows: int = 0
    failures: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> stages not recorded


@dataclass(slots=True)
class _Seen:
    """The graph of one plan at one time and, once computed and stored, its state."""

    plan_id: str
    at: float
    graph: InterferenceGraph
    state: HistoryState | None = None
    state_id: int | None = None


class StageRecorder:
    """Writes one history row per judged plan stage (module docstring)."""

    def __init__(
        self,
        history: PlanHistory,
        graph_at: GraphSource,
        *,
        candidates: CandidateSettings | None = None,
        weights: RewardWeights | None = None,
    ) -> None:
        self.history = history
        self.counters = HistoryCounters()
        self._graph_at = graph_at
        self._candidates = candidates or CandidateSettings()
        self._weights = weights or RewardWeights()
        self._seen: _Seen | None = None
        self._open: tuple[OpenStage, _Seen] | None = None

    def close(self) -> None:
        self.history.close()

    def plan_started(self, execution: PlanExecution, now: float) -> None:
        if self._open is not None:
            self._skip("plan_abandoned", self._open[0].plan_id, self._open[0].stage)
        self._open = None
        self._seen = _Seen(execution.plan_id, now, execution.graph)

    def stage_sent(self, execution: PlanExecution, step: ApplyStep, now: float, network_qoe: float | None) -> None:
        index = step.step.index
        self._guarded("the decision", execution.plan_id, index, lambda: self._sent(execution, step, now, network_qoe))

    def observe(self, now: float, network: NetworkSnapshot) -> None:
        if self._open is not None:
            self._open[0].watch(now, network)

    def stage_judged(
        self,
        execution: PlanExecution,
        now: float,
        network: NetworkSnapshot,
        network_qoe: float | None,
        outcome: StageOutcome,
    ) -> None:
        opened = self._open
        self._open = None
        if opened is None or opened[0].plan_id != execution.plan_id:
            return  # not sent through this recorder (skipped or failed at its decision: counted then)
        stage, decided = opened
        stage.watch(now, network)  # the last interval, unless the runner already told this tick
        if network_qoe is None:
            self._skip("no_network_qoe", stage.plan_id, stage.stage)
            return
        qoe = network_qoe
        self._guarded(
            "the outcome",
            stage.plan_id,
            stage.stage,
            lambda: self._judged(execution.plan, stage, decided, now, qoe, outcome),
        )

    # -- internals ----------------------------------------------------------------------------

    def _sent(self, execution: PlanExecution, step: ApplyStep, now: float, network_qoe: float | None) -> None:
        self._open = None
        seen = self._seen_at(execution.plan_id, now)
        radios = tuple(p.radio_id for p in step.proposals)
        if any(r not in seen.graph.nodes for r in radios):
            self._skip("radio_not_in_graph", execution.plan_id, step.step.index)
            return
        self._state_of(seen, execution.plan)
        stage = OpenStage.sent(
            execution.plan_id,
            step.step.index,
            execution.plan,
            seen.graph,
            radios,
            now,
            refused=len(step.refused),
            qoe_before=network_qoe,
        )
        self._open = (stage, seen)

    def _judged(
        self, plan: SitePlan, stage: OpenStage, decided: _Seen, now: float, qoe: float, outcome: StageOutcome
    ) -> None:
        seen = self._seen_at(stage.plan_id, now)
        following = seen.state_id if seen.state_id is not None else self._state_of(seen, plan)
        state = decided.state_id if decided.state_id is not None else self._state_of(decided, plan)
        seen.state_id = self.history.record(state, following, stage.judged(now, qoe, outcome, self._weights))
        self.counters.rows += 1

    def _seen_at(self, plan_id: str, now: float) -> _Seen:
        seen = self._seen
        if seen is None or seen.plan_id != plan_id or seen.at != now:
            seen = self._seen = _Seen(plan_id, now, self._graph_at(now))
        return seen

    def _state_of(self, seen: _Seen, plan: SitePlan) -> HistoryState:
        if seen.state is None:
            seen.state = decision_state(seen.graph, plan, seen.at, self._candidates)
        return seen.state

    def _skip(self, reason: str, plan_id: str, stage: int) -> None:
        self.counters.skipped[reason] += 1
        log.warning("slow-loop history: stage %d of plan %s not recorded: %s", stage, plan_id, reason)

    def _guarded(self, what: str, plan_id: str, stage: int, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception:  # a history failure must never stop a plan: logged loudly, counted, the plan goes on
            self.counters.failures += 1
            self._open = None
            log.exception("slow-loop history: recording %s of stage %d of plan %s FAILED", what, stage, plan_id)


def open_stage_recorder(path: Path, graph_at: GraphSource) -> StageRecorder | None:
    """The controller's recorder on ``path``, or None (logged at ERROR) when the file cannot be its history."""
    try:
        return StageRecorder(PlanHistory.open(path), graph_at)
    except HistoryFileError as exc:
        log.error("the slow loop's plans are NOT recorded for offline training: %s", exc)
        return None
