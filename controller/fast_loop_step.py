"""The fast loop's change planner as one step of a scheduler tick (controller/scheduler.py).

The scheduler picks the radios (``gate.allows``: held APs are not iterated, so their optimisers
are not asked and their windows keep running), the tick's sources give the readings, and the
planner's judge is the guardrails (or ``judge``, e.g. a pipeline) behind the gate. The intents
go back to the caller unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from controller.fast_gate import FastGate, Judge
from controller.fast_loop.intents import Intent
from controller.fast_loop.planner import ChangePlanner
from controller.guardrails import Proposal, Verdict, check_iteration
from controller.scheduler import TickSources


class PlannerStep:
    def __init__(self, planner: ChangePlanner, judge: Judge | None = None) -> None:
        self.planner = planner
        self._judge = judge

    def step(self, now: float, gate: FastGate, sources: TickSources) -> Sequence[Intent]:
        due = [radio_id for radio_id in self.planner.due(now) if gate.allows(radio_id)]
        if not due:
            return []
        site = sources.site()
        network = gate.network

        def guardrails(proposals: Sequence[Proposal]) -> Sequence[Verdict]:
            return check_iteration(proposals, network, site, now)

        judge = gate.wrap(self._judge or guardrails)
        return self.planner.iterate(now, sources.readings(due), network, site, judge)
