"""Post-action monitoring: is the radio worse since the action? If so, roll it back (seed 003).

Pure: an action's baseline (from the readings before it) and each later reading go in, a verdict
comes out. Triggers, from the policy: packet error rate or retry rate up by 30 %, more than 10
client disconnections a minute, total client throughput down 40 %, or a new critical event on the
radio, within the window (default 5 minutes). Radar moves are watched but never rolled back: the
way back is the radar channel, which invariant 3 forbids.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class Verdict(StrEnum):
    KEEP_WATCHING = "keep_watching"
    KEPT = "kept"  # the window ended without a trigger
    ROLL_BACK = "roll_back"


def _rose(before: float, after: float, share: float, minimum: float) -> bool:
    return after > before * (1.0 + share) and after - before >= minimum


def judge(action: WatchedAction, state: RadioState, now: float, triggers: RollbackTriggers) -> tuple[Verdict, str]:
    """The verdict on an action given the radio's latest reading, and the trigger that fired."""
    if now - action.started > triggers.window_s:
        return Verdict.KEPT, ""
    if not state.config.enabled:
        return Verdict.KEEP_WATCHING, ""  # dark (CAC, failure): nothing to compare yet
    base = action.baseline
    reason = ""
    if _rose(base.packet_error_rate, state.packet_error_rate, triggers.per_increase, triggers.min_absolute_increase):
        reason = f"packet error rate {base.packet_error_rate:.3f} -> {state.packet_error_rate:.3f}"
    elif _rose(base.retry_rate, state.retry_rate, triggers.retry_increase, triggers.min_absolute_increase):
        reason = f"retry rate {base.retry_rate:.3f} -> {state.retry_rate:.3f}"
    else:
        minutes = max(now - action.started, 60.0) / 60.0
        rate = (state.disassociations_total - base.disassociations_total) / minutes
        throughput = sum(c.throughput_mbps for c in state.clients)
        if rate > triggers.disconnects_per_min:
            reason = f"{rate:.1f} client disconnections a minute"
        elif base.throughput_mbps >= triggers.min_baseline_throughput_mbps and throughput < base.throughput_mbps * (
            1.0 - triggers.throughput_drop
        ):
            reason = f"client throughput {base.throughput_mbps:.1f} -> {throughput:.1f} Mb/s"
    if reason and action.rollback_eligible:
        return Verdict.ROLL_BACK, reason
    return Verdict.KEEP_WATCHING, reason


def judge_critical_event(action: WatchedAction, now: float, triggers: RollbackTriggers) -> Verdict:
    """A new critical event on the radio during the window rolls an eligible action back."""
    if now - action.started > triggers.window_s or not triggers.on_new_critical_event:
        return Verdict.KEEP_WATCHING
    return Verdict.ROLL_BACK if action.rollback_eligible else Verdict.KEEP_WATCHING
