"""Whether a scheduled site plan has anything to fix: the quality threshold (AirMatch's quality-threshold).

``replan_verdict(radio_qoe, threshold)``: a scheduled plan goes ahead only while at least one
radio's measured client QoE (0..1) is below ``threshold``. When every radio with clients is at
or above it, the current plan stays and the planner is not asked: a plan could gain at most the
little that is missing, and moving radios costs their clients a channel switch and, on DFS
channels, a CAC.

A radio's figure is its worst hour (``worst_hour_qoe``): the mean QoE of all its client readings
in each clock hour since ``gate_since`` (the last plan change, at most 24 h back), the lowest of
those hours. The plan window is at night, when few clients are there and they are fine; the
busy hour a plan should fix was in the afternoon. Since the last plan change: hours under an
earlier plan say nothing about the one in force (the runner keeps that time in memory: after a
controller restart the gate reads the whole last day).

Why the worst radio and not the network mean: at a thousand radios the mean hides one AP whose
clients are at 0.2. Radios without clients are not in ``radio_qoe`` and do not count; with no
measurement at all there is no evidence that nothing is wrong, so the plan goes ahead. An
on-demand plan (``rrm plan``) is the operator's decision and is never gated.

Measured (``rrm eval slow-loop``, 2 days, the shipped scenarios' seeds, threshold 0.95): on
small_office the heuristic's later one- and two-radio plans had dipped QoE (0.9849 -> 0.9924
without them); on unplanned_office the heuristic's 24-radio re-plans of a site the learned plan
had brought to 0.996 (the safe-RL model valued them at -23.8, the baseline's trust rule made it
follow them anyway) took safe RL to 0.9718, against 0.9928 with the gate; dense_floor and
multi_floor never reach the threshold and are unchanged. The QoE of the moment instead of the
worst hour gave the same figures there; only the night window tells the two apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DEFAULT_QUALITY_THRESHOLD = 0.95
LOOKBACK_S = 24 * 3600.0
HOUR_S = 3600.0


class QualityInputError(ValueError):
    """A radio's QoE is not a number in 0..1, or the threshold is outside (0, 1]."""


@dataclass(frozen=True, slots=True)
class ReplanVerdict:
    replan: bool
    reason: str
    worst_radio: str | None = None
    worst_qoe: float | None = None


@dataclass(frozen=True, slots=True)
class QoeReading:
    """One telemetry reading of a radio: the sum of its clients' QoE and how many clients it covered."""

    radio_id: str
    ts_s: float
    qoe_sum: float
    clients: int


def gate_since(now: float, last_plan_change_s: float | None) -> float:
    """From when the gate reads QoE: the last plan change, at most ``LOOKBACK_S`` back."""
    start = now - LOOKBACK_S
    return start if last_plan_change_s is None else max(start, last_plan_change_s)


def worst_hour_qoe(readings: Iterable[QoeReading], bucket_s: float = HOUR_S) -> dict[str, float]:
    """Per radio: the lowest mean client QoE of any clock hour it had clients in (readings without clients skipped)."""
    sums: dict[tuple[str, int], list[float]] = {}
    for r in readings:
        if r.clients <= 0:
            continue
        bucket = sums.setdefault((r.radio_id, int(r.ts_s // bucket_s)), [0.0, 0.0])
        bucket[0] += r.qoe_sum
        bucket[1] += r.clients
    worst: dict[str, float] = {}
    for (radio_id, _), (total, count) in sums.items():
        mean = total / count
        worst[radio_id] = min(worst.get(radio_id, mean), mean)
    return dict(sorted(worst.items()))


def check_threshold(threshold: float | None) -> None:
    """Raises QualityInputError unless ``threshold`` is None (no gate) or in (0, 1]."""
    if threshold is not None and not (math.isfinite(threshold) and 0.0 < threshold <= 1.0):
        raise QualityInputError(f"the plan quality threshold must be in (0, 1] or off, not {threshold:g}")


def replan_verdict(radio_qoe: Mapping[str, float], threshold: float | None) -> ReplanVerdict:
    """Whether a scheduled plan should run (module docstring); raises QualityInputError on a bad figure."""
    check_threshold(threshold)
    for radio_id, qoe in radio_qoe.items():
        if not (math.isfinite(qoe) and 0.0 <= qoe <= 1.0):
            raise QualityInputError(f"radio {radio_id}: client QoE must be a number in 0..1, not {qoe!r}")
    if threshold is None:
        return ReplanVerdict(True, "no plan quality threshold set")
    if not radio_qoe:
        return ReplanVerdict(True, "no radio's client QoE is measured yet")
    worst_radio, worst = min(radio_qoe.items(), key=lambda item: (item[1], item[0]))
    if worst < threshold:
        return ReplanVerdict(
            True,
            f"{worst_radio}'s client QoE {worst:.3f} is below the plan quality threshold {threshold:g}",
            worst_radio,
            worst,
        )
    return ReplanVerdict(
        False,
        f"every radio's client QoE (its worst hour) is at or above the plan quality threshold {threshold:g} "
        f"(lowest: {worst_radio} at {worst:.3f}, {len(radio_qoe)} radios with clients): "
        "nothing for a plan to fix, the current plan stays",
        worst_radio,
        worst,
    )
