"""The dip a change *caused*: the same world forked at the change and run with and without it.

A window-against-window comparison on the live run (what the planner judges by, and what the
evaluation reported first) mixes the change's effect with whatever else happened meanwhile: a
density spike right after a change read as a 0.215 "dip" on dense_floor although the same world
without the change lost exactly as much. The evaluation has what a live network lacks, the
counterfactual: at the moment a change is sent, the world is forked twice, one fork gets the
change, both step ``window_s`` in ``step_s`` steps with nothing else changing, and the changed
radio's reward over that window (the controller's aggregation, fast_loop_world.py) and the
network QoE are compared. Forks share the world's state and draws, so the difference is the
change's alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from controller.fast_loop.reward import radio_reward
from drivers.sim.world import SimWorld
from radio_domain.radio import ConfigChange
from rrm.evaluation.fast_loop_world import WorldTelemetry


@dataclass(frozen=True, slots=True)
class CausedDip:
    """Without minus with; positive is a loss the change caused (0 when there was nothing to lose)."""

    reward: float  # the changed radio's reward over the window (QoE - 0.3 x penalties)
    network_qoe: float  # the mean network QoE over the window


def _run(
    world: SimWorld, radio_id: str, change: ConfigChange | None, window_s: float, step_s: float
) -> tuple[float | None, float]:
    fork = world.fork()
    if change is not None:
        fork.apply(radio_id, change)
    telemetry = WorldTelemetry(fork)
    start = fork.timestamp
    qoe = []
    for _ in range(max(1, round(window_s / step_s))):
        fork.step(step_s)
        telemetry.record()
        qoe.append(fork.network_qoe())
    window = telemetry.window(radio_id, start)
    breakdown = None if window is None else radio_reward(window)
    return (None if breakdown is None else breakdown.reward), float(np.mean(qoe))


def caused_dip(world: SimWorld, radio_id: str, change: ConfigChange, window_s: float, step_s: float) -> CausedDip:
    """What ``change`` to ``radio_id`` costs over ``window_s`` from now (module docstring)."""
    reward_without, qoe_without = _run(world, radio_id, None, window_s, step_s)
    reward_with, qoe_with = _run(world, radio_id, change, window_s, step_s)
    reward_dip = 0.0 if reward_without is None or reward_with is None else reward_without - reward_with
    return CausedDip(reward=reward_dip, network_qoe=qoe_without - qoe_with)
