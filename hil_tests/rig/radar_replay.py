"""The emulated radio's radar detector: a pulse trace replayed in real time, detections fire hwsim's radar.

The PRI detector of hil_tests/pulses plays the chip's detector (ARCHITECTURE.md "The radar path"): the
host offers each pulse of the trace at its time, and the first detection writes hwsim's debugfs
`dfs_simulate_radar` for the AP's radio, so everything after it is the real kernel, hostapd and agent.
The detector runs on the host (a Python start in the guest costs seconds under TCG, and the pacing must
hold to a millisecond); the debugfs write is one command-channel round trip, reported as a figure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hil_tests.pulses.pattern_detector import Detection, PatternDetector
from hil_tests.pulses.replay import RealTime, replay
from hil_tests.pulses.trace_format import PulseTrace
from hil_tests.rig.hwsim_ap import HwsimBench, Radio


@dataclass(frozen=True)
class RadarFired:
    """The first detection and the radar it fired: host times are time.monotonic(), `radar_t` the guest's clock."""

    detection: Detection
    detected_at: float
    written_at: float  # the debugfs write returned
    radar_t: float  # the guest's clock just before the write


@dataclass(frozen=True)
class ReplayOutcome:
    started: float
    ended: float
    fired: RadarFired | None


def replay_into_radio(bench: HwsimBench, radio: Radio, trace: PulseTrace, speed: float = 1.0) -> ReplayOutcome:
    """Replay `trace` through the region's detector in real time; on the first detection, radar on `radio`."""
    fired: list[RadarFired] = []

    def fire(found: Detection) -> None:
        detected = time.monotonic()
        radar_t = bench.inject_radar(radio)
        fired.append(RadarFired(found, detected, time.monotonic(), radar_t))

    started = time.monotonic()
    replay(trace, PatternDetector(trace.region), fire, RealTime(time.monotonic, time.sleep, speed), stop_at_first=True)
    return ReplayOutcome(started, time.monotonic(), fired[0] if fired else None)
