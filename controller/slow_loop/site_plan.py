"""A site plan (a channel, width and power per radio), its cost, and the slow-loop policy interface.

``plan_cost(graph, assignments)`` is THE objective of the slow loop: the heuristic planner
minimises it, the TIP baseline is judged by it, the safe-RL agent uses it as a feature. Lower is
better; ``math.inf`` means the plan is forbidden. It is a sum of six terms:

1. Coupling between managed radios, per direction (victim v, interferer i) of every coupled pair:
   ``lin(P_i - L) * victim_fraction(v, i) * activity(v) * activity(i)``, where ``L`` is the
   measured path loss (Coupling.path_loss_db, so the term follows power changes), ``lin(x)`` is
   the linear power relative to the -82 dBm preamble-detect level, ``10 ** ((x + 82) / 10)``,
   capped at -52 dBm, and ``victim_fraction`` the spectral overlap by occupied MHz (1 when the
   interferer covers the victim's primary channel; adjacent-channel leakage otherwise:
   spectral_overlap.py). ``activity(r) = min(1, 0.25 + utilisation + 0.02 * clients)``: both
   radios' load weigh the term; an idle radio still beacons.
2. Unmanaged neighbours: ``2 * lin(RSSI) * victim_fraction * activity(v) * 0.5`` per BSS heard
   (the factor 2 is TIP's unmanaged weight D; 0.5 the neighbour's assumed activity).
3. DFS (dfs_cost.py): CAC darkness for an uncleared DFS group, radar history, clients without
   DFS support; infinite inside a non-occupancy period or for an illegal combination.
4. Capacity: a 5/6 GHz radio narrower than 80 MHz (or its widest capability below that) forgoes
   throughput: ``4 * activity * log2(W_ref / W)``. On 2.4 GHz the reference is 20 MHz.
5. Coverage: a radio below its maximum power loses client SNR:
   ``activity * (10 ** ((P_max - P) / 10) - 1) * 0.5``.
6. Non-Wi-Fi interference: for each source the radio reported and the plan still counts,
   ``activity * 0.5 * duty * lin(level the chosen channel would receive)``
   (non_wifi_sightings.py): a camera's channel is as costly as its level says.

The weights are in the units of term 1 (a co-channel neighbour heard at -72 dBm by two busy
radios costs about 10 per direction); they were set so the simulator's QoE follows the cost
(rrm eval slow-loop).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from controller.slow_loop.dfs_cost import dfs_cost
from controller.slow_loop.interference_graph import InterferenceGraph, RadioNode
from controller.slow_loop.spectral_overlap import occupied_span, victim_fraction
from radio_domain.radio import Band
from radio_domain.regulatory import RegulatoryError

PREAMBLE_DETECT_DBM = -82.0
LINEAR_CAP_DBM = -52.0
UNMANAGED_WEIGHT = 2.0  # TIP's DEFAULT_WEIGHT D for unmanaged BSSs
UNMANAGED_ACTIVITY = 0.5
CAPACITY_WEIGHT = 4.0
COVERAGE_WEIGHT = 0.5
ACTIVITY_FLOOR = 0.25
ACTIVITY_PER_CLIENT = 0.02
SOURCES = ("static", "tip_unmanaged_aware", "heuristic", "safe_rl")


@dataclass(frozen=True, slots=True)
class RadioAssignment:
    channel: int
    width_mhz: int
    tx_power_dbm: float


@dataclass(frozen=True, slots=True)
class SitePlan:
    """An assignment for every radio of a graph, who made it and why."""

    assignments: Mapping[str, RadioAssignment]
    source: str
    reason: str

    def changed(self, graph: InterferenceGraph) -> tuple[str, ...]:
        """The radios whose assignment differs from their current configuration, sorted."""
        return tuple(
            sorted(r for r, a in self.assignments.items() if r in graph.nodes and a != assignment_of(graph.nodes[r]))
        )


@runtime_checkable
class SlowLoopPolicy(Protocol):
    """A slow-loop planner: a frozen graph in, a plan out (STYLE.md point 2)."""

    name: str

    def propose(self, graph: InterferenceGraph, now: float) -> SitePlan: ...


def assignment_of(node: RadioNode) -> RadioAssignment:
    return RadioAssignment(node.config.channel, node.config.width_mhz, float(node.config.tx_power_dbm))


def current_plan(graph: InterferenceGraph) -> SitePlan:
    """The plan the site runs now."""
    return SitePlan({r: assignment_of(n) for r, n in graph.nodes.items()}, "static", "the current configuration")


def linear_power(dbm: float) -> float:
    return float(10.0 ** ((min(dbm, LINEAR_CAP_DBM) - PREAMBLE_DETECT_DBM) / 10.0))


def activity(node: RadioNode) -> float:
    return min(1.0, ACTIVITY_FLOOR + node.utilisation + ACTIVITY_PER_CLIENT * node.clients)


def _received_dbm(graph: InterferenceGraph, a: str, b: str, rssi: float, power: float) -> float:
    """What ``b`` hears from ``a`` transmitting at ``power`` (``rssi`` at the current power if no loss)."""
    loss = graph.path_loss_db(a, b)
    if loss is None:
        return rssi + power - graph.nodes[a].config.tx_power_dbm
    return power - loss


def pair_cost(
    graph: InterferenceGraph, a: str, b: str, rssi: float, first: RadioAssignment, second: RadioAssignment
) -> float:
    """Term 1 for one coupled pair, both directions."""
    na, nb = graph.nodes[a], graph.nodes[b]
    weight = activity(na) * activity(nb)
    region, band = graph.region, na.band
    a_choice, b_choice = (first.channel, first.width_mhz), (second.channel, second.width_mhz)
    into_b = linear_power(_received_dbm(graph, a, b, rssi, first.tx_power_dbm))
    into_a = linear_power(_received_dbm(graph, b, a, rssi, second.tx_power_dbm))
    return weight * (
        into_a * victim_fraction(region, band, a_choice, b_choice)
        + into_b * victim_fraction(region, band, b_choice, a_choice)
    )


def radio_cost(graph: InterferenceGraph, radio_id: str, choice: RadioAssignment, now: float | None = None) -> float:
    """Terms 2-6 for one radio: everything that does not involve another managed radio."""
    node = graph.nodes[radio_id]
    region = graph.region
    dfs = dfs_cost(region, node, choice.channel, choice.width_mhz, now)
    if math.isinf(dfs):
        return math.inf
    act = activity(node)
    external = sum(
        UNMANAGED_WEIGHT
        * UNMANAGED_ACTIVITY
        * act
        * linear_power(e.rssi_dbm)
        * victim_fraction(region, node.band, (choice.channel, choice.width_mhz), (e.channel, e.width_mhz))
        for e in graph.external_for(radio_id)
        if _legal_external(graph, node, e.channel, e.width_mhz)
    )
    reference = _reference_width(node)
    capacity = CAPACITY_WEIGHT * act * max(0.0, math.log2(reference / choice.width_mhz))
    shortfall = max(0.0, node.capabilities.max_tx_power_dbm - choice.tx_power_dbm)
    coverage = COVERAGE_WEIGHT * act * (float(10.0 ** (shortfall / 10.0)) - 1.0)
    sightings = graph.non_wifi_for(radio_id)
    non_wifi = 0.0
    if sightings:
        span = occupied_span(region, node.band, choice.channel, choice.width_mhz)
        non_wifi = act * sum(s.cost(span) for s in sightings)
    return dfs + external + capacity + coverage + non_wifi


def _legal_external(graph: InterferenceGraph, node: RadioNode, channel: int, width_mhz: int) -> bool:
    try:
        occupied_span(graph.region, node.band, channel, width_mhz)
    except RegulatoryError:
        return False
    return True


def _reference_width(node: RadioNode) -> int:
    if node.band is Band.G2:
        return 20
    widths = [w for w in node.capabilities.widths_mhz if w <= 80]
    return max(widths, default=20)


def plan_cost(graph: InterferenceGraph, assignments: Mapping[str, RadioAssignment], now: float | None = None) -> float:
    """The slow loop's objective for ``assignments`` (module docstring); radios missing keep their config."""

    def pick(radio_id: str) -> RadioAssignment:
        found = assignments.get(radio_id)
        return found if found is not None else assignment_of(graph.nodes[radio_id])

    total = 0.0
    for radio_id in graph.nodes:
        total += radio_cost(graph, radio_id, pick(radio_id), now)
        if math.isinf(total):
            return math.inf
    for c in graph.couplings:
        total += pair_cost(graph, c.a, c.b, c.rssi_dbm, pick(c.a), pick(c.b))
    return total
