"""Evidence from when samples carry energy, rather than from one steady frequency.

Three patterns, each measured on the samples whose rssi shows a real signal (``energy_db`` above
the noise floor):

- Wi-Fi OFDM: bursts whose energy is flat over a wide run of bins (at least ``wideband_mhz``; a
  20 MHz OFDM signal fills 16.6 MHz), present in only part of the samples.
- Microwave oven: the magnetron fires on one half of each mains cycle, so energetic samples bunch
  at one phase of a 20 ms (50 Hz) or 16.7 ms (60 Hz) period (Taher et al., IEEE WCNC 2008, the
  model ns-3 uses); measured as the circular concentration of their TSF phase, relative to the
  most a contiguous on-time of that duty can reach (1: perfectly locked; random bursts: near 0).
- Frequency hopper (Bluetooth): narrow (≤ 2 MHz) peaks that land somewhere new in each sample, over
  a span much wider than any one of them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from drivers.spectral.observation import ClassifierSettings, Observation, run_around

MAINS_PERIODS_US = (20_000.0, 1_000_000.0 / 60.0)
HOP_MAX_WIDTH_MHZ = 2.0


@dataclass(frozen=True, slots=True)
class ActivityEvidence:
    """A pattern of energetic samples: which share of samples, where, how wide, how regular."""

    duty: float  # share of the samples showing the pattern
    samples: int  # samples the share is taken over
    centre_mhz: float
    bandwidth_mhz: float
    regularity: float  # microwave: phase concentration (0..1); hopper: hop span / peak width; Wi-Fi: 1


def wideband_bursts(observations: Sequence[Observation], settings: ClassifierSettings) -> ActivityEvidence | None:
    """Flat wideband bursts (Wi-Fi-like), or None when no sample has one."""
    runs = [o.wideband for o in observations if o.wideband is not None and o.wideband_mhz >= settings.wideband_mhz]
    if not runs:
        return None
    lows, highs = np.array([r[0] for r in runs]), np.array([r[1] for r in runs])
    return ActivityEvidence(
        duty=len(runs) / len(observations),
        samples=len(observations),
        centre_mhz=float(np.median((lows + highs) / 2)),
        bandwidth_mhz=float(np.median(highs - lows)),
        regularity=1.0,
    )


def _phase_concentration(tsfs: Sequence[int], period_us: float) -> float:
    angles = 2 * math.pi * (np.asarray(tsfs, dtype=np.float64) % period_us) / period_us
    return float(abs(np.mean(np.exp(1j * angles))))


def _energetic_span(observations: Sequence[Observation]) -> tuple[float, float]:
    """Power-weighted centre and -10 dB width of the mean spectrum of some samples of one tuning."""
    freqs = observations[0].freqs
    mean = np.mean([10.0 ** (o.power / 10.0) for o in observations], axis=0)
    occupied = mean >= mean.max() / 10.0
    centre = float(np.sum(freqs * mean) / np.sum(mean))
    return centre, float(occupied.sum() * observations[0].spacing)


def mains_locked_bursts(observations: Sequence[Observation], settings: ClassifierSettings) -> ActivityEvidence | None:
    """The dwell whose energetic samples best lock to a 50/60 Hz phase (microwave-oven-like), if any.

    Only dwells lasting three mains periods with energy in 20-80 % of their samples are considered:
    shorter ones cannot show the period, always-on or never-on ones have no phase.
    """
    dwells: dict[int, list[Observation]] = defaultdict(list)
    for obs in observations:
        dwells[obs.window[0]].append(obs)
    best: ActivityEvidence | None = None
    for dwell in dwells.values():
        span = dwell[-1].tsf - dwell[0].tsf
        on = [o for o in dwell if o.rssi >= settings.energy_db]
        duty = len(on) / len(dwell)
        if span < 3 * MAINS_PERIODS_US[0] or not 0.2 <= duty <= 0.8 or len(on) < settings.min_coverage:
            continue
        # Energy on one unbroken arc of the cycle (duty d) concentrates the phases to sin(πd)/(πd) at best.
        locked = math.sin(math.pi * duty) / (math.pi * duty)
        regularity = max(_phase_concentration([o.tsf for o in on], period) for period in MAINS_PERIODS_US) / locked
        if best is None or regularity > best.regularity:
            centre, width = _energetic_span(on)
            best = ActivityEvidence(duty, len(dwell), centre, width, regularity)
    return best


def _narrow_peak(obs: Observation, settings: ClassifierSettings) -> tuple[float, float] | None:
    """(frequency, width) of the sample's most prominent peak when it is narrow, else None."""
    k = int(np.argmax(obs.excess))
    if obs.excess[k] < settings.prominence_db:
        return None
    width = run_around(obs.excess >= settings.occupied_db, k) * obs.spacing
    return (float(obs.freqs[k]), width) if width <= HOP_MAX_WIDTH_MHZ else None


def hopping_peaks(
    observations: Sequence[Observation], settings: ClassifierSettings, steady_mhz: Sequence[float] = ()
) -> ActivityEvidence | None:
    """Narrow peaks that move from sample to sample (frequency-hopper-like), or None.

    Peaks within ``2 * match_mhz`` of a frequency in ``steady_mhz`` (known persistent carriers) are
    not hops.
    """
    energetic = [o for o in observations if o.rssi >= settings.energy_db]
    reach = 2 * settings.match_mhz
    peaks = [
        p
        for p in (_narrow_peak(o, settings) for o in energetic)
        if p is not None and all(abs(p[0] - f) > reach for f in steady_mhz)
    ]
    if len(peaks) < settings.min_coverage:
        return None
    freqs = np.array([f for f, _ in peaks])
    low, high = np.percentile(freqs, [10, 90])
    width = float(np.median([w for _, w in peaks]))
    return ActivityEvidence(
        duty=len(peaks) / len(observations),
        samples=len(observations),
        centre_mhz=float((low + high) / 2),
        bandwidth_mhz=float(high - low) + width,
        regularity=float(high - low) / width,
    )
