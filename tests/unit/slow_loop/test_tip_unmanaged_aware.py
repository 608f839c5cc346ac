"""TIP OpenWiFi's unmanaged_aware channel rule on hand-made graphs."""

from __future__ import annotations

from controller.slow_loop.interference_graph import ExternalBss
from controller.slow_loop.site_plan import assignment_of
from controller.slow_loop.tip_unmanaged_aware import TipUnmanagedAware, channel_weights, occupancy, tip_candidates
from radio_domain import regulatory
from radio_domain.radio import Band
from tests.unit.slow_loop.hand_made_graphs import REGION, graph, node

NOW = 0.0


def test_a_radio_alone_on_its_channel_keeps_it() -> None:
    """Two neighbours on 36 and 149 at 80 MHz: nobody shares, nothing moves."""
    g = graph([node("a", channel=36, width_mhz=80), node("b", channel=149, width_mhz=80)], {("a/5g", "b/5g"): -60.0})
    plan = TipUnmanagedAware(seed=1).propose(g, NOW)
    assert plan.changed(g) == ()


def test_sharing_radios_move_to_free_non_dfs_primaries_of_the_width_table() -> None:
    """Three radios on 36/80: the later-visited ones move to 149 (the only other non-DFS 80 MHz primary)."""
    nodes = [node(ap, channel=36, width_mhz=80) for ap in ("a", "b", "c")]
    links = {("a/5g", "b/5g"): -60.0, ("a/5g", "c/5g"): -60.0, ("b/5g", "c/5g"): -60.0}
    g = graph(nodes, links)
    assert tip_candidates(REGION, g.nodes["a/5g"]) == (36, 149)
    plan = TipUnmanagedAware(seed=1).propose(g, NOW)
    chosen = sorted(a.channel for a in plan.assignments.values())
    assert chosen in ([36, 36, 149], [36, 149, 149]), chosen
    assert all(not regulatory.needs_dfs(REGION, Band.G5, a.channel, a.width_mhz) for a in plan.assignments.values())
    assert all(a.width_mhz == 80 and a.tx_power_dbm == 20.0 for a in plan.assignments.values())


def test_an_unmanaged_bss_weighs_twice_a_managed_one() -> None:
    """W = 2 * unmanaged + managed: one unmanaged BSS on 149 outweighs one managed radio on 36."""
    a = node("a", channel=36, width_mhz=80)
    b = node("b", channel=36, width_mhz=80)
    c = node("c", channel=149, width_mhz=80)
    unmanaged = (ExternalBss("a/5g", 149, 80, -70.0),)
    g = graph([a, b, c], {("a/5g", "b/5g"): -60.0, ("a/5g", "c/5g"): -80.0}, external=unmanaged)
    placed = {r: assignment_of(n) for r, n in g.nodes.items()}
    weights = channel_weights(g, "a/5g", placed)
    assert occupancy(g.nodes["a/5g"], weights, 36) == 1  # b
    assert occupancy(g.nodes["a/5g"], weights, 149) == 2 + 1  # the unmanaged BSS twice, c once


def test_on_2g_the_overlap_window_counts_neighbours_within_four_channels() -> None:
    """A neighbour on channel 3 counts against 1 and 6 but not 11; candidates are 1, 6, 11."""
    a = node("a", band=Band.G2, channel=1)
    b = node("b", band=Band.G2, channel=3)
    g = graph([a, b], {("a/2g", "b/2g"): -60.0})
    assert tip_candidates(REGION, g.nodes["a/2g"]) == (1, 6, 11)
    placed = {r: assignment_of(n) for r, n in g.nodes.items()}
    weights = channel_weights(g, "a/2g", placed)
    assert [occupancy(g.nodes["a/2g"], weights, c) for c in (1, 6, 11)] == [1, 1, 0]
    plan = TipUnmanagedAware(seed=4).propose(g, NOW)
    assert {plan.assignments["a/2g"].channel, plan.assignments["b/2g"].channel} <= {1, 3, 6, 11}


def test_the_busiest_scanner_is_visited_first_and_keeps_its_channel() -> None:
    """a hears two radios, b and c one each: a is visited first and keeps 36 only if alone; here b or c moves."""
    nodes = [node(ap, channel=36) for ap in ("a", "b", "c")]
    g = graph(nodes, {("a/5g", "b/5g"): -60.0, ("a/5g", "c/5g"): -60.0})
    plan = TipUnmanagedAware(seed=2).propose(g, NOW)
    # a is visited first while b and c still sit on 36, so a moves; b and c then see a elsewhere and keep 36.
    assert plan.assignments["a/5g"].channel != 36
    assert plan.assignments["b/5g"].channel == 36 and plan.assignments["c/5g"].channel == 36
