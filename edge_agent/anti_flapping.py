"""What keeps the event loop from flapping (invariant 4): hold-downs after rollbacks, a change budget.

Pure, with ``now`` passed in:
- RollbackHolddowns: after an action of a kind is rolled back on a radio, that kind waits before
  it is tried again there, and each further rollback doubles the wait (exponential dampening,
  from ``base_s`` up to ``max_s``); an action of that kind that is kept resets the count.
- ChangeBudget: at most ``per_hour`` local changes per radio in any sliding hour (radar moves are
  not counted against it and never refused by it: regulation comes first).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

HOUR_S = 3600.0


@dataclass
class _Holddown:
    until: float
    rollbacks: int


class RollbackHolddowns:
    def __init__(self, base_s: float, max_s: float) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self._held: dict[tuple[str, str], _Holddown] = {}

    def rolled_back(self, radio_id: str, kind: str, now: float) -> float:
        """Record a rollback; returns how long ``kind`` now waits on the radio."""
        entry = self._held.get((radio_id, kind))
        count = 1 if entry is None else entry.rollbacks + 1
        wait = min(self.max_s, self.base_s * 2.0 ** (count - 1))
        self._held[(radio_id, kind)] = _Holddown(now + wait, count)
        return wait

    def kept(self, radio_id: str, kind: str) -> None:
        """An action of ``kind`` outlived its monitoring window: the dampening starts afresh."""
        self._held.pop((radio_id, kind), None)

    def remaining(self, radio_id: str, kind: str, now: float) -> float:
        entry = self._held.get((radio_id, kind))
        return 0.0 if entry is None else max(0.0, entry.until - now)


class ChangeBudget:
    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self._changes: dict[str, deque[float]] = {}

    def _recent(self, radio_id: str, now: float) -> deque[float]:
        changes = self._changes.setdefault(radio_id, deque())
        while changes and changes[0] <= now - HOUR_S:
            changes.popleft()
        return changes

    def allows(self, radio_id: str, now: float) -> bool:
        return self.per_hour <= 0 or len(self._recent(radio_id, now)) < self.per_hour

    def spent(self, radio_id: str, now: float) -> None:
        self._recent(radio_id, now).append(now)

    def used(self, radio_id: str, now: float) -> int:
        return len(self._recent(radio_id, now))
