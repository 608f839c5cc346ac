"""The multi-timescale scheduler: one tick, three loops, one order (seed 000 5.1, seed 002, issue 8 item 6).

Every tick (the time is a parameter; the controller's shim calls it every few seconds, an
evaluation once per simulated step) runs, in this order:

1. Lock check: locks whose monitoring window has closed are lifted (controller/ap_locks.py).
2. Event loop: the agents' event loops have already acted at the edge; the events and the
   actions they reported since the last tick lock their APs for the monitoring window, so an
   event preempts any fast or slow change of its AP in this very tick.
3. Cooldown check: an AP changed (by any loop, the agent or an operator) less than
   ``cooldown_s`` ago is held back from both loops this tick.
4. Slow loop: when an operator asked for a plan, or the slow-loop window is open and the loop has
   not planned in this opening (controller/slow_loop_window.py), the plan runner proposes a site
   plan (the window's waits while an earlier plan is still carried out; an operator's is
   refused; the window's is given the radios' client QoE, and stays the current plan while every
   radio is at or above the quality threshold: controller/slow_loop/quality_gate.py); while a
   plan is carried out it gets one step per tick, told which APs are held (their staged changes
   wait).
5. Fast loop: it runs with a ``FastGate``: its due radios on held APs, on APs the slow loop
   changes in this tick and on APs of the plan step under way are not iterated (where the fast
   loop lets the scheduler choose its radios) and, in any case, their proposals are refused
   before its own judge (the guardrails, or the controller's pipeline) sees them, so the two
   loops never change one AP in one tick. A fast change of channel or width that leaves the plan
   in force needs ``plan_deviation_gain`` of predicted gain (controller/plan_adherence.py);
   otherwise it is refused as hysteresis.

Returns a ``TickResult``: the decisions (each with its reason, for the audit) and the intents of
both loops, for the shim to carry out. Deterministic: no randomness, everything in sorted order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

from controller.ap_locks import DEFAULT_MONITORING_WINDOW_S, ApLock, ApLocks, ReportedAction, ReportedEvent, lock_all
from controller.fast_gate import FastGate, Hold
from controller.guardrails import NetworkSnapshot, Rule
from controller.plan_adherence import DEFAULT_DEVIATION_GAIN, PlanDeviation
from controller.scheduler_intents import (
    FAST_LOOP,
    SLOW_LOOP,
    Decision,
    SlowApproval,
    SlowChange,
    SlowDeferred,
    SlowFinished,
    SlowIntent,
    SlowSkipped,
    Step,
)
from controller.site_policy import SitePolicy
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.site_plan import RadioAssignment
from controller.slow_loop_window import SlowLoopWindow
from radio_domain.radio import split_radio_id

if TYPE_CHECKING:
    from controller.fast_loop.intents import Intent
    from controller.fast_loop.planner import RadioReading  # skopt: imported only where the loop runs

DEFAULT_COOLDOWN_S = 60.0
DEFAULT_WINDOW = SlowLoopWindow.parse("02:00-04:00")


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    monitoring_window_s: float = DEFAULT_MONITORING_WINDOW_S  # how long an event locks its AP
    cooldown_s: float = DEFAULT_COOLDOWN_S  # after any change of an AP, before a loop may change it again
    plan_deviation_gain: float = DEFAULT_DEVIATION_GAIN  # what a fast channel change off the plan must predict
    slow_window: SlowLoopWindow = DEFAULT_WINDOW  # when the slow loop plans on its own

    def __post_init__(self) -> None:
        if self.cooldown_s < 0 or self.plan_deviation_gain < 0:
            raise ValueError("cooldown_s and plan_deviation_gain must not be negative")


class FastLoop(Protocol):
    """The fast loop as one step of a tick (controller/fast_loop_step.py adapts the change planner)."""

    def step(self, now: float, gate: FastGate, sources: TickSources) -> Sequence[Intent]: ...


class PlanRunner(Protocol):
    """What the scheduler needs of the slow loop (controller/slow_loop_runner.py has it)."""

    def in_force(self) -> Mapping[str, RadioAssignment]: ...

    def active(self) -> bool: ...

    def busy_aps(self) -> frozenset[str]: ...

    def quality_since(self, now: float) -> float: ...

    def start(
        self,
        graph: InterferenceGraph,
        now: float,
        trigger: str,
        network_qoe: float | None,
        radio_qoe: Mapping[str, float] | None = None,
    ) -> list[SlowIntent]: ...

    def step(
        self,
        now: float,
        network: NetworkSnapshot,
        site: SitePolicy,
        network_qoe: float | None,
        held_aps: frozenset[str],
    ) -> list[SlowIntent]: ...


class TickSources(Protocol):
    """What a tick reads, frozen at the tick's time; each is read only when a step needs it."""

    def network(self) -> NetworkSnapshot: ...

    def site(self) -> SitePolicy: ...

    def graph(self) -> InterferenceGraph: ...

    def readings(self, radio_ids: Sequence[str]) -> Mapping[str, RadioReading]: ...

    def network_qoe(self) -> float | None: ...

    def radio_qoe(self, since: float) -> Mapping[str, float]:
        """Each radio's client QoE since ``since``: its worst hour (quality_gate.worst_hour_qoe)."""
        ...


