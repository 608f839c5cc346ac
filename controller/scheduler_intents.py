"""What the multi-timescale scheduler decides on a tick: decisions with reasons, and the slow loop's intents.

``Decision`` is the audited record of one choice the scheduler made (locked or unlocked an AP,
held a loop back from an AP, started a plan, let or refused a fast change that leaves the plan).
The slow loop's intents are what its plan execution asks the shim to do (send a staged change,
ask for an approval, roll an iteration back); the fast loop's are the change planner's own
(controller.fast_loop.planner). The shim (controller/scheduler_shim.py, or an evaluation) does
the I/O and audits each decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from radio_domain.radio import ConfigChange

SLOW_LOOP = "SLOW"
FAST_LOOP = "FAST"  # controller.fast_loop.planner.FAST_LOOP, without importing the optimiser (skopt)


class Step(StrEnum):
    """The steps of one tick, in the order they run (seed 002's priority hierarchy)."""

    LOCK_CHECK = "lock_check"
    EVENT_LOOP = "event_loop"
    COOLDOWN = "cooldown"
    SLOW_LOOP = "slow_loop"
    FAST_LOOP = "fast_loop"


@dataclass(frozen=True, slots=True)
class Decision:
    step: Step
    action: str  # lock, unlock, held, plan_started, plan_refused, off_plan_held, off_plan_allowed, ...
    reason: str
    ap_id: str = ""
    radio_id: str = ""
    loop: str = ""  # the loop the decision concerns (FAST, SLOW), when one does
    facts: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SlowChange:
    """Send one staged change of a plan (a proposal of loop SLOW, judged by the guardrails)."""

    change_id: str
    radio_id: str
    ap_id: str
    change: ConfigChange
    plan_id: str
    stage: int
    predicted_gain: float
    reason: str


@dataclass(frozen=True, slots=True)
class SlowApproval:
    """The plan is larger than the site lets the slow loop carry out alone: ask an operator."""

    plan_id: str
    radios: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class SlowRollback:
    """Undo the plan's iteration so far: network QoE dropped by more than the plan allows."""

    plan_id: str
    changes: tuple[SlowChange, ...]  # each one back to the config before the plan
    reason: str


@dataclass(frozen=True, slots=True)
class SlowDeferred:
    """A staged change the scheduler held back this tick: its AP is locked or cooling down."""

    radio_id: str
    ap_id: str
    plan_id: str


@dataclass(frozen=True, slots=True)
class SlowSkipped:
    """A staged change the guardrails refused (or shadow mode kept): that radio keeps its config."""

    radio_id: str
    plan_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class SlowFinished:
    plan_id: str
    outcome: str  # completed, rolled_back, refused, kept (nothing to change)
    reason: str


SlowIntent = SlowChange | SlowApproval | SlowRollback | SlowDeferred | SlowSkipped | SlowFinished
