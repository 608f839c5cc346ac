"""The seeded trace generator: one waveform (or negative) instance per call, with impairments.

``generate(family, seed, impairments)`` draws the waveform's parameters from its ranges
(``waveforms``), lays out the nominal pulses, then applies, in this order: timestamp jitter, width
error, lost pulses, stray pulses, RSSI. The same family, seed and impairments give the same trace.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hil_tests.pulses.negatives import NEGATIVE_FAMILY_BY_NAME, NegativeFamily, RawPulse
from hil_tests.pulses.trace_format import Pulse, PulseTrace
from hil_tests.pulses.waveforms import (
    RADAR_FAMILY_BY_NAME,
    ChirpBurstFamily,
    HoppingFamily,
    PulseTrainFamily,
    RadarFamily,
)
from radio_domain.regulatory import Region

Family = RadarFamily | NegativeFamily
START_US = (1_000_000, 60_000_000)  # where the first pulse may fall: an arbitrary running TSF
RSSI_SPREAD_DB = 3
STRAY_WIDTH_US = (0.5, 30.0)


@dataclass(frozen=True, slots=True)
class Impairments:
    """What the air and the receiver do to a waveform.

    Attributes:
        lost_fraction: share of the radar pulses dropped (exactly round(fraction·n), chosen at random).
        jitter_us: each pulse's timestamp moves by an independent whole number of µs in [-J, +J]
            around its nominal slot, so each PRI is off by at most 2J and the train does not drift.
        width_error: each width is scaled by 1 + u, u uniform in [-e, +e].
        stray_rate_hz: extra short unchirped pulses (0.5-30 µs) at Poisson times over the trace.
        rssi_db: mean pulse strength reported; each pulse varies by up to ±3 dB.
    """

    lost_fraction: float = 0.0
    jitter_us: int = 0
    width_error: float = 0.0
    stray_rate_hz: float = 0.0
    rssi_db: int = 20

    def __post_init__(self) -> None:
        if not 0.0 <= self.lost_fraction < 1.0:
            raise ValueError(f"lost fraction must be in [0, 1), not {self.lost_fraction}")
        if not 0 <= self.jitter_us <= 1000:
            raise ValueError(f"jitter must be 0-1000 µs, not {self.jitter_us}")
        if not 0.0 <= self.width_error < 1.0:
            raise ValueError(f"width error must be in [0, 1), not {self.width_error}")
        if not 0.0 <= self.stray_rate_hz <= 100_000:
            raise ValueError(f"stray pulse rate must be 0-100000 per second, not {self.stray_rate_hz}")


def family_names() -> list[str]:
    """Every generator family: radar waveforms first, then negatives."""
    return [*RADAR_FAMILY_BY_NAME, *NEGATIVE_FAMILY_BY_NAME]


def find_family(name: str) -> Family:
    """The family called ``name``; ``KeyError`` naming the known ones if there is none."""
    family = RADAR_FAMILY_BY_NAME.get(name) or NEGATIVE_FAMILY_BY_NAME.get(name)
    if family is None:
        raise KeyError(f"no waveform family {name!r}; known: {', '.join(family_names())}")
    return family


def generate(
    family: str | Family,
    seed: int | Sequence[int],
    impairments: Impairments | None = None,
    *,
    region: Region | None = None,
    channel_mhz: int | None = None,
) -> PulseTrace:
    """One seeded instance of ``family``; ``region``/``channel_mhz`` override the family's header."""
    fam = find_family(family) if isinstance(family, str) else family
    imp = impairments or Impairments()
    seeds = [seed] if isinstance(seed, int) else list(seed)
    rng = np.random.default_rng([*seeds, zlib.crc32(fam.name.encode())])
    start = int(rng.integers(*START_US))
    if isinstance(fam, NegativeFamily):
        trace_region, channel = region or Region.FCC, channel_mhz or 5260
        raw = fam.make(rng, start)
    else:
        trace_region, channel = region or fam.region, channel_mhz or fam.channel_mhz
        raw = _radar_pulses(fam, rng, start, channel)
    raw = _impair(raw, imp, rng)
    pulses = tuple(
        Pulse(ts, channel, width, imp.rssi_db + int(rng.integers(-RSSI_SPREAD_DB, RSSI_SPREAD_DB + 1)), chirp)
        for ts, width, chirp in raw
    )
    return PulseTrace(trace_region, channel, pulses)


def _radar_pulses(fam: RadarFamily, rng: np.random.Generator, start: int, channel: int) -> list[RawPulse]:
    if isinstance(fam, PulseTrainFamily):
        return pulse_train(fam, rng, start)
    if isinstance(fam, ChirpBurstFamily):
        return chirp_bursts(fam, rng, start)
    return hopping(fam, rng, start, channel)


def _step(rng: np.random.Generator, low: float, high: float, step: float = 0.1) -> float:
    steps = round((high - low) / step)
    return round(low + step * int(rng.integers(0, steps + 1)), 1)


