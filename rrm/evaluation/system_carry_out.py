"""The system evaluation's shim: the scheduler's intents carried out on the in-process agents.

Slow-loop changes and fast-loop changes go to the radios as controller commands (their agent's
command executor); rollbacks as rollback commands with the change's token; a change the agent
did not apply is told to the fast loop's planner (``send_failed``). The evaluation's operator
approves a plan ``approve_after_s`` after the plan asks for it; fast-loop approvals (only with
safe zones that require one, none by default) are not given.
"""

from __future__ import annotations

from collections import Counter

from controller.fast_loop.intents import AwaitApproval, KeepConfig, RollBack, SendChange
from controller.fast_loop.planner import ChangePlanner
from controller.scheduler import TickResult
from controller.scheduler_intents import SlowApproval, SlowChange, SlowRollback
from controller.slow_loop_runner import SlowLoopRunner
from rrm.evaluation.system_agents import InProcessAgents

OPERATOR = "evaluation-operator"


class IntentCarrier:
    def __init__(
        self, agents: InProcessAgents, planner: ChangePlanner, slow: SlowLoopRunner, approve_after_s: float
    ) -> None:
        self._agents = agents
        self._planner = planner
        self._slow = slow
        self._approve_after_s = approve_after_s
        self._approvals: list[tuple[float, str]] = []
        self.counts: Counter[str] = Counter()
        self.keeps: Counter[str] = Counter()

    def approvals_due(self, now: float) -> None:
        for due, plan_id in [a for a in self._approvals if a[0] <= now]:
            self._approvals.remove((due, plan_id))
            self._slow.approve(plan_id, OPERATOR)

    async def carry_out(self, result: TickResult, now: float) -> None:
        for intent in result.slow:
            if isinstance(intent, SlowChange):
                await self._slow_change(intent)
            elif isinstance(intent, SlowApproval):
                self._approvals.append((now + self._approve_after_s, intent.plan_id))
            elif isinstance(intent, SlowRollback):
                for change in intent.changes:
                    original = change.change_id.removesuffix(":rollback")
                    self.counts["slow_rollback_moves"] += await self._agents.roll_back(
                        change.radio_id, original, intent.reason
                    )
        for fast in result.fast:
            if isinstance(fast, SendChange):
                sent = await self._agents.send_config(fast.radio_id, fast.change, fast.change_id, "FAST", fast.reason)
                self.counts["fast_moves" if sent else "not_applied"] += 1
                if not sent:
                    self._planner.send_failed(fast.change_id, now)
            elif isinstance(fast, RollBack):
                self.counts["fast_rollbacks"] += await self._agents.roll_back(
                    fast.radio_id, fast.change_id, fast.reason
                )
            elif isinstance(fast, KeepConfig):
                self.keeps[fast.code] += 1
            elif isinstance(fast, AwaitApproval):
                self._planner.reject(fast.change_id)
                self.counts["fast_approvals_not_given"] += 1

    async def _slow_change(self, change: SlowChange) -> None:
        sent = await self._agents.send_config(change.radio_id, change.change, change.change_id, "SLOW", change.reason)
        self.counts["slow_moves" if sent else "not_applied"] += 1
