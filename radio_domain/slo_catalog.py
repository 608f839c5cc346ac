"""What each traffic class needs from the network: the SLO catalog QoE is computed against.

Per class (seed 000's slo_catalog): throughput (as a share of what the client asks for), latency,
jitter and loss, each with the level at which the class is fully served ("good") and the level at
which it is not served at all ("bad"); voice also by the mean opinion score its calls reach. The
defaults are the simulator's QoE models (rf-model.md 8: ITU-T G.1010 categories, the G.107
E-model), so the built-in catalog changes nothing; an operator who tightens an SLO (site policy
``slo``) makes the same traffic score lower, and everything that reads QoE (the agents' detection,
rollback triggers on QoE, the evaluations) reacts. Jitter targets are carried for telemetry that
measures it; the simulator does not model jitter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any


class TrafficClass(StrEnum):
    BEST_EFFORT = "best_effort"
    VIDEO = "video"
    VOICE = "voice"


class SloError(ValueError):
    """An SLO whose levels contradict each other; the message names the class and field."""


@dataclass(frozen=True, slots=True)
class TrafficSlo:
    throughput_good: float = 1.0  # share of the demand at which the class is fully served (0: not counted)
    throughput_bad: float = 0.0  # share at or below which it is not served (video: 0.5)
    latency_good_ms: float = 100.0
    latency_bad_ms: float = 500.0
    latency_floor: float = 0.0  # what is left of QoE at and past latency_bad (best effort: 0.5)
    loss_good: float = 1.0  # 1.0: loss does not count (best effort)
    loss_bad: float = 1.0
    jitter_good_ms: float = 30.0
    jitter_bad_ms: float = 100.0
    mos_good: float = 4.5  # voice: the MOS at which a call is fully served
    mos_bad: float = 1.0  # voice: the MOS at or below which it is not

    def check(self, name: str) -> None:
        problems = []
        if self.throughput_good > 0 and not 0.0 <= self.throughput_bad < self.throughput_good:
            problems.append("throughput_bad must be >= 0 and below throughput_good (0: throughput not counted)")
        if not 0.0 <= self.latency_good_ms < self.latency_bad_ms:
            problems.append("latency_good_ms must be >= 0 and below latency_bad_ms")
        if not 0.0 <= self.latency_floor <= 1.0:
            problems.append("latency_floor must be in [0, 1]")
        if not 0.0 <= self.loss_good <= self.loss_bad <= 1.0:
            problems.append("loss_good <= loss_bad must both be in [0, 1]")
        if not 0.0 <= self.jitter_good_ms < self.jitter_bad_ms:
            problems.append("jitter_good_ms must be >= 0 and below jitter_bad_ms")
        if not 1.0 <= self.mos_bad < self.mos_good <= 4.5:
            problems.append("1 <= mos_bad < mos_good <= 4.5")
        if problems:
            raise SloError(f"slo.{name}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class SloCatalog:
    best_effort: TrafficSlo = TrafficSlo(latency_floor=0.5)
    video: TrafficSlo = TrafficSlo(
        throughput_bad=0.5, latency_good_ms=150.0, latency_bad_ms=400.0, loss_good=0.01, loss_bad=0.05
    )
    # Voice is judged by the MOS the E-model gives for its delay and loss; its own budgets default wide.
    voice: TrafficSlo = TrafficSlo(throughput_good=0.0, latency_good_ms=10_000.0, latency_bad_ms=20_000.0)

    def of(self, traffic: TrafficClass) -> TrafficSlo:
        slo: TrafficSlo = getattr(self, traffic.value)
        return slo

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]]) -> SloCatalog:
        """A catalog with some fields of some classes replaced; raises SloError on a contradiction."""
        known = {f.name for f in fields(TrafficSlo)}
        changed = {}
        for name, values in overrides.items():
            if name not in {t.value for t in TrafficClass}:
                raise SloError(
                    f"slo: unknown traffic class {name!r}; expected one of {[t.value for t in TrafficClass]}"
                )
            unknown = sorted(set(values) - known)
            if unknown:
                raise SloError(f"slo.{name}: unknown fields {unknown}; expected some of {sorted(known)}")
            slo = replace(self.of(TrafficClass(name)), **{k: float(v) for k, v in values.items()})
            slo.check(name)
            changed[name] = slo
        return replace(self, **changed)


DEFAULT_SLO = SloCatalog()
