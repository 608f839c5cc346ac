"""The slow loop's objective: co-channel, adjacent, power, DFS and unmanaged terms."""

from __future__ import annotations

import math

from controller.slow_loop.interference_graph import ExternalBss
from controller.slow_loop.site_plan import RadioAssignment, current_plan, plan_cost
from tests.unit.slow_loop.hand_made_graphs import clique, graph, node


def test_separating_co_channel_radios_lowers_the_cost() -> None:
    """Two radios on 36 cost more than one on 36 and one on 44, which cost more than far apart."""
    g = clique(["a", "b"], -65.0)
    same = plan_cost(g, current_plan(g).assignments)
    adjacent = plan_cost(g, {"b/5g": RadioAssignment(40, 20, 20.0)})
    apart = plan_cost(g, {"b/5g": RadioAssignment(149, 20, 20.0)})
    assert same > adjacent > apart


def test_a_wide_channel_that_covers_a_neighbours_primary_costs_more() -> None:
    """b at 80 MHz on 36 covers a's 20 MHz on 44: that coupling costs more than b at 20 MHz on 36."""
    g = graph([node("a", channel=44), node("b", channel=36, width_mhz=20)], {("a/5g", "b/5g"): -65.0})
    wide = plan_cost(g, {"b/5g": RadioAssignment(36, 80, 20.0)})
    narrow = plan_cost(g, {"b/5g": RadioAssignment(36, 20, 20.0)})
    assert wide > narrow


def test_lower_power_lowers_the_coupling_term() -> None:
    """Turning both co-channel radios down 6 dB lowers the cost (coverage costs less than the coupling)."""
    g = clique(["a", "b"], -60.0)
    full = plan_cost(g, current_plan(g).assignments)
    lower = plan_cost(g, {"a/5g": RadioAssignment(36, 20, 14.0), "b/5g": RadioAssignment(36, 20, 14.0)})
    assert lower < full


def test_non_occupancy_forbids_and_an_uncleared_dfs_channel_costs_a_cac() -> None:
    """A channel in NOP is infinitely expensive; an uncleared DFS channel costs more than a non-DFS one."""
    g = graph([node("a", channel=36, non_occupancy={100: 1e12})], {})
    assert math.isinf(plan_cost(g, {"a/5g": RadioAssignment(100, 20, 20.0)}, now=0.0))
    dfs = plan_cost(g, {"a/5g": RadioAssignment(52, 20, 20.0)}, now=0.0)
    plain = plan_cost(g, {"a/5g": RadioAssignment(149, 20, 20.0)}, now=0.0)
    assert dfs > plain


def test_an_expired_non_occupancy_no_longer_forbids() -> None:
    """A NOP that ended before ``now`` leaves the channel usable."""
    g = graph([node("a", channel=36, non_occupancy={100: 50.0})], {})
    assert not math.isinf(plan_cost(g, {"a/5g": RadioAssignment(100, 20, 20.0)}, now=100.0))


def test_an_unmanaged_neighbour_makes_its_channel_expensive() -> None:
    """An unmanaged BSS heard on 149 makes 149 cost more than 157."""
    g = graph([node("a")], {}, external=(ExternalBss("a/5g", 149, 20, -65.0),))
    on_it = plan_cost(g, {"a/5g": RadioAssignment(149, 20, 20.0)})
    beside = plan_cost(g, {"a/5g": RadioAssignment(157, 20, 20.0)})
    assert on_it > beside