def _between(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def fcc_type1_pulses(pri_us: int) -> int:
    """N = ⌈(1/360)·(19·10⁶/PRI)⌉, the FCC type 1 pulse count."""
    return math.ceil(19_000_000 / (360 * pri_us))


def train_pris(fam: PulseTrainFamily, rng: np.random.Generator) -> list[int]:
    """The PRIs of one burst's cycle: one PRI, or 2-3 staggered ones from PRFs ``prf_spacing_pps`` apart."""
    if fam.pri_choices_us:
        return [fam.pri_choices_us[int(rng.integers(0, len(fam.pri_choices_us)))]]
    if fam.pri_us is not None:
        while True:  # rejection: the range minus the excluded values
            pri = _between(rng, fam.pri_us)
            if pri not in fam.pri_excluded_us:
                return [pri]
    assert fam.prf_pps is not None
    n = _between(rng, fam.prf_count)
    if n == 1 or fam.prf_spacing_pps is None:
        return [round(1e6 / _between(rng, fam.prf_pps))]
    while True:  # rejection: all n PRFs inside the range
        prfs = [_between(rng, fam.prf_pps)]
        for _ in range(n - 1):
            prfs.append(prfs[-1] + _between(rng, fam.prf_spacing_pps))
        if prfs[-1] <= fam.prf_pps[1]:
            break
    order = rng.permutation(n)
    return [round(1e6 / prfs[int(i)]) for i in order]


def pulse_train(fam: PulseTrainFamily, rng: np.random.Generator, start: int) -> list[RawPulse]:
    """One burst: equal widths; a single PRI, or the staggered PRIs cycled pulse by pulse."""
    pris = train_pris(fam, rng)
    width = _step(rng, *fam.width_us)
    per_train = _between(rng, fam.pulses) * len(pris)
    count = fcc_type1_pulses(pris[0]) if fam.pulse_count == "fcc-type1" else per_train
    out: list[RawPulse] = []
    t = start
    for i in range(count):
        out.append((t, width, fam.chirp))
        t += pris[i % len(pris)]
    return out


def chirp_bursts(fam: ChirpBurstFamily, rng: np.random.Generator, start: int) -> list[RawPulse]:
    """The period split into equal intervals, one burst at a random offset wholly inside each."""
    bursts = _between(rng, fam.bursts)
    interval = fam.period_us // bursts
    out: list[RawPulse] = []
    for b in range(bursts):
        width = _step(rng, *fam.width_us)
        pris = [_between(rng, fam.pri_us) for _ in range(_between(rng, fam.pulses_per_burst) - 1)]
        length = sum(pris) + math.ceil(width)
        t = start + b * interval + int(rng.integers(0, interval - length + 1))
        out.append((t, width, True))
        for pri in pris:
            t += pri
            out.append((t, width, True))
    return out


def hopping(fam: HoppingFamily, rng: np.random.Generator, start: int, channel: int) -> list[RawPulse]:
    """The pulses of the hops that land in the receiver's band; sequences with none are redrawn."""
    low, high = channel - fam.detection_bw_mhz // 2, channel + fam.detection_bw_mhz // 2
    frequencies = np.arange(fam.hop_mhz[0], fam.hop_mhz[1] + 1)
    if not ((frequencies >= low) & (frequencies < high)).any():
        raise ValueError(f"channel {channel} MHz is outside the hopping range {fam.hop_mhz} MHz")
    while True:
        hops = rng.choice(frequencies, size=fam.hops, replace=False)
        in_band = [h for h, f in enumerate(hops) if low <= f < high]
        if in_band:
            break
    return [
        (start + h * fam.hop_us + k * fam.pri_us, fam.width_us, False)
        for h in in_band
        for k in range(fam.pulses_per_hop)
    ]


def _impair(raw: list[RawPulse], imp: Impairments, rng: np.random.Generator) -> list[RawPulse]:
    out = list(raw)
    if imp.jitter_us:
        out = [(ts + int(rng.integers(-imp.jitter_us, imp.jitter_us + 1)), w, c) for ts, w, c in out]
    if imp.width_error:
        out = [
            (ts, max(0.0, round(w * (1 + float(rng.uniform(-imp.width_error, imp.width_error))), 3)), c)
            for ts, w, c in out
        ]
    lost = round(imp.lost_fraction * len(out))
    if lost:
        dropped = set(rng.choice(len(out), size=lost, replace=False).tolist())
        out = [p for i, p in enumerate(out) if i not in dropped]
    if imp.stray_rate_hz and raw:
        first, last = raw[0][0], max(ts for ts, _, _ in raw) + 1
        span_s = (last - first) / 1e6
        count = int(rng.poisson(imp.stray_rate_hz * span_s))
        times = rng.integers(first, last + 1, size=count)
        out.extend((int(t), _step(rng, *STRAY_WIDTH_US), False) for t in times)
    return sorted(out, key=lambda p: p[0])
