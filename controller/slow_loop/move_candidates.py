"""The few legal moves per radio that the safe-RL agent chooses among, and trying them on a copy.

A move gives one radio a new assignment (channel, width, power). Per radio the candidates are,
in this order: the ``channel_choices`` legal (channel, width) choices with the lowest local cost
(site_plan's objective for that radio and its coupled neighbours, everyone else as now), at the
radio's power clamped to the choice's legal limit; the current channel at a few power steps;
and the guide's assignment (e.g. the heuristic plan's) when it differs. Every candidate comes
from candidate_channels (legal for the region, width and capability, never inside a
non-occupancy period) and passes ``assignment_problems``, the plans' independent check, so an
illegal or NOP move is never offered. The list is deterministic: ties break by channel and width.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from controller.slow_loop.candidate_channels import MAX_PLANNED_WIDTH_MHZ, assignment_problems, candidate_choices
from controller.slow_loop.interference_graph import InterferenceGraph, RadioNode
from controller.slow_loop.power_control import clamp_to_channel
from controller.slow_loop.site_plan import RadioAssignment, assignment_of, pair_cost, radio_cost


@dataclass(frozen=True, slots=True)
class Move:
    """Give ``radio_id`` the ``assignment``."""

    radio_id: str
    ap_id: str
    assignment: RadioAssignment


@dataclass(frozen=True, slots=True)
class CandidateSettings:
    channel_choices: int = 5  # the cheapest legal (channel, width) choices per radio
    power_steps_db: tuple[float, ...] = (-6.0, -3.0, 3.0)
    max_width_mhz: int = MAX_PLANNED_WIDTH_MHZ

    @property
    def per_radio(self) -> int:
        """The most candidates one radio can have (the guide's assignment included)."""
        return self.channel_choices + len(self.power_steps_db) + 1


def local_cost(graph: InterferenceGraph, radio_id: str, assignment: RadioAssignment, now: float) -> float:
    """The objective terms that involve ``radio_id`` when it takes ``assignment``, others unchanged."""
    cost = radio_cost(graph, radio_id, assignment, now)
    if math.isinf(cost):
        return cost
    for other, rssi in graph.neighbours(radio_id):
        cost += pair_cost(graph, radio_id, other, rssi, assignment, assignment_of(graph.nodes[other]))
    return cost


def radio_candidates(
    graph: InterferenceGraph,
    radio_id: str,
    now: float,
    settings: CandidateSettings,
    guide: RadioAssignment | None = None,
) -> tuple[Move, ...]:
    """The legal moves of one radio (module docstring); never the radio's current assignment."""
    node = graph.nodes[radio_id]
    current = assignment_of(node)
    found: list[RadioAssignment] = []
    for choice in _cheapest_choices(graph, node, now, settings):
        power = clamp_to_channel(graph.region, node, current.tx_power_dbm, *choice)
        found.append(RadioAssignment(choice[0], choice[1], power))
    if node.capabilities.can_change_tx_power:
        for step in settings.power_steps_db:
            found.append(replace(current, tx_power_dbm=_stepped_power(graph, node, step)))
    if guide is not None:
        found.append(guide)
    moves: list[Move] = []
    seen = {current}
    for assignment in found:
        if assignment in seen or assignment_problems(graph.region, node, assignment, now):
            continue
        seen.add(assignment)
        moves.append(Move(radio_id, node.ap_id, assignment))
    return tuple(moves)


def site_candidates(
    graph: InterferenceGraph,
    now: float,
    settings: CandidateSettings,
    guide: Mapping[str, RadioAssignment] | None = None,
) -> tuple[tuple[Move, ...], ...]:
    """``radio_candidates`` of every radio, in the graph's node order."""
    guide = guide or {}
    return tuple(radio_candidates(graph, r, now, settings, guide.get(r)) for r in graph.nodes)


def with_moves(graph: InterferenceGraph, moves: tuple[Move, ...]) -> InterferenceGraph:
    """A copy of ``graph`` in which the moves are made (hypothetical: nothing is measured anew)."""
    if not moves:
        return graph
    nodes = dict(graph.nodes)
    for move in moves:
        node = nodes[move.radio_id]
        a = move.assignment
        config = replace(node.config, channel=a.channel, width_mhz=a.width_mhz, tx_power_dbm=a.tx_power_dbm)
        nodes[move.radio_id] = replace(node, config=config)
    return replace(graph, nodes=nodes)


def _cheapest_choices(
    graph: InterferenceGraph, node: RadioNode, now: float, settings: CandidateSettings
) -> list[tuple[int, int]]:
    if settings.channel_choices <= 0:
        return []
    current = (node.config.channel, node.config.width_mhz)
    power = float(node.config.tx_power_dbm)
    scored = []
    for choice in candidate_choices(graph.region, node, now, settings.max_width_mhz):
        if choice == current:
            continue
        clamped = clamp_to_channel(graph.region, node, power, *choice)
        cost = local_cost(graph, node.radio_id, RadioAssignment(choice[0], choice[1], clamped), now)
        if not math.isinf(cost):
            scored.append((cost, choice[1], choice[0]))
    scored.sort()
    return [(channel, width) for _, width, channel in scored[: settings.channel_choices]]


def _stepped_power(graph: InterferenceGraph, node: RadioNode, step_db: float) -> float:
    caps = node.capabilities
    wanted = float(node.config.tx_power_dbm) + step_db
    clamped = clamp_to_channel(graph.region, node, wanted, node.config.channel, node.config.width_mhz)
    return float(max(math.ceil(caps.min_tx_power_dbm), clamped))
