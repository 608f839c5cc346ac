"""What the fast loop's planner (planner.py) hands its caller: intents to carry out, and change records.

``SendChange`` and ``RollBack`` go to the radio, ``AwaitApproval`` to an operator, the others to
the audit and the evaluation; ``ChangeRecord`` is the audit of one judged change.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.guardrails import Verdict
from radio_domain.radio import ConfigChange, RadioConfig


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """The audit of one applied change: what was predicted, what was observed, what was done."""

    change_id: str
    radio_id: str
    kind: str  # the proposal's kind: improve, explore (or a baseline's own)
    code: str  # kept, rolled_back, not_applied
    baseline: RadioConfig
    target: RadioConfig
    applied_s: float
    judged_s: float
    baseline_reward: float  # measured in the window before the change
    predicted_reward: float
    observed_reward: float | None
    predicted_effect: float  # predicted reward at target minus the model's reward at baseline
    observed_effect: float | None  # observed minus baseline_reward
    prediction_error: float | None  # controller.fast_loop.reward.prediction_error


@dataclass(frozen=True, slots=True)
class SendChange:
    radio_id: str
    change_id: str
    change: ConfigChange
    target: RadioConfig
    kind: str
    predicted_gain: float
    reason: str


@dataclass(frozen=True, slots=True)
class AwaitApproval:
    radio_id: str
    change_id: str
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class KeepConfig:
    radio_id: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class ObservedReward:
    """The reward told to the radio's optimiser (``config`` earned ``reward`` at ``load``)."""

    radio_id: str
    config: RadioConfig
    load: float
    reward: float


@dataclass(frozen=True, slots=True)
class KeepChange:
    record: ChangeRecord


@dataclass(frozen=True, slots=True)
class RollBack:
    radio_id: str
    change_id: str
    change: ConfigChange  # back to record.baseline
    reason: str
    record: ChangeRecord


Intent = SendChange | AwaitApproval | KeepConfig | ObservedReward | KeepChange | RollBack
