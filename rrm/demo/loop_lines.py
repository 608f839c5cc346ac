"""The summary lines of the demo report's ``loops`` section (rrm/demo/loop_activity.py)."""

from __future__ import annotations

from collections.abc import Mapping


def _counts(value: object) -> str:
    if not isinstance(value, Mapping) or not value:
        return "none"
    return ", ".join(f"{k} {v}" for k, v in sorted(value.items()))


def _section(loops: Mapping[str, object], name: str) -> Mapping[str, object]:
    found = loops.get(name)
    return found if isinstance(found, Mapping) else {}


def loop_lines(loops: Mapping[str, object]) -> list[str]:
    if not loops:
        return []
    event, fast = _section(loops, "event"), _section(loops, "fast")
    slow, scheduler = _section(loops, "slow"), _section(loops, "scheduler")
    lines = [
        f"agents (event loop, the APs' own radar moves, rollbacks): {_counts(event.get('actions'))}",
        f"fast loop ({fast.get('mode', '?')}): changes {_counts(fast.get('changes'))}",
    ]
    if "plans" in slow:
        lines.append(
            f"slow loop ({slow.get('policy')}): plans {slow.get('plans')} (completed {slow.get('completed')}, "
            f"rolled back {slow.get('rolled_back')}, refused {slow.get('refused')}, "
            f"kept {slow.get('kept_current_plan')}), "
            f"moves {slow.get('moves')}, approvals {slow.get('approvals_granted')}/{slow.get('approvals_requested')}; "
            f"changes {_counts(slow.get('changes'))}"
        )
    if scheduler:
        lines.append(
            f"scheduler: ticks {scheduler.get('ticks')}, locks {scheduler.get('locks')}, preempted "
            f"{_counts(scheduler.get('preempted'))}, held by cooldown {_counts(scheduler.get('held_by_cooldown'))}, "
            f"off-plan fast changes held {scheduler.get('off_plan_held')}"
        )
    return lines
