"""Whether an applied change must be undone, judged on telemetry after it (seed 004 triggers as data).

Pure: a change's KPI baseline (the stretch before it) and the KPIs observed over each trigger's
window after it go in; the first trigger that fires comes out. A trigger is judged once, when its
window has passed; a change whose every window passed without a trigger is kept. What to undo
when one fires is ``rollback_set``: the AP's latest ``rollback_depth`` applied changes, newest
first, plus every change that was applied as part of the same plan (grouped changes go back
together, atomically from the operator's point of view).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from controller.site_policy import Kpi, RollbackTrigger


@dataclass(frozen=True, slots=True)
class AppliedChange:
    change_id: str
    radio_id: str
    ap_id: str
    applied_at: float
    rollback_token_id: str
    plan_id: str = ""


@dataclass(frozen=True, slots=True)
class Fired:
    trigger: RollbackTrigger
    before: float
    after: float

    def describe(self) -> str:
        return f"{self.trigger.describe()}: {self.trigger.kpi.value} {self.before:.3f} -> {self.after:.3f}"


KpiSource = Callable[[float, float], Mapping[Kpi, float]]
"""The radio's KPIs over (since, until]."""


def due_triggers(
    change: AppliedChange, triggers: Sequence[RollbackTrigger], judged: frozenset[int], now: float
) -> list[int]:
    """Indexes of the triggers whose window has passed and that were not judged yet."""
    return [i for i, t in enumerate(triggers) if i not in judged and now >= change.applied_at + t.window_s]


def judge(
    change: AppliedChange,
    triggers: Sequence[RollbackTrigger],
    due: Sequence[int],
    baseline: Mapping[Kpi, float],
    observed: KpiSource,
) -> Fired | None:
    """The first due trigger that fires on the KPIs of its window after the change, or None."""
    for index in due:
        trigger = triggers[index]
        after = observed(change.applied_at, change.applied_at + trigger.window_s).get(trigger.kpi)
        before = baseline.get(trigger.kpi)
        if after is None or (before is None and trigger.relative):
            continue  # no data: a trigger never fires on silence
        if trigger.fires(before if before is not None else after, after):
            return Fired(trigger, before if before is not None else after, after)
    return None


def settled(change: AppliedChange, triggers: Sequence[RollbackTrigger], now: float) -> bool:
    """Every trigger's window has passed: a change not rolled back by now is kept."""
    return all(now >= change.applied_at + t.window_s for t in triggers)


def rollback_set(fired: AppliedChange, applied: Sequence[AppliedChange], depth: int) -> list[AppliedChange]:
    """What to undo, newest first: the AP's latest ``depth`` changes up to the fired one, and their plans."""
    on_ap = sorted(
        (c for c in applied if c.ap_id == fired.ap_id and c.applied_at <= fired.applied_at),
        key=lambda c: c.applied_at,
        reverse=True,
    )
    chosen = on_ap[: max(1, depth)]
    if fired not in chosen:
        chosen = [fired, *chosen[: max(0, depth - 1)]]
    plans = {c.plan_id for c in chosen if c.plan_id}
    grouped = [c for c in applied if c.plan_id in plans and c not in chosen]
    return sorted([*chosen, *grouped], key=lambda c: c.applied_at, reverse=True)
