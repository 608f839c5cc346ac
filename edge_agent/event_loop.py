"""The edge event loop: events in, decisions, actions with rollback, all on the agent (seed 002).

Driver events and events detected from telemetry go into the priority queue (coalesced, rate
limited); the loop drains it most urgent first, asks the decision matrix (decisions.py) what to do,
and acts through RadioActions, the same guarded path the controller's commands take. Every
change is watched for the rollback window and undone when a trigger fires (action_monitor.py);
radar moves are never undone. For radios that let the agent set the AP's own radar fallback
(hostapd ``chanlist``), the loop keeps that list pointed at the emergency selector's ranking, so
the AP's immediate CSA already lands where the agent would go (ARCHITECTURE.md "The radar path").
The loop also keeps the agent's DFS memory (dfs_state.py) from the radios' own events, and ranks
each radio's emergency channels ahead of time, after readings change, so that an emergency move
only filters a ready ranking. Nothing here needs the controller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from drivers.protocol import CapabilityRefused, DriverError, DriverEvent, RadioState, SteeringOutcome
from edge_agent.action_ledger import ActionLedger, ActionOutcome, ActionRecord
from edge_agent.action_monitor import Baseline, Verdict, WatchedAction, judge, judge_critical_event
from edge_agent.anti_flapping import ChangeBudget, RollbackHolddowns
from edge_agent.cooldown import RadioCooldowns
from edge_agent.decisions import Intent, IntentKind, RadioContext, decide, radar_fallback
from edge_agent.dfs_state import DfsState
from edge_agent.event_detection import DetectedEvent, detect_load_imbalance, detect_radio_events
from edge_agent.event_policy import EventPolicy
from edge_agent.event_queue import EventQueue, QueuedEvent
from edge_agent.radio_actions import RadioActions
from edge_agent.radio_knowledge import RadioKnowledge
from edge_agent.steering_backoff import SteeringBackoff
from radio_domain.events import DEFAULT_SEVERITY, EventType, Severity
from rrm.clock import Clock
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import ms

log = logging.getLogger(__name__)

DRAIN_BATCH = 64
HOUSEKEEPING_S = 3600.0
LATENCY_SAMPLES = 10_000


@dataclass
class EventLoopStats:
    processed: int = 0
    actions: int = 0
    steering_requests: int = 0
    deferred_by_cooldown: int = 0
    deferred_by_soak: int = 0
    deferred_by_holddown: int = 0
    deferred_by_budget: int = 0
    rollbacks: int = 0
    alarms: int = 0
    alarms_repeated: int = 0
    fallback_updates: int = 0
    decision_latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    radar_latency_s: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))


class EventLoop:
    def __init__(
        self,
        *,
        policy: EventPolicy,
        actions: RadioActions,
        ledger: ActionLedger,
        dfs: DfsState,
        clock: Clock,
    ) -> None:
        self.policy = policy
        self.queue = EventQueue(policy.queue)
        self.dfs = dfs
        self._actions = actions
        self._ledger = ledger
        self._clock = clock
        self.cooldowns = RadioCooldowns(policy.cooldown_s)
        self.holddowns = RollbackHolddowns(policy.rollback_holddown_s, policy.rollback_holddown_max_s)
        self.budget = ChangeBudget(policy.max_local_changes_per_hour)
        self.backoff = SteeringBackoff(policy.steer_backoff_s, policy.steer_backoff_max_s)
        self.knowledge = RadioKnowledge(actions=actions, dfs=dfs, policy=policy, backoff=self.backoff)
        self.stats = EventLoopStats()
        self.watched: dict[str, WatchedAction] = {}
        self._subjects: dict[tuple[str, EventType], tuple[str, ...]] = {}
        self._fallbacks: dict[str, tuple[int, ...]] = {}
        self._alarmed: dict[str, float] = {}
        self._awaiting_ap: dict[str, QueuedEvent] = {}  # radar the AP is handling itself (its CSA)
        self._housekept = clock.now()
        self._work = asyncio.Event()
        self._pending_rollbacks: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ inputs

    def observe_driver_event(self, event: DriverEvent, event_id: str) -> bool:
        """A driver event (already recorded and forwarded by the runtime).

        Returns True for a critical event (radar, a failed radio): the caller should let the loop
        act on it now (``process_pending``) rather than after the rest of a burst of events.
        """
        if not self.knowledge.manages(event.radio_id):
            return False
        self.knowledge.note_event(event)
        if not self.policy.rules_for(event.type):
            self._work.set()  # nothing to decide, but the ranking and the fallback list may be due
            return False
        self._enqueue(event_id, event.radio_id, event.type, event.confidence, event.channel, event.metadata, ())
        return DEFAULT_SEVERITY[event.type] is Severity.CRITICAL

    def observe_states(self, states: Sequence[RadioState]) -> None:
        """The radios' latest readings: detection, post-action monitoring, rankings."""
        now = self._clock.now()
        mine = [s for s in states if self.knowledge.manages(s.radio_id)]
        for state in mine:
            previous = self.knowledge.note_state(state)
            for found in detect_radio_events(previous, state, self._actions.region, self.policy.detection):
                self._detected(found)
            self._judge_watched(state, now)
        for found in detect_load_imbalance(mine, self.policy.detection):
            self._detected(found)
        if now - self._housekept >= HOUSEKEEPING_S:
            self._housekept = now
            self.backoff.forget_older_than(now)  # bounded memory of clients that ignored steering
            self._actions.tokens.prune(ms(now))  # rollback tokens past their week
        self._work.set()

    def _detected(self, found: DetectedEvent) -> None:
        if found.type is EventType.NON_WIFI_BURST:
            duty = float(found.metadata.get("duty_cycle", "0"))
            self.knowledge.note_interference(found.radio_id, found.channel, duty, found.timestamp)
        event_id = f"det-{found.radio_id}-{found.type.value}-{found.timestamp:.3f}"
        self._enqueue(
            event_id, found.radio_id, found.type, found.confidence, found.channel, found.metadata, found.subjects
        )

    def _enqueue(
        self,
        event_id: str,
        radio_id: str,
        kind: EventType,
        confidence: float,
        channel: int,
        metadata: Mapping[str, str],
        subjects: tuple[str, ...],
    ) -> None:
        now = self._clock.now()
        if subjects:
            self._subjects[(radio_id, kind)] = subjects
        self.queue.put(
            event_id,
            radio_id,
            kind,
            now,
            confidence=confidence,
            channel=channel,
            metadata=metadata,
            arrived=time.perf_counter(),
        )
        # A new critical event during an action's window undoes it; radar is not one of them: radar
        # moves the radio anyway, and the way back may be the radar channel.
        watched = self.watched.get(radio_id)
        critical = DEFAULT_SEVERITY[kind] is Severity.CRITICAL and kind is not EventType.DFS_RADAR
        if (
            watched is not None
            and critical
            and judge_critical_event(watched, now, self.policy.rollback) is Verdict.ROLL_BACK
        ):
            self._pending_rollbacks.append((radio_id, f"new critical event {kind.value}"))
        self._work.set()

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        """Process what is due whenever something arrives, or when a held-back event becomes ready."""
        while True:
            self._work.clear()
            await self.process_pending()
            if self._work.is_set():
                continue
            now = self._clock.now()
            ready_at = self._next_wake(now)
            waiters: list[asyncio.Task[object]] = [asyncio.create_task(self._wait_for_work())]
            if ready_at is not None:
                waiters.append(asyncio.create_task(self._sleep(max(0.0, ready_at - now))))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    async def _wait_for_work(self) -> object:
        return await self._work.wait()

    async def _sleep(self, seconds: float) -> object:
        await self._clock.sleep(seconds)
        return None

    async def process_pending(self) -> None:
        """Everything due now: rollbacks, queued events most urgent first, then rankings and fallbacks."""
        while self._pending_rollbacks:
            radio_id, why = self._pending_rollbacks.pop(0)
            await self._roll_back(radio_id, why)
        now = self._clock.now()
        await self._recheck_awaiting(now)
        while batch := self.queue.drain(now, DRAIN_BATCH):
            for queued in batch:
                await self._handle(queued, now)
        await self._refresh_rankings(now)

    def context(self, radio_id: str) -> RadioContext | None:
        """What the decision matrix would be told about the radio now."""
        return self.knowledge.context(radio_id, self._clock.now())

    async def _handle(self, queued: QueuedEvent, now: float) -> None:
        self.stats.processed += 1
        context = self.knowledge.context(queued.radio_id, now)
        if context is None:
            return
        subjects = self._subjects.pop((queued.radio_id, queued.type), ())
        intent = decide(queued, context, self.policy, subjects)
        if intent.kind is IntentKind.NONE:
            log.debug("%s: %s: %s", intent.radio_id, queued.type.value, intent.explanation)
            return
        if intent.kind is IntentKind.WAIT:
            self._awaiting_ap[queued.radio_id] = queued
            return
        held = self._held_back(intent, now)
        if held:
            log.info("%s: %s not acted on: %s", intent.radio_id, intent.reason_code, held)
            return
        if intent.kind is IntentKind.CHANGE:
            await self._change(intent, queued)
        elif intent.kind is IntentKind.STEER:
            await self._steer(intent, queued)
        else:
            self._unable(intent, queued)

    async def _recheck_awaiting(self, now: float) -> None:
        """Radar left to the AP: decide again once it has moved off the channel, or its grace ran out."""
        for radio_id, queued in list(self._awaiting_ap.items()):
            config = self._actions.configs.get(radio_id)
            moved = config is not None and config.channel != queued.channel
            if moved or now - queued.first_seen >= self.policy.radar_ap_grace_s:
                del self._awaiting_ap[radio_id]
                await self._handle(queued, now)

    def _next_wake(self, now: float) -> float | None:
        """When something held back becomes due: a queued entry, or the end of an AP's radar grace."""
        times = [q.first_seen + self.policy.radar_ap_grace_s for q in self._awaiting_ap.values()]
        ready = self.queue.next_ready_at(now)
        if ready is not None:
            times.append(ready)
        return min(times) if times else None

    def _held_back(self, intent: Intent, now: float) -> str:
        """Why the flap guards hold an action back now (empty: go ahead). Radar overrides them all."""
        if intent.kind is IntentKind.ALARM or intent.override_cooldown:
            return ""
        radio_id = intent.radio_id
        if not self.cooldowns.ready(radio_id, now):
            self.stats.deferred_by_cooldown += 1
            return f"cooldown, {self.cooldowns.remaining(radio_id, now):.0f} s left"
        watched = self.watched.get(radio_id)
        if watched is not None and now - watched.started <= self.policy.rollback.window_s:
            self.stats.deferred_by_soak += 1
            return f"the last action ({watched.reason}) is still being watched"
        if (wait := self.holddowns.remaining(radio_id, intent.reason_code, now)) > 0:
            self.stats.deferred_by_holddown += 1
            return f"held down for another {wait:.0f} s after a rollback"
        if not self.budget.allows(radio_id, now):
            self.stats.deferred_by_budget += 1
            return f"the budget of {self.budget.per_hour} local changes an hour is spent"
        return ""

    def _inputs(self, intent: Intent, queued: QueuedEvent) -> dict[str, object]:
        return {
            "event": queued.type.value,
            "severity": queued.severity.name,
            "confidence": queued.confidence,
            "coalesced": queued.count,
            "metadata": dict(queued.metadata),
            "decision": intent.explanation,
        }

    async def _change(self, intent: Intent, queued: QueuedEvent) -> None:
        assert intent.change is not None
        radar = queued.type is EventType.DFS_RADAR
        started = self._clock.now()
        async with self._actions.lock(intent.radio_id):
            outcome = await self._actions.change(intent.radio_id, intent.change, loop="EVENT", rate_limited=not radar)
        if self._actions.last_apply_perf and queued.arrived:
            # From the first event of the entry to the driver's apply call (admission included).
            latency = self._actions.last_apply_perf - queued.arrived
            self.stats.decision_latency_s.append(latency)
            if radar:
                self.stats.radar_latency_s.append(latency)
        self._report(intent, queued, outcome, started)
        if outcome.status == pb.APPLIED:
            self.stats.actions += 1
            self.cooldowns.acted(intent.radio_id, started)
            if not radar:
                self.budget.spent(intent.radio_id, started)
            state = self.knowledge.states.get(intent.radio_id)
            if state is not None and outcome.token is not None:
                self.watched[intent.radio_id] = WatchedAction(
                    action_id=queued.event_id,
                    radio_id=intent.radio_id,
                    rollback_token_id=outcome.token.token_id,
                    started=started,
                    baseline=Baseline.of(state),
                    rollback_eligible=intent.rollback_eligible,
                    reason=intent.reason_code,
                )
            self.knowledge.invalidate(intent.radio_id)

    def _report(self, intent: Intent, queued: QueuedEvent, outcome: ActionOutcome, started: float) -> None:
        self._ledger.report(
            ActionRecord(
                origin=pb.LOCAL_EVENT_LOOP,
                radio_id=intent.radio_id,
                record_type=f"event_{intent.action.value}",
                reason_code=intent.reason_code,
                reason=f"{_trigger(queued)}: {intent.explanation}",
                outcome=outcome,
                started=started,
                actor="agent:event_loop",
                trigger_event_id=queued.event_id,
                inputs=self._inputs(intent, queued),
            )
        )

    async def _steer(self, intent: Intent, queued: QueuedEvent) -> None:
        now = self._clock.now()
        outcomes: dict[str, int] = {}
        for client_id, target in intent.steer:
            try:
                outcome = await self._actions.driver.steer_client(intent.radio_id, client_id, target)
            except CapabilityRefused as exc:
                log.info("%s: steering refused by the driver: %s", intent.radio_id, exc)
                return
            except DriverError as exc:
                outcome = SteeringOutcome.IGNORED
                log.info("%s: steering %s failed: %s", intent.radio_id, target, exc)
            outcomes[outcome.value] = outcomes.get(outcome.value, 0) + 1
            if outcome is SteeringOutcome.MOVED:
                self.backoff.moved(client_id)
            else:
                self.backoff.refused(client_id, now)
        self.stats.steering_requests += len(intent.steer)
        self.cooldowns.acted(intent.radio_id, now)
        config = self._actions.configs[intent.radio_id]
        summary = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))
        status = pb.APPLIED if outcomes.get(SteeringOutcome.MOVED.value) else pb.FAILED
        self._report(
            intent, queued, ActionOutcome(status, config, config, "" if status == pb.APPLIED else summary), now
        )
        self._ledger.note(
            "client_steering",
            intent.radio_id,
            summary,
            {"requests": len(intent.steer), "outcomes": outcomes, "targets": sorted({t for _, t in intent.steer})},
            "agent:event_loop",
            reason_code=intent.reason_code,
        )

    def _unable(self, intent: Intent, queued: QueuedEvent) -> None:
        """An alarm (no legal channel left) or an action this driver cannot take (restart)."""
        config = self._actions.configs[intent.radio_id]
        now = self._clock.now()
        if intent.kind is IntentKind.ALARM:
            if now - self._alarmed.get(intent.radio_id, float("-inf")) < self.policy.alarm_repeat_s:
                self.stats.alarms_repeated += 1  # raised already: said again only after alarm_repeat_s
                return
            self._alarmed[intent.radio_id] = now
            self.stats.alarms += 1
            log.error("%s: ALARM %s: %s", intent.radio_id, intent.reason_code, intent.explanation)
            error = f"alarm: {intent.explanation}"
        else:
            error = f"the {self._actions.driver.name} driver cannot restart radios; waiting for the radio to recover"
        self._report(intent, queued, ActionOutcome(pb.FAILED, config, config, error), now)

    # ------------------------------------------------------------------ rollback and fallback

    def _judge_watched(self, state: RadioState, now: float) -> None:
        watched = self.watched.get(state.radio_id)
        if watched is None:
            return
        judged = judge(watched, state, now, self.policy.rollback)
        if judged.verdict is Verdict.KEPT:
            del self.watched[state.radio_id]
            self.holddowns.kept(state.radio_id, watched.reason)
            return
        self.watched[state.radio_id] = judged.action
        if judged.verdict is Verdict.ROLL_BACK:
            self._pending_rollbacks.append((state.radio_id, judged.why))

    async def _roll_back(self, radio_id: str, why: str) -> None:
        watched = self.watched.pop(radio_id, None)
        if watched is None:
            return
        started = self._clock.now()
        async with self._actions.lock(radio_id):
            outcome = await self._actions.restore(radio_id, watched.rollback_token_id)
        self.stats.rollbacks += outcome.status == pb.ROLLED_BACK
        self.cooldowns.acted(radio_id, started)
        wait = self.holddowns.rolled_back(radio_id, watched.reason, started)
        why = f"{why}; {watched.reason} held down for {wait:.0f} s"
        self._ledger.report(
            ActionRecord(
                origin=pb.ROLLBACK,
                radio_id=radio_id,
                record_type="auto_rollback",
                reason_code=f"ROLLBACK_{watched.reason}",
                reason=f"post-action monitoring: {why}",
                outcome=outcome,
                started=started,
                actor="agent:event_loop",
                trigger_event_id=watched.action_id,
                inputs={"trigger": why, "baseline": asdict(watched.baseline)},
            )
        )

    async def _refresh_rankings(self, now: float) -> None:
        """Rank the radios whose inputs changed; point their AP's radar fallback at the new ranking."""
        for radio_id in self.knowledge.stale():
            ranked = self.knowledge.refresh(radio_id, now)
            if ranked is None or not self.knowledge.info(radio_id).capabilities.can_set_fallback_channels:
                continue
            context, ranking = ranked
            fallback = radar_fallback(context, self.policy, ranking)
            if not fallback or self._fallbacks.get(radio_id) == fallback:
                continue
            try:
                await self._actions.driver.set_fallback_channels(radio_id, fallback)
            except DriverError as exc:
                log.warning("%s: cannot set the radar fallback list: %s", radio_id, exc)
                continue
            self._fallbacks[radio_id] = fallback
            self.stats.fallback_updates += 1
            log.debug("%s: radar fallback list now %s", radio_id, list(fallback))


def _trigger(queued: QueuedEvent) -> str:
    """What set the action off, for the reason an operator reads: the event and its figures."""
    figures = [f"confidence {queued.confidence:.2f}"]
    figures += [f"{k.replace('_', ' ')} {v}" for k, v in sorted(queued.metadata.items()) if k in _SHOWN_FIGURES]
    if queued.count > 1:
        figures.append(f"{queued.count} reports")
    return f"{queued.type.value} ({', '.join(figures)})"


_SHOWN_FIGURES = frozenset({"duty_cycle", "cca_busy", "poor_share", "clients_now", "tx_power_dbm", "limit_dbm"})
