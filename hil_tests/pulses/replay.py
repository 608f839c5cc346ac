"""Replaying a pulse trace into a detector, in virtual time (as fast as possible) or paced in real time.

Real-time pacing is what the HIL rig uses: each pulse is offered at its offset from the trace's first
pulse, measured on an injected clock, so ``on_detect`` (which fires hwsim's debugfs radar) runs when
the radio would have seen the radar. Tests inject a fake clock whose ``sleep`` advances it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hil_tests.pulses.pattern_detector import Detection, PatternDetector
from hil_tests.pulses.trace_format import PulseTrace


@dataclass(frozen=True, slots=True)
class RealTime:
    """Real-time pacing: a monotonic clock in seconds, a sleep, and a speed-up factor (1.0 = as recorded)."""

    clock: Callable[[], float]
    sleep: Callable[[float], None]
    speed: float = 1.0

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed must be positive, not {self.speed}")


def replay(
    trace: PulseTrace,
    detector: PatternDetector,
    on_detect: Callable[[Detection], None] | None = None,
    pacing: RealTime | None = None,
    *,
    stop_at_first: bool = False,
) -> list[Detection]:
    """Offer every pulse of ``trace`` to ``detector``; call ``on_detect`` per detection and return them all."""
    detections: list[Detection] = []
    if not trace.pulses:
        return detections
    first_ts = trace.pulses[0].ts_us
    started = pacing.clock() if pacing is not None else 0.0
    for pulse in trace.pulses:
        if pacing is not None:
            due = started + (pulse.ts_us - first_ts) / 1e6 / pacing.speed
            delay = due - pacing.clock()
            if delay > 0:
                pacing.sleep(delay)
        found = detector.add_pulse(pulse)
        if found is None:
            continue
        detections.append(found)
        if on_detect is not None:
            on_detect(found)
        if stop_at_first:
            break
    return detections
