"""The heuristic planner: colouring legality, DFS and NOP awareness, determinism."""

from __future__ import annotations

from controller.slow_loop.candidate_channels import assignment_problems, candidate_choices
from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.site_plan import current_plan, plan_cost
from radio_domain import regulatory
from radio_domain.radio import Band
from tests.unit.slow_loop.hand_made_graphs import REGION, clique, graph, node

NOW = 1_000.0


def groups(plan_assignments: dict[str, tuple[int, int]]) -> dict[str, tuple[int, ...]]:
    return {r: regulatory.bonding_group(REGION, Band.G5, c, w) for r, (c, w) in plan_assignments.items()}


def test_a_co_channel_clique_is_spread_over_disjoint_channel_groups() -> None:
    """Four radios hearing each other at -60 dBm on 36/80 end up on four disjoint groups, all legal."""
    g = clique(["a", "b", "c", "d"], -60.0, channel=36, width_mhz=80)
    plan = HeuristicPlanner(seed=1).propose(g, NOW)
    spans = groups({r: (a.channel, a.width_mhz) for r, a in plan.assignments.items()})
    radios = sorted(spans)
    for i, r in enumerate(radios):
        for other in radios[i + 1 :]:
            assert not set(spans[r]) & set(spans[other]), (r, other, spans)
    for r, a in plan.assignments.items():
        assert assignment_problems(REGION, g.nodes[r], a, NOW) == [], (r, a)
    assert plan_cost(g, plan.assignments, NOW) < plan_cost(g, current_plan(g).assignments, NOW)


def test_never_a_channel_in_non_occupancy_nor_one_the_radio_lacks() -> None:
    """A radio with most of 5 GHz in NOP and only some channels in its capabilities stays within what is left."""
    base = node("a")
    caps = base.capabilities.__class__(
        channels=(36, 40, 44, 48, 100, 104, 108, 112),
        widths_mhz=(20, 40),
        min_tx_power_dbm=1.0,
        max_tx_power_dbm=23.0,
    )
    blocked = dict.fromkeys((40, 44, 48), NOW + 600.0)
    a = node("a", channel=36, caps=caps, non_occupancy=blocked)
    b = node("b", channel=36, caps=caps)
    g = graph([a, b], {("a/5g", "b/5g"): -55.0})
    for choice in candidate_choices(REGION, g.nodes["a/5g"], NOW):
        group = regulatory.bonding_group(REGION, Band.G5, *choice)
        assert not set(group) & set(blocked) and choice[0] in caps.channels and choice[1] in (20, 40)
    plan = HeuristicPlanner(seed=3).propose(g, NOW)
    mine = plan.assignments["a/5g"]
    assert not set(regulatory.bonding_group(REGION, Band.G5, mine.channel, mine.width_mhz)) & set(blocked)
    assert all(assignment_problems(REGION, g.nodes[r], x, NOW) == [] for r, x in plan.assignments.items())


def test_radar_history_and_legacy_clients_keep_a_radio_off_dfs() -> None:
    """A busy pair next to radar history and no-DFS clients settles on non-DFS channels."""
    dfs_everywhere = frozenset(range(52, 145, 4))
    a = node("a", channel=36, radar_channels=dfs_everywhere, clients_without_dfs=3)
    b = node("b", channel=36, radar_channels=dfs_everywhere, clients_without_dfs=3)
    g = graph([a, b], {("a/5g", "b/5g"): -60.0})
    plan = HeuristicPlanner(seed=5).propose(g, NOW)
    for a_ in plan.assignments.values():
        assert not regulatory.needs_dfs(REGION, Band.G5, a_.channel, a_.width_mhz), plan.assignments


def test_the_same_seed_gives_the_same_plan() -> None:
    """Determinism: two planners with one seed on one graph propose identical plans."""
    g = clique(["a", "b", "c", "d", "e", "f", "g"], -62.0, channel=36, width_mhz=80)
    first = HeuristicPlanner(seed=9).propose(g, NOW)
    second = HeuristicPlanner(seed=9).propose(g, NOW)
    assert first == second


def test_a_good_plan_is_kept() -> None:
    """Radios already far apart with nobody else around keep their channels."""
    g = graph([node("a", channel=36, width_mhz=80), node("b", channel=149, width_mhz=80)], {("a/5g", "b/5g"): -80.0})
    plan = HeuristicPlanner(seed=2).propose(g, NOW)
    assert [(a.channel, a.width_mhz) for a in plan.assignments.values()] == [(36, 80), (149, 80)]
