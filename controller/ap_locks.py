"""Locks that keep the controller's loops off an AP while the agent watches an emergency (seed 002).

An event an agent reports on one of an AP's radios (radar, a non-Wi-Fi burst, a saturated medium,
a failed radio), or an action its event loop (or the AP itself) took, starts the agent's
post-action monitoring window on that AP. Until the window closes the scheduler gives neither the
slow nor the fast loop the AP: the agent may still undo its move, and a change decided on readings
taken in the middle of an emergency would be judged on the emergency. A later event on a locked AP
extends its lock; a lock never shortens. Steering clients away (802.11v) leaves the radio's
configuration as it was and does not lock.

Pure (STYLE.md points 1 and 4): the time is a parameter, nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from radio_domain.events import EventType

DEFAULT_MONITORING_WINDOW_S = 300.0  # seed 002: 5 minutes of post-action monitoring
LOCKING_EVENTS = frozenset(
    {EventType.DFS_RADAR, EventType.NON_WIFI_BURST, EventType.SPECTRUM_SAT, EventType.HW_FAILURE}
)
LOCKING_ORIGINS = frozenset({"LOCAL_EVENT_LOOP", "AP_AUTONOMOUS"})


@dataclass(frozen=True, slots=True)
class ReportedEvent:
    """An event an agent reported on one of its radios."""

    event_id: str
    radio_id: str
    ap_id: str
    type: EventType
    at: float


@dataclass(frozen=True, slots=True)
class ReportedAction:
    """A change an agent made without the controller: its event loop's, or the AP's own (radar CSA)."""

    action_id: str
    radio_id: str
    ap_id: str
    origin: str  # an ActionOrigin name: LOCAL_EVENT_LOOP or AP_AUTONOMOUS lock; others do not
    at: float
    reason: str = ""
    changed_config: bool = True  # False for a client steering request: the radio itself stays as it was


@dataclass(frozen=True, slots=True)
class ApLock:
    ap_id: str
    since: float
    until: float
    cause: str  # what locked it: the event type or the action's origin
    cause_id: str  # the event or action id
    extended: bool = False  # True when it extends a lock the AP already had

    def describe(self, now: float) -> str:
        return f"AP {self.ap_id} locked by {self.cause} ({self.cause_id}) for another {self.until - now:.0f} s"


class ApLocks:
    """The APs locked now, and until when."""

    def __init__(self, monitoring_window_s: float = DEFAULT_MONITORING_WINDOW_S) -> None:
        if monitoring_window_s < 0:
            raise ValueError(f"the monitoring window must not be negative, not {monitoring_window_s:g}")
        self.monitoring_window_s = monitoring_window_s
        self._locks: dict[str, ApLock] = {}

    def lock_for_event(self, event: ReportedEvent) -> ApLock | None:
        """Lock the event's AP if the event is one that locks; returns the lock it starts or extends."""
        if event.type not in LOCKING_EVENTS:
            return None
        return self._lock(event.ap_id, event.at, event.type.value, event.event_id)

    def lock_for_action(self, action: ReportedAction) -> ApLock | None:
        """Lock the action's AP if the agent (not the controller) changed the radio's config."""
        if action.origin not in LOCKING_ORIGINS or not action.changed_config:
            return None
        return self._lock(action.ap_id, action.at, action.origin, action.action_id)

    def _lock(self, ap_id: str, at: float, cause: str, cause_id: str) -> ApLock | None:
        until = at + self.monitoring_window_s
        held = self._locks.get(ap_id)
        if held is not None and held.until >= until:
            return None  # already locked at least as long
        if held is not None and held.until <= at:
            held = None  # closed already; the tick's lock check has not lifted it yet
        lock = ApLock(ap_id, held.since if held is not None else at, until, cause, cause_id, held is not None)
        self._locks[ap_id] = lock
        return lock

    def expire(self, now: float) -> list[ApLock]:
        """Drop the locks whose monitoring window has closed by ``now``; returns them, by AP."""
        closed = sorted((lock for lock in self._locks.values() if lock.until <= now), key=lambda lock: lock.ap_id)
        for lock in closed:
            del self._locks[lock.ap_id]
        return closed

    def held(self, ap_id: str, now: float) -> ApLock | None:
        lock = self._locks.get(ap_id)
        return lock if lock is not None and lock.until > now else None

    def locked_aps(self, now: float) -> frozenset[str]:
        return frozenset(ap for ap, lock in self._locks.items() if lock.until > now)

    def all(self) -> list[ApLock]:
        return sorted(self._locks.values(), key=lambda lock: lock.ap_id)


def lock_all(locks: ApLocks, events: Iterable[ReportedEvent], actions: Iterable[ReportedAction]) -> list[ApLock]:
    """Apply a tick's reports, oldest first; returns the locks started or extended."""
    started: list[ApLock] = []
    reports: list[tuple[float, str, ReportedEvent | ReportedAction]] = [(e.at, e.event_id, e) for e in events]
    reports += [(a.at, a.action_id, a) for a in actions]
    for _, _, report in sorted(reports, key=lambda r: (r[0], r[1])):
        lock = locks.lock_for_event(report) if isinstance(report, ReportedEvent) else locks.lock_for_action(report)
        if lock is not None:
            started.append(lock)
    return started
