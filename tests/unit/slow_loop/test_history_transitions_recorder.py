"""The slow-loop runner records each executed plan stage in the history, on virtual time.

The two-AP site of the scheduler's tests (tests/unit/scheduler/site.py): real interference graphs
built from its radio states, the radios taking the changes the runner sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

from controller.scheduler import LoopScheduler, SchedulerSettings, TickReports, TickResult
from controller.scheduler_intents import SlowChange, SlowRollback
from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.history_transitions import PlanHistory, StageOutcome
from controller.slow_loop.history_transitions_export import history_log
from controller.slow_loop.history_transitions_recorder import StageRecorder
from controller.slow_loop.history_transitions_stage import decision_state
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.move_candidates import CandidateSettings, Move
from controller.slow_loop.move_features import move_features
from controller.slow_loop.plan_execution import ExecutionSettings
from controller.slow_loop.step_reward import RewardWeights
from controller.slow_loop_runner import SlowLoopRunner
from radio_domain.radio import RadioConfig
from tests.unit.scheduler.site import CONFIGS, T0, SiteSources

pytestmark = pytest.mark.unit

OBSERVATION_S = 60.0
TICK_S = 30.0


@dataclass
class TwoApSite:
    """The radios of the two-AP site: they take the changes and rollbacks the scheduler sends."""

    configs: dict[str, RadioConfig] = field(default_factory=lambda: dict(CONFIGS))
    qoe: float = 0.8
    graphs: list[float] = field(default_factory=list)

    def sources(self, now: float) -> SiteSources:
        return SiteSources(now, configs=dict(self.configs), qoe=self.qoe)

    def graph_at(self, now: float) -> InterferenceGraph:
        self.graphs.append(now)
        return self.sources(now).graph()

    def carry_out(self, result: TickResult) -> None:
        for intent in result.slow:
            changes = intent.changes if isinstance(intent, SlowRollback) else (intent,)
            for change in changes:
                if isinstance(change, SlowChange):
                    self.configs[change.radio_id] = change.change.apply_to(self.configs[change.radio_id])


def run_plan(site: TwoApSite, recorder: StageRecorder, *, drop_to: float | None = None) -> SlowLoopRunner:
    """One plan on demand, ticked every 30 s until it ends; with ``drop_to`` the QoE falls after its first step."""
    slow = SlowLoopRunner(HeuristicPlanner(seed=0), ExecutionSettings(observation_s=OBSERVATION_S), recorder)
    scheduler = LoopScheduler(SchedulerSettings(), slow=slow)
    scheduler.request_plan("operator: test")
    now = T0
    while now == T0 or slow.active():
        result = scheduler.tick(now, TickReports(), site.sources(now))
        site.carry_out(result)
        if drop_to is not None and any(isinstance(i, SlowChange) for i in result.slow):
            site.qoe = drop_to
        now += TICK_S
        assert now < T0 + 3600.0, "the plan did not end within an hour"
    return slow


def recorder_for(path: Path, site: TwoApSite) -> StageRecorder:
    return StageRecorder(PlanHistory.open(path), site.graph_at)


def test_each_stage_of_a_plan_becomes_one_row(tmp_path: Path) -> None:
    """Two stages (ap-1, then its neighbour ap-2): chained states, the second terminal, QoE after each window."""
    site = TwoApSite()
    recorder = recorder_for(tmp_path / "history.db", site)
    slow = run_plan(site, recorder)
    assert slow.counters.completed == 1 and slow.counters.moves == 2
    assert recorder.counters.rows == 2 and recorder.counters.failures == 0 and not recorder.counters.skipped
    rows = recorder.history.transitions()
    recorder.close()
    assert [(t.stage, t.moved_radios, t.outcome) for _, _, t in rows] == [
        (0, ("ap-1/5g",), StageOutcome.CONTINUED),
        (1, ("ap-2/5g",), StageOutcome.COMPLETE),
    ]
    assert rows[0][1] == rows[1][0]  # the first stage's next state is the second's state
    first, second = rows[0][2], rows[1][2]
    assert first.decided_at == T0 and first.judged_at == T0 + 2 * TICK_S == second.decided_at
    assert first.qoe_before == first.qoe_after == 0.8
    weights = RewardWeights()
    assert (first.channel_moves, first.power_moves, first.violations, first.dark_client_share) == (0, 1, 0, 0.0)
    assert first.reward == pytest.approx(100 * 0.8 - weights.power_move)  # ap-1/5g: 20 -> 23 dBm
    assert (second.channel_moves, second.power_moves) == (1, 0)  # ap-2/5g: 36 -> 149
    assert second.reward == pytest.approx(100 * 0.8 - weights.channel_move)
    log = history_log(tmp_path / "history.db")
    assert log.terminal.tolist() == [False, True]
    assert log.behaviour_counts() == {"history": 2}


def test_the_features_are_the_simulators_on_the_controllers_graph(tmp_path: Path) -> None:
    """State, candidates and the move taken: the functions site_env.py uses, on the graph at the decision."""
    site = TwoApSite()
    before = site.sources(T0).graph()
    recorder = recorder_for(tmp_path / "history.db", site)
    slow = run_plan(site, recorder)
    recorder.close()
    assert slow.execution is not None
    plan = slow.execution.plan
    log = history_log(tmp_path / "history.db")
    expected = decision_state(before, plan, T0, CandidateSettings())
    assert np.array_equal(log.state_features[log.state_ix[0]], expected.features)
    assert np.array_equal(log.candidates(int(log.state_ix[0])), expected.candidates)
    target = plan.assignments["ap-1/5g"]
    taken = move_features(before, Move("ap-1/5g", "ap-1", target), T0)
    assert np.array_equal(log.moves(0), taken[None, :])
    assert any(np.array_equal(row, taken) for row in log.candidates(int(log.state_ix[0])))  # the plan guides
    assert T0 not in site.graphs  # the plan's own graph was the first state; later ones are built anew


def test_a_stage_that_drops_qoe_is_terminal_and_rolled_back(tmp_path: Path) -> None:
    """QoE 0.8 before, 0.6 after the first window: one row, rolled back, its reward on the QoE after."""
    site = TwoApSite()
    recorder = recorder_for(tmp_path / "history.db", site)
    slow = run_plan(site, recorder, drop_to=0.6)
    assert slow.counters.rolled_back == 1
    assert site.configs == CONFIGS  # the rollback restored the radio
    [(_, _, row)] = recorder.history.transitions()
    recorder.close()
    assert row.outcome is StageOutcome.ROLLED_BACK and row.terminal
    assert (row.qoe_before, row.qoe_after) == (0.8, 0.6)
    assert row.reward == pytest.approx(60.0 - RewardWeights().power_move)


def test_a_dark_moved_radio_costs_the_outage_penalty(tmp_path: Path) -> None:
    """ap-1/5g off the air for the first 30 s of its 60 s window: half its clients' share (5 of 10) is dark."""
    site = TwoApSite()
    recorder = recorder_for(tmp_path / "history.db", site)
    slow = SlowLoopRunner(HeuristicPlanner(seed=0), ExecutionSettings(observation_s=OBSERVATION_S), recorder)
    scheduler = LoopScheduler(SchedulerSettings(), slow=slow)
    scheduler.request_plan("operator: test")
    for k in range(3):
        now = T0 + TICK_S * k
        site.carry_out(scheduler.tick(now, TickReports(), site.sources(now)))
        on_air = k != 0  # dark from the move to the first tick after it
        site.configs["ap-1/5g"] = replace(site.configs["ap-1/5g"], enabled=on_air)
    [(_, _, row)] = recorder.history.transitions()
    recorder.close()
    assert row.dark_client_share == pytest.approx(0.5 * 30.0 / 60.0)
    weights = RewardWeights()
    assert row.reward == pytest.approx(80.0 - weights.power_move - weights.outage * 0.25)


