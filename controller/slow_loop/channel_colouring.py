"""Weighted graph colouring of channels: DSATUR start, then local search over ``plan_cost``.

The colours are legal (channel, width) choices (candidate_channels.py); the weights are the
couplings of the interference graph. Powers are fixed beforehand (power_control.py), so the
colouring only moves channels and widths; each radio's power is clamped to the legal limit of the
choice being tried.

1. DSATUR (Brélaz 1979), weighted: repeatedly take the uncoloured radio whose coloured
   neighbours already use the most distinct channel groups (saturation), breaking ties by the
   summed linear coupling to all neighbours, then by a seeded random key; give it the choice
   with the lowest cost against what is already coloured.
2. Local search: in seeded random order, move each radio to the choice that lowers the total
   (its ``radio_cost`` plus its pairs' ``pair_cost`` plus a move cost for leaving its current
   channel) the most; repeat until a pass changes nothing or ``max_passes`` is reached.

The search runs from the DSATUR start and from the current plan; the lower total wins. The move
cost (per radio leaving its current (channel, width), scaled by its activity) is hysteresis: a
plan does not reshuffle a site for a negligible gain, so clients see fewer channel switches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.power_control import clamp_to_channel
from controller.slow_loop.site_plan import (
    RadioAssignment,
    activity,
    assignment_of,
    linear_power,
    pair_cost,
    radio_cost,
)
from radio_domain import regulatory

Choice = tuple[int, int]  # (channel, width_mhz)


@dataclass(frozen=True, slots=True)
class ColouringSettings:
    move_cost: float = 2.0  # per radio that changes channel or width, times its activity
    max_passes: int = 12
    min_gain: float = 1e-6


class _Search:
    """The state of one colouring: a choice per radio and the costs that depend on it."""

    def __init__(
        self,
        graph: InterferenceGraph,
        candidates: Mapping[str, tuple[Choice, ...]],
        powers: Mapping[str, float],
        settings: ColouringSettings,
        now: float | None,
    ) -> None:
        self.graph = graph
        self.candidates = candidates
        self.powers = powers
        self.settings = settings
        self.now = now
        self.choice: dict[str, Choice] = {}

    def assignment(self, radio_id: str, choice: Choice) -> RadioAssignment:
        node = self.graph.nodes[radio_id]
        power = clamp_to_channel(self.graph.region, node, self.powers[radio_id], *choice)
        return RadioAssignment(choice[0], choice[1], power)

    def local_cost(self, radio_id: str, choice: Choice) -> float:
        """Everything in the objective that changes when ``radio_id`` takes ``choice``."""
        mine = self.assignment(radio_id, choice)
        cost = radio_cost(self.graph, radio_id, mine, self.now)
        if math.isinf(cost):
            return cost
        node = self.graph.nodes[radio_id]
        if choice != (node.config.channel, node.config.width_mhz):
            cost += self.settings.move_cost * activity(node)
        for other, rssi in self.graph.neighbours(radio_id):
            theirs = self.choice.get(other)
            if theirs is None:
                continue
            cost += pair_cost(self.graph, radio_id, other, rssi, mine, self.assignment(other, theirs))
        return cost

    def best_choice(self, radio_id: str) -> Choice:
        options = self.candidates[radio_id]
        costs = [self.local_cost(radio_id, c) for c in options]
        return options[int(np.argmin(costs))]

    def total(self) -> float:
        total = 0.0
        for radio_id, choice in self.choice.items():
            node = self.graph.nodes[radio_id]
            total += radio_cost(self.graph, radio_id, self.assignment(radio_id, choice), self.now)
            if choice != (node.config.channel, node.config.width_mhz):
                total += self.settings.move_cost * activity(node)
        for c in self.graph.couplings:
            a, b = self.assignment(c.a, self.choice[c.a]), self.assignment(c.b, self.choice[c.b])
            total += pair_cost(self.graph, c.a, c.b, c.rssi_dbm, a, b)
        return total


def _group(graph: InterferenceGraph, radio_id: str, choice: Choice) -> tuple[int, ...]:
    return regulatory.bonding_group(graph.region, graph.nodes[radio_id].band, *choice)


def dsatur(search: _Search, rng: np.random.Generator) -> None:
    """Colour every radio in DSATUR order (module docstring, step 1)."""
    graph = search.graph
    keys = {r: float(k) for r, k in zip(sorted(graph.nodes), rng.random(len(graph.nodes)), strict=True)}
    degree = {r: sum(linear_power(rssi) for _, rssi in graph.neighbours(r)) for r in graph.nodes}
    search.choice = {}
    while len(search.choice) < len(graph.nodes):

        def rank(radio_id: str) -> tuple[int, float, float]:
            used = {_group(graph, o, search.choice[o]) for o, _ in graph.neighbours(radio_id) if o in search.choice}
            return (len(used), degree[radio_id], keys[radio_id])

        radio_id = max((r for r in graph.nodes if r not in search.choice), key=rank)
        search.choice[radio_id] = search.best_choice(radio_id)


def improve(search: _Search, rng: np.random.Generator) -> None:
    """Local search until no move lowers the objective (module docstring, step 2)."""
    order = sorted(search.choice)
    for _ in range(search.settings.max_passes):
        moved = False
        for index in rng.permutation(len(order)):
            radio_id = order[int(index)]
            current = search.choice[radio_id]
            best = search.best_choice(radio_id)
            if best == current:
                continue
            gain = search.local_cost(radio_id, current) - search.local_cost(radio_id, best)
            if gain > search.settings.min_gain:
                search.choice[radio_id] = best
                moved = True
        if not moved:
            return


def colour_channels(
    graph: InterferenceGraph,
    candidates: Mapping[str, tuple[Choice, ...]],
    powers: Mapping[str, float],
    seed: int,
    settings: ColouringSettings = ColouringSettings(),
    now: float | None = None,
) -> dict[str, RadioAssignment]:
    """The best assignment found from the DSATUR start and from the current plan (module docstring)."""
    best: tuple[float, dict[str, Choice]] | None = None
    for start in ("dsatur", "current"):
        rng = np.random.default_rng(seed)
        search = _Search(graph, candidates, powers, settings, now)
        if start == "dsatur":
            dsatur(search, rng)
        else:
            search.choice = {r: _current_or_first(graph, r, candidates[r]) for r in graph.nodes}
        improve(search, rng)
        total = search.total()
        if best is None or total < best[0] - settings.min_gain:
            best = (total, dict(search.choice))
    assert best is not None
    final = _Search(graph, candidates, powers, settings, now)
    final.choice = best[1]
    return {r: final.assignment(r, c) for r, c in sorted(best[1].items())}


def _current_or_first(graph: InterferenceGraph, radio_id: str, options: tuple[Choice, ...]) -> Choice:
    current = assignment_of(graph.nodes[radio_id])
    choice = (current.channel, current.width_mhz)
    return choice if choice in options else options[0]
