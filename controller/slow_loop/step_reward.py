"""The slow-loop environment's reward: network QoE over the window, minus what the step cost.

``reward = qoe_scale * mean network QoE over the observation window
          - channel_move * radios that switched channel or width
          - power_move * radios that changed power only
          - outage * sum over changed radios of (seconds dark in a CAC / window) * (their clients / all clients)
          - violation * moves refused (an illegal or masked action, or the radio said no)``

QoE is in percent points (qoe_scale 100), so a penalty of 0.2 is a fifth of a point of QoE. The
QoE already falls while a radio is dark; the outage term adds the operator's dislike of
clients dropped by a CAC on top. Violations never reach a radio (the environment refuses them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RewardWeights:
    qoe_scale: float = 100.0
    channel_move: float = 0.2
    power_move: float = 0.05
    outage: float = 10.0
    violation: float = 5.0


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What happened in one environment step."""

    mean_qoe: float
    channel_moves: int
    power_moves: int
    dark_client_share: float  # sum over changed radios of dark fraction of the window times client share
    violations: int
    noop_mean_qoe: float | None = None  # the same window on a fork of the world with no moves

    def reward(self, weights: RewardWeights) -> float:
        return (
            weights.qoe_scale * self.mean_qoe
            - weights.channel_move * self.channel_moves
            - weights.power_move * self.power_moves
            - weights.outage * self.dark_client_share
            - weights.violation * self.violations
        )

    def noop_reward(self, weights: RewardWeights) -> float | None:
        """The reward doing nothing would have earned over the same window (None without a fork)."""
        return None if self.noop_mean_qoe is None else weights.qoe_scale * self.noop_mean_qoe
