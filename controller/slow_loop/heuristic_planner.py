"""The slow loop's heuristic planner: neighbour-RSSI power control, then weighted channel colouring.

The baseline the safe-RL policy must beat and the plan it falls back to (issue 8 item 2).
``propose(graph, now)``: powers from power_control (Cisco TPC / TIP measure_ap_ap rule), legal
DFS-aware choices from candidate_channels, channels and widths from channel_colouring (DSATUR +
local search over plan_cost with a move cost), each power clamped to the legal limit of the
chosen channel. If the result is not cheaper than the current plan (same objective, with the
move cost) the current plan is kept. Deterministic: every tie-break comes from ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.slow_loop.candidate_channels import MAX_PLANNED_WIDTH_MHZ, candidate_choices
from controller.slow_loop.channel_colouring import ColouringSettings, colour_channels
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.power_control import PowerSettings, target_power_dbm
from controller.slow_loop.site_plan import SitePlan, activity, assignment_of, current_plan, plan_cost


@dataclass(frozen=True, slots=True)
class HeuristicSettings:
    power: PowerSettings = field(default_factory=PowerSettings)
    colouring: ColouringSettings = field(default_factory=ColouringSettings)
    max_width_mhz: int = MAX_PLANNED_WIDTH_MHZ
    control_power: bool = True


class HeuristicPlanner:
    """``SlowLoopPolicy`` "heuristic" (module docstring)."""

    name = "heuristic"

    def __init__(self, seed: int = 0, settings: HeuristicSettings | None = None) -> None:
        self.seed = seed
        self.settings = settings or HeuristicSettings()

    def propose(self, graph: InterferenceGraph, now: float) -> SitePlan:
        s = self.settings
        powers = {
            r: target_power_dbm(graph, r, s.power) if s.control_power else float(n.config.tx_power_dbm)
            for r, n in graph.nodes.items()
        }
        candidates = {
            r: candidate_choices(graph.region, n, now, s.max_width_mhz) or ((n.config.channel, n.config.width_mhz),)
            for r, n in graph.nodes.items()
        }
        assignments = colour_channels(graph, candidates, powers, self.seed, s.colouring, now)
        before = plan_cost(graph, current_plan(graph).assignments, now)
        after = plan_cost(graph, assignments, now)
        moves = sum(
            s.colouring.move_cost * activity(n)
            for r, n in graph.nodes.items()
            if (assignments[r].channel, assignments[r].width_mhz) != (n.config.channel, n.config.width_mhz)
        )
        if not after + moves < before:
            plan = current_plan(graph)
            return SitePlan(
                plan.assignments, self.name, f"kept the current plan: cost {before:.1f}, best found {after:.1f}"
            )
        changed = sum(1 for r, a in assignments.items() if a != assignment_of(graph.nodes[r]))
        return SitePlan(
            assignments,
            self.name,
            f"colouring + power control: cost {before:.1f} -> {after:.1f}, {changed} radios change",
        )
