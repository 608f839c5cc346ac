"""Post-action monitoring: is the radio worse since the action? If so, roll it back (seed 003).

Pure: an action's baseline (from the readings before it) and each later reading go in, a verdict
comes out. Triggers, from the policy: packet error rate or retry rate up by 30 %, more than 10
client disconnections a minute, total client throughput down 40 %, or a new critical event on the
radio, within the window (default 5 minutes). Radar moves are watched but never rolled back: the
way back is the radar channel, which invariant 3 forbids.

What counts as worse, measured on the simulator's dense_floor, where 119 of 231 emergency actions
in 3 hours were rolled back on a single reading, most of them on noise:
- a reading trigger must hold on ``confirm_readings`` consecutive readings (default 2, 20 s at
  the default telemetry interval): one reading with a collision burst, or with the clients still
  re-associating after a move, is not a degradation;
- a PER or retry rise needs a baseline that carried traffic (a radio jammed to no throughput
  shows PER 0, and any traffic on the new channel would otherwise "rise" from it), and counts only
  while the clients' throughput did not rise with it (rate control trading a little loss for a
  faster rate is not worse for the clients).
A new critical event still rolls back at once (``judge_critical_event``). Measured with
``rrm eval system --scenario dense_floor --days 1``: event-loop rollbacks 336 of 506 actions ->
241 of 640, network QoE 0.942 -> 0.954, p5 client QoE 0.31 -> 0.45; small_office 0.992 -> 0.991.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from drivers.protocol import RadioState
from edge_agent.event_policy import RollbackTriggers


@dataclass(frozen=True, slots=True)
class Baseline:
    packet_error_rate: float
    retry_rate: float
    throughput_mbps: float
    disassociations_total: int

    @staticmethod
    def of(state: RadioState) -> Baseline:
        return Baseline(
            packet_error_rate=state.packet_error_rate,
            retry_rate=state.retry_rate,
            throughput_mbps=sum(c.throughput_mbps for c in state.clients),
            disassociations_total=state.disassociations_total,
        )


@dataclass(frozen=True, slots=True)
class WatchedAction:
    action_id: str
    radio_id: str
    rollback_token_id: str
    started: float
    baseline: Baseline
    rollback_eligible: bool
    reason: str
    degraded_readings: int = 0  # consecutive readings so far on which a trigger held


class Verdict(StrEnum):
    KEEP_WATCHING = "keep_watching"
    KEPT = "kept"  # the window ended without a trigger
    ROLL_BACK = "roll_back"


def _rose(before: float, after: float, share: float, minimum: float) -> bool:
    return after > before * (1.0 + share) and after - before >= minimum


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    why: str  # the trigger that held on this reading; empty if none did
    action: WatchedAction  # the watch with its count of degraded readings brought up to date


def judge(action: WatchedAction, state: RadioState, now: float, triggers: RollbackTriggers) -> Judgement:
    """The verdict on an action given the radio's latest reading (module docstring)."""
    if now - action.started > triggers.window_s:
        return Judgement(Verdict.KEPT, "", action)
    if not state.config.enabled:
        return Judgement(Verdict.KEEP_WATCHING, "", action)  # dark (CAC, failure): nothing to compare yet
    why = degradation(action, state, now, triggers)
    if not why:
        return Judgement(Verdict.KEEP_WATCHING, "", replace(action, degraded_readings=0))
    seen = replace(action, degraded_readings=action.degraded_readings + 1)
    if action.rollback_eligible and seen.degraded_readings >= triggers.confirm_readings:
        readings = f" ({seen.degraded_readings} readings in a row)" if seen.degraded_readings > 1 else ""
        return Judgement(Verdict.ROLL_BACK, why + readings, seen)
    return Judgement(Verdict.KEEP_WATCHING, why, seen)


def degradation(action: WatchedAction, state: RadioState, now: float, triggers: RollbackTriggers) -> str:
    """The trigger this one reading shows against the action's baseline, or "" (module docstring)."""
    base = action.baseline
    throughput = sum(c.throughput_mbps for c in state.clients)
    carried = base.throughput_mbps >= triggers.min_baseline_throughput_mbps
    if carried and throughput <= base.throughput_mbps:  # loss counts (module docstring)
        least = triggers.min_absolute_increase
        if _rose(base.packet_error_rate, state.packet_error_rate, triggers.per_increase, least):
            return f"packet error rate {base.packet_error_rate:.3f} -> {state.packet_error_rate:.3f}"
        if _rose(base.retry_rate, state.retry_rate, triggers.retry_increase, least):
            return f"retry rate {base.retry_rate:.3f} -> {state.retry_rate:.3f}"
    minutes = max(now - action.started, 60.0) / 60.0
    rate = (state.disassociations_total - base.disassociations_total) / minutes
    if rate > triggers.disconnects_per_min:
        return f"{rate:.1f} client disconnections a minute"
    if carried and throughput < base.throughput_mbps * (1.0 - triggers.throughput_drop):
        return f"client throughput {base.throughput_mbps:.1f} -> {throughput:.1f} Mb/s"
    return ""


def judge_critical_event(action: WatchedAction, now: float, triggers: RollbackTriggers) -> Verdict:
    """A new critical event on the radio during the window rolls an eligible action back."""
    if now - action.started > triggers.window_s or not triggers.on_new_critical_event:
        return Verdict.KEEP_WATCHING
    return Verdict.ROLL_BACK if action.rollback_eligible else Verdict.KEEP_WATCHING
