"""Non-radar pulse reports: what a radar front end also reports and a detector must not call radar.

Each negative is a function of a seeded ``numpy`` Generator and a start time that returns raw pulses
(timestamp µs, width µs, chirp flag). Deliberately absent: a *periodic* short-pulse emitter at a
radar PRI (e.g. a 1 ms LTE-like tick of 1 µs pulses). To a PRI detector, and to the regulations'
test waveforms, that is radar, so counting it as a false alarm would measure nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RawPulse = tuple[int, float, bool]
NegativeMaker = Callable[[np.random.Generator, int], list[RawPulse]]

SIFS_US, DIFS_US, SLOT_US = 16, 34, 9  # 5 GHz OFDM timing


@dataclass(frozen=True, slots=True)
class NegativeFamily:
    """A kind of non-radar input; ``description`` says what it models and why it is not radar."""

    name: str
    description: str
    make: NegativeMaker


def _width(rng: np.random.Generator, low: float, high: float) -> float:
    return round(float(rng.uniform(low, high)), 1)


def wifi_traffic(rng: np.random.Generator, start: int) -> list[RawPulse]:
    """1 s of a busy Wi-Fi channel: DIFS + random backoff (CW 15), a data frame of 50-2500 µs airtime,
    then (70 %) an ACK of 28-44 µs after SIFS, with exponential idle gaps (mean 0.5 ms) between exchanges.
    Frame widths are far above every short-pulse type; ACK spacing follows random frame lengths."""
    out: list[RawPulse] = []
    t, end = start, start + 1_000_000
    while t < end:
        t += DIFS_US + SLOT_US * int(rng.integers(0, 16)) + int(rng.exponential(500))
        airtime = int(rng.integers(50, 2501))
        out.append((t, float(airtime), False))
        t += airtime
        if rng.random() < 0.7:
            t += SIFS_US
            ack = int(rng.integers(28, 45))
            out.append((t, float(ack), False))
            t += ack
    return out


def random_pulses(rng: np.random.Generator, start: int) -> list[RawPulse]:
    """1 s of short pulses (0.5-20 µs) at Poisson (communication-like, aperiodic) times,
    200-2000 per second: the radar widths without any pulse repetition."""
    rate = float(rng.uniform(200, 2000))
    count = int(rng.poisson(rate))
    times = np.sort(rng.integers(start, start + 1_000_000, size=count))
    return [(int(t), _width(rng, 0.5, 20.0), False) for t in times]


def single_pulses(rng: np.random.Generator, start: int) -> list[RawPulse]:
    """1-5 isolated pulses 0.2-2 s apart, 0.5-100 µs wide, chirped or not: a lone pulse, even a
    type-5-like chirp, is never a pulse train."""
    out: list[RawPulse] = []
    t = start
    for _ in range(int(rng.integers(1, 6))):
        out.append((t, _width(rng, 0.5, 100.0), bool(rng.random() < 0.5)))
        t += int(rng.integers(200_000, 2_000_001))
    return out


def wide_bursts(rng: np.random.Generator, start: int) -> list[RawPulse]:
    """1 s of wide bursts: a microwave oven firing once per mains cycle (50 or 60 Hz, 2-8 ms on, ±200 µs
    jitter), or LTE-LAA-like transmissions (1-8 ms, random 0.5-5 ms gaps). Periodic or not, every
    width is far above the widest radar pulse (105 µs)."""
    out: list[RawPulse] = []
    t, end = start, start + 1_000_000
    if rng.random() < 0.5:
        period = 20_000 if rng.random() < 0.5 else 16_667
        on = int(rng.integers(2000, 8001))
        while t < end:
            out.append((t + int(rng.integers(-200, 201)), float(on), False))
            t += period
    else:
        while t < end:
            width = int(rng.integers(1000, 8001))
            out.append((t, float(width), False))
            t += width + int(rng.integers(500, 5001))
    return sorted(out)


def stray_chirps(rng: np.random.Generator, start: int) -> list[RawPulse]:
    """Chirps that are not type 5 bursts, one kind per trace: lone 50-100 µs chirps 20-500 ms apart
    (no second pulse 1-2 ms later, as a burst has); chirp pairs only 200-800 µs apart; or short chirps
    (5-40 µs) at Poisson times, 100-1000 per second."""
    out: list[RawPulse] = []
    kind = int(rng.integers(0, 3))
    t, end = start, start + 5_000_000
    if kind == 2:
        count = int(rng.poisson(float(rng.uniform(100, 1000))))
        times = np.sort(rng.integers(start, start + 1_000_000, size=count))
        return [(int(x), _width(rng, 5.0, 40.0), True) for x in times]
    while t < end:
        width = _width(rng, 50.0, 100.0)
        out.append((t, width, True))
        if kind == 1:
            out.append((t + int(rng.integers(200, 801)), width, True))
        t += int(rng.integers(20_000, 500_001))
    return out


NEGATIVE_FAMILIES: tuple[NegativeFamily, ...] = tuple(
    NegativeFamily(f"neg-{fn.__name__.replace('_', '-')}", " ".join((fn.__doc__ or "").split()), fn)
    for fn in (wifi_traffic, random_pulses, single_pulses, wide_bursts, stray_chirps)
)
NEGATIVE_FAMILY_BY_NAME: dict[str, NegativeFamily] = {f.name: f for f in NEGATIVE_FAMILIES}
