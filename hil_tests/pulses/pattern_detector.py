"""The emulated radio's radar detector: per-channel sets of PRI detectors for the region's radar types.

As dfs.md section 4 describes the Linux pattern detector:

- one channel detector per pulse frequency (``freq_mhz``), holding a ``PriDetector`` per radar type
  of the region (``radar_specs``), so pulses on different channels never mix;
- a timestamp earlier than the previous pulse's (a TSF reset) resets every detector;
- the types are tried in table order and the first that declares radar wins (later types do not
  see that pulse); that type's detector is then reset, the others keep their state;
- with no region set every pulse is radar (fail-safe).

Pure: no clock, no I/O. Width gates compare whole µs (``pri_detector``); ``width_match`` is this
detector's one addition to the kernel's algorithm (see ``pri_detector``), ``None`` turns it off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hil_tests.pulses.pri_detector import DEFAULT_WIDTH_MATCH, PriDetector, WidthMatch
from hil_tests.pulses.radar_specs import SPECS_BY_REGION, RadarSpec
from hil_tests.pulses.trace_format import Pulse
from radio_domain.regulatory import Region

UNSET_REGION_TYPE = "unset-region"


@dataclass(frozen=True, slots=True)
class Detection:
    """Radar declared: which type, on which channel, at which pulse, from which sequence."""

    radar_type: str
    freq_mhz: int
    ts_us: int
    pri_us: int
    count: int
    false_count: int


class PatternDetector:
    """Feed pulses one at a time with ``add_pulse``; it answers a ``Detection`` when a radar type matches."""

    def __init__(
        self,
        region: Region | None,
        specs: Sequence[RadarSpec] | None = None,
        width_match: WidthMatch | None = DEFAULT_WIDTH_MATCH,
    ) -> None:
        self.region = region
        self.width_match = width_match
        if specs is not None:
            self.specs = tuple(specs)
        else:
            self.specs = SPECS_BY_REGION[region] if region is not None else ()
        self._channels: dict[int, list[PriDetector]] = {}
        self._last_ts: int | None = None

    def reset(self) -> None:
        """Forget every pulse on every channel."""
        self._channels.clear()
        self._last_ts = None

    def add_pulse(self, pulse: Pulse) -> Detection | None:
        """Offer one pulse report; the detection it completes, or None."""
        if self.region is None and not self.specs:
            return Detection(UNSET_REGION_TYPE, pulse.freq_mhz, pulse.ts_us, 0, 1, 0)
        if self._last_ts is not None and pulse.ts_us < self._last_ts:
            self.reset()
        self._last_ts = pulse.ts_us
        detectors = self._channels.get(pulse.freq_mhz)
        if detectors is None:
            detectors = [PriDetector(spec, self.width_match) for spec in self.specs]
            self._channels[pulse.freq_mhz] = detectors
        for detector in detectors:
            seq = detector.add_pulse(pulse.ts_us, pulse.width_us, pulse.chirp)
            if seq is not None:
                detector.reset(pulse.ts_us)
                return Detection(
                    detector.spec.name, pulse.freq_mhz, pulse.ts_us, seq.pri_us, seq.count, seq.false_count
                )
        return None
