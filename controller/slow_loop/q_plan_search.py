"""Building a plan move by move under the learned Q, and valuing a given plan the same way.

``greedy_plan``: on a copy of the graph, repeatedly take the candidate move (move_candidates.py)
with the highest conservative value (the model's lower bound), make it on the copy, and go on
until no move has a positive lower bound or ``max_moves`` radios have moved (radios in ``keep``
never do); each radio moves at most once (clients see at most one move per radio per plan).
Only the moved radio's and its coupled neighbours' candidates are valued again after a move.

``plan_value``: the same sum for a given plan's changed radios, taken in radio-id order on a copy:
each move valued on the graph the earlier ones left, by point estimate and by lower bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from controller.slow_loop.cql_model import ConservativeQ
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.move_candidates import CandidateSettings, Move, radio_candidates, with_moves
from controller.slow_loop.move_features import move_features
from controller.slow_loop.site_plan import RadioAssignment


@dataclass(frozen=True, slots=True)
class ValuedMove:
    move: Move
    value: float  # point estimate of q
    lower_bound: float  # q - pessimism * sigma


@dataclass(frozen=True, slots=True)
class ValuedPlan:
    moves: tuple[ValuedMove, ...]

    @property
    def value(self) -> float:
        return float(sum(m.value for m in self.moves))

    @property
    def lower_bound(self) -> float:
        return float(sum(m.lower_bound for m in self.moves))


def greedy_plan(
    model: ConservativeQ,
    graph: InterferenceGraph,
    now: float,
    max_moves: int,
    candidates: CandidateSettings,
    guide: Mapping[str, RadioAssignment] | None = None,
    keep: frozenset[str] = frozenset(),
) -> ValuedPlan:
    """The greedy plan under the model's lower bounds (module docstring); radios in ``keep`` stay."""
    guide = guide or {}
    current = graph
    chosen: list[ValuedMove] = []
    moved: set[str] = set(keep)
    valued: dict[str, list[ValuedMove]] = {}
    stale = set(graph.nodes)
    while len(chosen) < max_moves:
        for radio_id in sorted(stale - moved):
            valued[radio_id] = _value_moves(model, current, radio_id, now, candidates, guide.get(radio_id))
        stale = set()
        best = max(
            (m for r, ms in valued.items() if r not in moved for m in ms),
            key=lambda m: (m.lower_bound, m.move.radio_id),
            default=None,
        )
        if best is None or best.lower_bound <= 0.0:
            break
        chosen.append(best)
        moved.add(best.move.radio_id)
        current = with_moves(current, (best.move,))
        stale = {best.move.radio_id} | {other for other, _ in current.neighbours(best.move.radio_id)}
    return ValuedPlan(tuple(chosen))


def plan_value(
    model: ConservativeQ, graph: InterferenceGraph, assignments: Mapping[str, RadioAssignment], now: float
) -> ValuedPlan:
    """The model's value of giving the radios ``assignments`` (module docstring)."""
    current = graph
    valued: list[ValuedMove] = []
    for radio_id in sorted(assignments):
        node = current.nodes.get(radio_id)
        if node is None:
            continue
        move = Move(radio_id, node.ap_id, assignments[radio_id])
        features = move_features(current, move, now)
        valued.append(ValuedMove(move, float(model.values(features)[0]), float(model.lower_bounds(features)[0])))
        current = with_moves(current, (move,))
    return ValuedPlan(tuple(valued))


def _value_moves(
    model: ConservativeQ,
    graph: InterferenceGraph,
    radio_id: str,
    now: float,
    candidates: CandidateSettings,
    guide: RadioAssignment | None,
) -> list[ValuedMove]:
    moves = radio_candidates(graph, radio_id, now, candidates, guide)
    if not moves:
        return []
    features = np.vstack([move_features(graph, m, now) for m in moves])
    values, bounds = model.values(features), model.lower_bounds(features)
    return [ValuedMove(m, float(v), float(b)) for m, v, b in zip(moves, values, bounds, strict=True)]