@dataclass(frozen=True, slots=True)
class TickReports:
    """What the agents reported since the last tick."""

    events: tuple[ReportedEvent, ...] = ()
    actions: tuple[ReportedAction, ...] = ()


@dataclass(frozen=True, slots=True)
class TickResult:
    now: float
    decisions: tuple[Decision, ...]
    slow: tuple[SlowIntent, ...]
    fast: tuple[Intent, ...]


@dataclass
class SchedulerCounters:
    ticks: int = 0
    locking_reports: int = 0  # events and agent actions that locked or extended a lock
    locks: int = 0  # lock episodes started
    preempted: Counter[str] = field(default_factory=Counter)  # loop -> radios held back by a lock
    cooled: Counter[str] = field(default_factory=Counter)  # loop -> radios held back by a cooldown
    plans: Counter[str] = field(default_factory=Counter)  # trigger (window, on_demand) -> plans started
    off_plan_held: int = 0
    off_plan_allowed: int = 0


class LoopScheduler:
    def __init__(
        self, settings: SchedulerSettings, *, fast: FastLoop | None = None, slow: PlanRunner | None = None
    ) -> None:
        self.settings = settings
        self.fast = fast
        self.slow = slow
        self.locks = ApLocks(settings.monitoring_window_s)
        self.counters = SchedulerCounters()
        self._requests: list[str] = []
        self._planned_in: date | None = None  # the window opening the slow loop last planned in
        self._told: set[tuple[str, str, str]] = set()  # (loop, radio, cause) holds already recorded

    def request_plan(self, reason: str) -> None:
        """An operator (or the demo) asks the slow loop for a plan at the next tick."""
        self._requests.append(reason)

    def tick(self, now: float, reports: TickReports, sources: TickSources) -> TickResult:
        self.counters.ticks += 1
        decisions: list[Decision] = []
        decisions += self._lock_check(now)
        decisions += self._event_loop(now, reports)
        network = sources.network()
        locked = self.locks.locked_aps(now)
        cooling = self._cooldown_check(network, now, locked)
        slow = self._slow_loop(now, sources, network, locked | frozenset(cooling), cooling, decisions)
        fast = self._fast_loop(now, sources, network, cooling, slow, decisions)
        return TickResult(now, tuple(decisions), tuple(slow), tuple(fast))

    # -- 1 and 2: locks ---------------------------------------------------------------------

    def _lock_check(self, now: float) -> list[Decision]:
        closed = self.locks.expire(now)
        self._told = {t for t in self._told if _ap(t[1]) not in {lock.ap_id for lock in closed}}
        return [
            Decision(Step.LOCK_CHECK, "unlock", f"the monitoring window after {lock.cause} closed", lock.ap_id)
            for lock in closed
        ]

    def _event_loop(self, now: float, reports: TickReports) -> list[Decision]:
        started = lock_all(self.locks, reports.events, reports.actions)
        self.counters.locking_reports += len(started)
        decisions = []
        for lock in started:
            self.counters.locks += not lock.extended
            action = "lock_extended" if lock.extended else "lock"
            facts = {"cause": lock.cause, "cause_id": lock.cause_id, "until": lock.until}
            decisions.append(Decision(Step.EVENT_LOOP, action, lock.describe(now), lock.ap_id, facts=facts))
        return decisions

    # -- 3: cooldowns ------------------------------------------------------------------------

    def _cooldown_check(self, network: NetworkSnapshot, now: float, locked: frozenset[str]) -> dict[str, str]:
        """AP -> the change id that keeps it cooling down (locked APs are held already)."""
        latest: dict[str, tuple[float, str]] = {}
        for change in network.changes:
            if change.at > latest.get(change.ap_id, (float("-inf"), ""))[0]:
                latest[change.ap_id] = (change.at, change.change_id)
        return {
            ap: change_id
            for ap, (at, change_id) in sorted(latest.items())
            if ap not in locked and now - at < self.settings.cooldown_s
        }

    # -- 4: the slow loop --------------------------------------------------------------------

    def _slow_loop(
        self,
        now: float,
        sources: TickSources,
        network: NetworkSnapshot,
        held: frozenset[str],
        cooling: Mapping[str, str],
        decisions: list[Decision],
    ) -> list[SlowIntent]:
        if self.slow is None:
            self._requests.clear()
            return []
        intents: list[SlowIntent] = []
        trigger = self._slow_trigger(now)
        if trigger is not None:
            reason, kind, opening = trigger
            if not self.slow.active():
                self._planned_in = opening or self._planned_in
                self.counters.plans[kind] += 1
                decisions.append(Decision(Step.SLOW_LOOP, "plan_started", reason, facts={"trigger": kind}))
                # a window's plan is gated by the quality threshold; one the operator asked for is not
                radio_qoe = sources.radio_qoe(self.slow.quality_since(now)) if kind == "window" else None
                intents += self.slow.start(sources.graph(), now, reason, sources.network_qoe(), radio_qoe)
            elif kind == "on_demand":
                decisions.append(Decision(Step.SLOW_LOOP, "plan_refused", f"{reason}: a plan is still in progress"))
            # the window's plan waits for the one in progress, and starts once it ends (still in the window)
        if self.slow.active():
            intents += self.slow.step(now, network, sources.site(), sources.network_qoe(), held)
        for intent in intents:
            if isinstance(intent, SlowDeferred):
                decisions += self._held(Step.SLOW_LOOP, SLOW_LOOP, intent.radio_id, now, cooling)
            elif isinstance(intent, SlowFinished):
                decisions.append(Decision(Step.SLOW_LOOP, f"plan_{intent.outcome}", intent.reason))
            elif isinstance(intent, SlowApproval):
                facts = {"plan_id": intent.plan_id, "radios": list(intent.radios)}
                decisions.append(Decision(Step.SLOW_LOOP, "plan_awaiting_approval", intent.reason, facts=facts))
            elif isinstance(intent, SlowSkipped):
                radio_id = intent.radio_id
                facts = {"plan_id": intent.plan_id}
                decisions.append(
                    Decision(
                        Step.SLOW_LOOP,
                        "staged_change_skipped",
                        intent.reason,
                        _ap(radio_id),
                        radio_id,
                        SLOW_LOOP,
                        facts,
                    )
                )
        return intents

    def _slow_trigger(self, now: float) -> tuple[str, str, date | None] | None:
        """(reason, on_demand or window, the window's opening) when the slow loop should plan now."""
        if self._requests:
            reasons, self._requests = self._requests, []
            return "on demand: " + "; ".join(reasons), "on_demand", None
        opening = self.settings.slow_window.occurrence(now)
        if opening is None or opening == self._planned_in:
            return None
        window = self.settings.slow_window.describe()
        return f"the slow-loop window {window} of {opening.isoformat()}", "window", opening

    # -- 5: the fast loop --------------------------------------------------------------------

    def _fast_loop(
        self,
        now: float,
        sources: TickSources,
        network: NetworkSnapshot,
        cooling: Mapping[str, str],
        slow: Sequence[SlowIntent],
        decisions: list[Decision],
    ) -> list[Intent]:
        if self.fast is None:
            return []
        held: dict[str, Hold] = {}
        for ap_id in sorted(self.locks.locked_aps(now)):
            lock = self.locks.held(ap_id, now)
            held[ap_id] = Hold(Rule.HOLD_DOWN, lock.describe(now) if lock is not None else "locked")
        for ap_id, change_id in cooling.items():
            held[ap_id] = Hold(
                Rule.COOLDOWN, f"AP {ap_id} changed ({change_id}) less than {self.settings.cooldown_s:g} s ago"
            )
        slow_aps = {i.ap_id for i in slow if isinstance(i, SlowChange)}
        slow_aps |= self.slow.busy_aps() if self.slow is not None else frozenset()
        for ap_id in sorted(slow_aps - set(held)):
            held[ap_id] = Hold(Rule.HOLD_DOWN, f"the slow loop changes AP {ap_id}")

        def on_hold(radio_id: str) -> None:
            decisions.extend(self._held(Step.FAST_LOOP, FAST_LOOP, radio_id, now, cooling))

        def on_deviation(deviation: PlanDeviation, change_id: str) -> None:
            action = "off_plan_allowed" if deviation.allowed else "off_plan_held"
            self.counters.off_plan_allowed += deviation.allowed
            self.counters.off_plan_held += not deviation.allowed
            facts = {"change_id": change_id, "predicted_gain": deviation.predicted_gain}
            radio_id = deviation.radio_id
            decisions.append(
                Decision(Step.FAST_LOOP, action, deviation.explain(), _ap(radio_id), radio_id, FAST_LOOP, facts)
            )

        plan = self.slow.in_force() if self.slow is not None else {}
        gate = FastGate(now, network, held, plan, self.settings.plan_deviation_gain, on_hold, on_deviation)
        return list(self.fast.step(now, gate, sources))

    # -- holds -------------------------------------------------------------------------------

    def _held(self, step: Step, loop: str, radio_id: str, now: float, cooling: Mapping[str, str]) -> list[Decision]:
        ap_id = _ap(radio_id)
        lock = self.locks.held(ap_id, now)
        if lock is not None:
            return self._locked(step, loop, radio_id, lock, now)
        if ap_id not in cooling:
            return self._once(loop, radio_id, f"slow_loop:{ap_id}", step, f"the slow loop changes AP {ap_id}")
        change_id = cooling[ap_id]
        why = f"AP {ap_id} changed ({change_id}) less than {self.settings.cooldown_s:g} s ago"
        found = self._once(loop, radio_id, f"cooldown:{change_id}", step, why)
        self.counters.cooled[loop] += len(found)
        return found

    def _locked(self, step: Step, loop: str, radio_id: str, lock: ApLock, now: float) -> list[Decision]:
        found = self._once(loop, radio_id, f"lock:{lock.since}", step, lock.describe(now))
        self.counters.preempted[loop] += len(found)
        return found

    def _once(self, loop: str, radio_id: str, cause: str, step: Step, why: str) -> list[Decision]:
        """One 'held' decision per loop, radio and cause (a lock, a cooldown), not one per tick."""
        key = (loop, radio_id, cause)
        if key in self._told:
            return []
        self._told.add(key)
        return [Decision(step, "held", why, _ap(radio_id), radio_id, loop, {"cause": cause.partition(":")[0]})]


def _ap(radio_id: str) -> str:
    try:
        return split_radio_id(radio_id)[0]
    except ValueError:
        return radio_id
