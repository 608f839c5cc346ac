"""One executed plan stage as the controller's history records it, computed purely (no I/O, time given).

The features are those the simulator's transitions use (rrm/evaluation/site_env.py):
``state_features`` and ``move_features`` (move_features.py) of every candidate move (move_candidates.py, the plan's
remaining changes as the guide, as the heuristic's plan guides the simulator's). The reward is
step_reward.py's: 100 x the network QoE after the stage's window, minus 0.2 per channel (or
width) move, 0.05 per power-only move, 10 x the dark client share (the moved radios' share of
all clients, integrated over the window while they are not on air, e.g. in a CAC) and 5 per
refused move.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from controller.guardrails import NetworkSnapshot
from controller.slow_loop.history_transitions import FloatArray, HistoryState, StageOutcome, StageTransition
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.move_candidates import CandidateSettings, Move, site_candidates
from controller.slow_loop.move_features import N_MOVE_FEATURES, move_features, state_features
from controller.slow_loop.site_plan import SitePlan, assignment_of
from controller.slow_loop.step_reward import RewardWeights, StepOutcome


def decision_state(graph: InterferenceGraph, plan: SitePlan, now: float, settings: CandidateSettings) -> HistoryState:
    """The state features and every candidate move's features, the plan's remaining changes as the guide."""
    guide = {r: a for r, a in plan.assignments.items() if r in graph.nodes and a != assignment_of(graph.nodes[r])}
    rows = [
        move_features(graph, move, now)
        for moves in site_candidates(graph, now, settings, guide)
        for move in moves[: settings.per_radio]
    ]
    candidates = np.vstack(rows) if rows else np.zeros((0, N_MOVE_FEATURES))
    return HistoryState(now, len(graph.nodes), state_features(graph, now), candidates)


def sent_moves(graph: InterferenceGraph, plan: SitePlan, radio_ids: Sequence[str]) -> tuple[list[Move], int, int]:
    """The moves of ``radio_ids`` to their planned assignments, channel (or width) moves and power-only moves."""
    moves: list[Move] = []
    switches = powers = 0
    for radio_id in radio_ids:
        node, after = graph.nodes[radio_id], plan.assignments[radio_id]
        moves.append(Move(radio_id, node.ap_id, after))
        if (after.channel, after.width_mhz) != (node.config.channel, node.config.width_mhz):
            switches += 1
        elif after != assignment_of(node):
            powers += 1
    return moves, switches, powers


@dataclass(slots=True)
class OpenStage:
    """A stage sent and being watched: what its row needs from the decision, and the darkness so far."""

    plan_id: str
    stage: int
    policy: str
    decided_at: float
    moved: tuple[str, ...]
    moves: FloatArray
    channel_moves: int
    power_moves: int
    violations: int
    clients: dict[str, int]
    total_clients: int
    qoe_before: float | None
    last_tick: float
    dark_seconds: float = 0.0  # integral over the window of the moved radios' dark client share

    @staticmethod
    def sent(
        plan_id: str,
        stage: int,
        plan: SitePlan,
        graph: InterferenceGraph,
        radio_ids: Sequence[str],
        now: float,
        *,
        refused: int,
        qoe_before: float | None,
    ) -> OpenStage:
        """The stage that moved ``radio_ids`` (each in ``graph``) at ``now``; ``refused`` moves never went out."""
        moves, switches, powers = sent_moves(graph, plan, radio_ids)
        rows = [move_features(graph, m, now) for m in moves]
        return OpenStage(
            plan_id=plan_id,
            stage=stage,
            policy=plan.source,
            decided_at=now,
            moved=tuple(radio_ids),
            moves=np.vstack(rows) if rows else np.zeros((0, N_MOVE_FEATURES)),
            channel_moves=switches,
            power_moves=powers,
            violations=refused,
            clients={r: graph.nodes[r].clients for r in radio_ids},
            total_clients=max(1, sum(n.clients for n in graph.nodes.values())),
            qoe_before=qoe_before,
            last_tick=now,
        )

    def watch(self, now: float, network: NetworkSnapshot) -> None:
        """Add the moved radios' dark client share since the last tick (the share seen now, times the interval)."""
        if now <= self.last_tick:
            return
        dark = [r for r in self.moved if (v := network.radios.get(r)) is not None and not v.config.enabled]
        self.dark_seconds += (now - self.last_tick) * sum(self.clients[r] for r in dark) / self.total_clients
        self.last_tick = now

    def judged(self, now: float, network_qoe: float, outcome: StageOutcome, weights: RewardWeights) -> StageTransition:
        """The stage's row once its window is over (module docstring)."""
        dark_share = self.dark_seconds / max(now - self.decided_at, 1e-9)
        figures = StepOutcome(network_qoe, self.channel_moves, self.power_moves, dark_share, self.violations)
        return StageTransition(
            plan_id=self.plan_id,
            stage=self.stage,
            policy=self.policy,
            decided_at=self.decided_at,
            judged_at=now,
            moved_radios=self.moved,
            moves=self.moves,
            qoe_before=self.qoe_before,
            qoe_after=network_qoe,
            channel_moves=self.channel_moves,
            power_moves=self.power_moves,
            dark_client_share=dark_share,
            violations=self.violations,
            reward=figures.reward(weights),
            outcome=outcome,
        )
