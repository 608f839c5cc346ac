"""Staging a plan: blast radius, neighbours apart, one move per AP."""

from __future__ import annotations

import pytest

from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.plan_staging import ap_neighbours, stage_plan
from controller.slow_loop.site_plan import RadioAssignment, SitePlan, current_plan
from radio_domain.radio import Band
from tests.unit.slow_loop.hand_made_graphs import graph, node


def line_of_aps(n: int) -> tuple[SitePlan, InterferenceGraph]:
    """APs ap-0..ap-n-1 in a line, each hearing the next at -60 dBm; every radio (5 and 2.4 GHz) changes."""
    nodes = [node(f"ap-{i}", channel=36) for i in range(n)] + [node(f"ap-{i}", Band.G2, 1) for i in range(n)]
    links = {(f"ap-{i}/5g", f"ap-{i + 1}/5g"): -60.0 for i in range(n - 1)}
    links |= {(f"ap-{i}/2g", f"ap-{i + 1}/2g"): -60.0 for i in range(n - 1)}
    g = graph(nodes, links)
    moves = {n_.radio_id: RadioAssignment(44 if n_.band is Band.G5 else 6, 20, 17.0) for n_ in nodes}
    return SitePlan(moves, "heuristic", "test"), g


def test_steps_hold_at_most_three_aps_no_neighbours_and_each_ap_once() -> None:
    """Ten changing APs: every step has <= 3, no two neighbours, and every AP appears in exactly one step."""
    plan, g = line_of_aps(10)
    steps = stage_plan(g, plan)
    seen: list[str] = []
    for step in steps:
        assert 1 <= len(step.ap_ids) <= 3, step
        for ap in step.ap_ids:
            assert not ap_neighbours(g, ap, -75.0) & set(step.ap_ids), step
        seen += step.ap_ids
    assert sorted(seen) == sorted(f"ap-{i}" for i in range(10))
    radios = [r for s in steps for r in s.radio_ids]
    assert sorted(radios) == sorted(plan.assignments) and len(radios) == len(set(radios))


def test_both_radios_of_an_ap_move_in_the_same_step() -> None:
    """An AP's 2.4 and 5 GHz changes share one step (clients see one move per AP)."""
    plan, g = line_of_aps(4)
    for step in stage_plan(g, plan):
        for ap in step.ap_ids:
            assert {f"{ap}/5g", f"{ap}/2g"} <= set(step.radio_ids)


def test_a_blast_radius_above_three_is_refused_and_an_unchanged_plan_has_no_steps() -> None:
    """max_aps_per_step 4 is a ValueError; the current plan stages to nothing."""
    plan, g = line_of_aps(3)
    with pytest.raises(ValueError, match="max_aps_per_step"):
        stage_plan(g, plan, max_aps_per_step=4)
    assert stage_plan(g, current_plan(g)) == ()
