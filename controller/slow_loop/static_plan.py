"""The "static" slow-loop policy: the site keeps the plan it has (the baseline before any RRM)."""

from __future__ import annotations

from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.site_plan import SitePlan, current_plan


class StaticPlan:
    """``SlowLoopPolicy`` "static": always proposes the current configuration."""

    name = "static"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def propose(self, graph: InterferenceGraph, now: float) -> SitePlan:
        plan = current_plan(graph)
        return SitePlan(plan.assignments, self.name, "static: the initial plan is kept")