def test_stages_without_a_network_qoe_are_skipped_and_counted(tmp_path: Path) -> None:
    """No client seen (QoE None): the plan runs on, nothing is written, the skip is counted."""
    site = TwoApSite()
    recorder = recorder_for(tmp_path / "history.db", site)
    slow = SlowLoopRunner(HeuristicPlanner(seed=0), ExecutionSettings(observation_s=OBSERVATION_S), recorder)
    slow.start(site.graph_at(T0), T0, "test", None)
    network = site.sources(T0).network()
    policy = site.sources(T0).site()
    for k in range(8):
        slow.step(T0 + TICK_S * k, network, policy, None, frozenset())
    assert slow.counters.completed == 1
    assert recorder.counters.rows == 0 and recorder.counters.skipped == {"no_network_qoe": 2}
    recorder.close()


def test_a_failing_history_never_stops_a_plan(tmp_path: Path) -> None:
    """The history's database gone (closed): each stage's failure is counted, the plan completes as without one."""
    site = TwoApSite()
    recorder = recorder_for(tmp_path / "history.db", site)
    recorder.history.close()
    slow = run_plan(site, recorder)
    assert slow.counters.completed == 1 and slow.counters.moves == 2
    assert recorder.counters.failures == 2 and recorder.counters.rows == 0
    assert site.configs["ap-2/5g"] != CONFIGS["ap-2/5g"]  # the second stage went out all the same


def test_without_a_history_the_runner_plans_as_before(tmp_path: Path) -> None:
    site = TwoApSite()
    slow = SlowLoopRunner(HeuristicPlanner(seed=0), ExecutionSettings(observation_s=OBSERVATION_S))
    scheduler = LoopScheduler(SchedulerSettings(), slow=slow)
    scheduler.request_plan("operator: test")
    for k in range(6):
        site.carry_out(scheduler.tick(T0 + TICK_S * k, TickReports(), site.sources(T0 + TICK_S * k)))
    assert slow.counters.completed == 1 and slow.history is None
    assert site.configs["ap-2/5g"].channel == 149
