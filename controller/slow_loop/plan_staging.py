"""A site plan cut into steps: at most 3 APs per step, no two neighbours in one step, each AP once.

Invariant 5 (blast radius) and seed 000 4.2: clients see at most one move per AP per plan, so
every changed radio of an AP goes in the same step and an AP appears in one step only; the
APs of a step do not hear each other (any of their radios coupled at ``neighbour_rssi_dbm`` or
louder, the guardrails' ``ChangeLimits.neighbour_rssi_dbm``), so a step never changes both ends
of a strong link at once. Order: APs with the most active changed radios first (the biggest
expected gain early), ties by AP id; greedy first fit into the earliest step that has room and
no neighbour of the AP. Deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.site_plan import SitePlan, activity

MAX_APS_PER_STEP = 3  # invariant 5: never more


@dataclass(frozen=True, slots=True)
class PlanStep:
    index: int
    ap_ids: tuple[str, ...]
    radio_ids: tuple[str, ...]


def ap_neighbours(graph: InterferenceGraph, ap_id: str, neighbour_rssi_dbm: float) -> frozenset[str]:
    """APs any radio of ``ap_id`` couples to at ``neighbour_rssi_dbm`` or louder (either direction)."""
    found: set[str] = set()
    for radio_id, node in graph.nodes.items():
        if node.ap_id == ap_id:
            found |= graph.neighbour_aps(radio_id, neighbour_rssi_dbm)
    found.discard(ap_id)
    return frozenset(found)


def stage_plan(
    graph: InterferenceGraph,
    plan: SitePlan,
    max_aps_per_step: int = MAX_APS_PER_STEP,
    neighbour_rssi_dbm: float = -75.0,
) -> tuple[PlanStep, ...]:
    """The steps that carry out ``plan`` (module docstring); raises ValueError for more than 3 APs a step."""
    if not 1 <= max_aps_per_step <= MAX_APS_PER_STEP:
        raise ValueError(f"max_aps_per_step must be 1..{MAX_APS_PER_STEP}, not {max_aps_per_step}")
    by_ap: dict[str, list[str]] = {}
    for radio_id in plan.changed(graph):
        by_ap.setdefault(graph.nodes[radio_id].ap_id, []).append(radio_id)
    weight = {ap: sum(activity(graph.nodes[r]) for r in radios) for ap, radios in by_ap.items()}
    steps: list[list[str]] = []
    for ap in sorted(by_ap, key=lambda a: (-weight[a], a)):
        near = ap_neighbours(graph, ap, neighbour_rssi_dbm)
        for step in steps:
            if len(step) < max_aps_per_step and not near.intersection(step):
                step.append(ap)
                break
        else:
            steps.append([ap])
    return tuple(
        PlanStep(i, tuple(sorted(aps)), tuple(sorted(r for ap in aps for r in by_ap[ap])))
        for i, aps in enumerate(steps)
    )
