"""Find persistent narrowband emitters in a run of samples, and measure each one.

Hits (bins ``prominence_db`` above their segment median) are pooled on an absolute frequency grid,
so a real emitter seen from several tunings (an ath9k ``chanscan`` sweep retunes every 5 MHz) adds
up at one frequency, while receiver artefacts that move with the tuning (DC, images) spread out.

Cells are ranked by duty (hits / samples that saw the cell) × the median prominence of their hits ×
the share of the tunings that saw the cell in which it stood out (halved when only one tuning saw
it: one tuning cannot tell an emitter from a spur of the receiver). The best cell is an emitter, the
cells it occupies are set aside, and so on. Each emitter's significance is the binomial chance of
that many hits at the background hit rate of the other cells, times the number of independent cells
tried (a Bonferroni bound): noise alone rarely wins.

A weaker emitter that sits in the same FFTs as a stronger one records how far below it is: 8-bit
FFT bins leave a spurious-free range of a few tens of dB, so a peak 20-30 dB under a strong tone may
be the receiver's own spur or image of it (the ath10k captures show such peaks ±6.3 MHz around their
tone, and mirrored about DC).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drivers.spectral.observation import BoolArray, ClassifierSettings, FloatArray, Observation, run_around


@dataclass(frozen=True, slots=True)
class CarrierEvidence:
    """What the samples say about one emitter."""

    centre_mhz: float  # median frequency of its peak bin
    duty: float  # fraction of the samples that saw its frequency in which it stood out
    coverage: int  # samples that saw its frequency
    hits: int  # samples in which it stood out
    prominence_db: float  # median height of its peak above the segment median, in the samples it stood out
    background: float  # hit rate of a typical cell (noise and unrelated signals)
    false_alarm: float  # bound on the chance that noise alone gives some cell this many hits
    persistence: float  # fraction of time windows (that saw it) in which it stood out in half the samples
    windows: int  # time windows that saw its frequency
    tunings: int  # distinct tunings (centre frequencies) in which it stood out in half the samples
    tunings_seen: int  # distinct tunings whose span included its frequency
    bandwidth_mhz: float  # median contiguous width within ``peak_db`` of the peak and ``occupied_db`` above the median
    level_dbm: float  # median power of its peak bin
    level_spread_db: float  # pooled within-dwell standard deviation of its peak power
    jitter_mhz: float  # pooled within-dwell standard deviation of its peak frequency
    resolution_mhz: float  # the finest bin spacing among the samples that show it
    below_stronger_db: float  # how far below a stronger emitter seen in the same FFTs (0: none), see find_carriers


def _cell_range(low: float, high: float, cell: float) -> tuple[int, int]:
    """Indices of the cells whose centres ((i + 0.5) · cell) lie in [low, high], as [first, stop)."""
    return math.ceil(low / cell - 0.5), math.floor(high / cell - 0.5) + 1


def _grid(observations: Sequence[Observation], settings: ClassifierSettings) -> tuple[int, BoolArray, FloatArray]:
    """(first cell index, covered[sample, cell], strongest hit excess[sample, cell] or 0)."""
    cell = settings.cell_mhz
    spans = [(o.freqs[0] - o.spacing / 2, o.freqs[-1] + o.spacing / 2) for o in observations]
    base = min(_cell_range(lo, hi, cell)[0] for lo, hi in spans)
    top = max(_cell_range(lo, hi, cell)[1] for lo, hi in spans)
    covered = np.zeros((len(observations), top - base), dtype=np.bool_)
    strength = np.zeros(covered.shape, dtype=np.float64)
    for row, (obs, (lo, hi)) in enumerate(zip(observations, spans, strict=True)):
        first, stop = _cell_range(lo, hi, cell)
        covered[row, first - base : stop - base] = True
        loud = obs.excess >= settings.prominence_db
        for freq, excess in zip(obs.freqs[loud].tolist(), obs.excess[loud].tolist(), strict=True):
            first, stop = _cell_range(freq - settings.match_mhz, freq + settings.match_mhz, cell)
            view = strength[row, first - base : stop - base]
            np.maximum(view, excess, out=view)
    return base, covered, np.where(covered, strength, 0.0)


def binomial_tail(hits: int, trials: int, rate: float) -> float:
    """P(X >= hits) for X ~ Binomial(trials, rate), summed in log space."""
    if hits <= 0:
        return 1.0
    log_rate, log_miss = math.log(rate), math.log1p(-rate)
    terms = [
        math.lgamma(trials + 1)
        - math.lgamma(k + 1)
        - math.lgamma(trials - k + 1)
        + k * log_rate
        + (trials - k) * log_miss
        for k in range(hits, trials + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def _pooled_std(values_by_dwell: dict[int, list[float]]) -> float:
    groups = [np.asarray(v) for v in values_by_dwell.values() if len(v) >= 2]
    return float(np.sqrt(np.mean([g.var() for g in groups]))) if groups else 0.0


def _peak(obs: Observation, centre: float, settings: ClassifierSettings) -> tuple[int, float]:
    """The most prominent bin near ``centre`` and the width of the occupied run around it."""
    near = np.flatnonzero(np.abs(obs.freqs - centre) <= settings.match_mhz + obs.spacing / 2)
    k = int(near[np.argmax(obs.excess[near])])
    occupied = (obs.excess >= settings.occupied_db) & (obs.power >= obs.power[k] - settings.peak_db)
    return k, run_around(occupied, k) * obs.spacing


def _persistence(observations: Sequence[Observation], seen: BoolArray, hit: BoolArray) -> tuple[float, int]:
    tally: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for obs, was_seen, was_hit in zip(observations, seen.tolist(), hit.tolist(), strict=True):
        if was_seen:
            tally[obs.window][0] += 1
            tally[obs.window][1] += int(was_hit)
    steady = sum(1 for n, h in tally.values() if 2 * h >= n)
    return (steady / len(tally) if tally else 0.0), len(tally)


def _measure(
    observations: Sequence[Observation], covered: BoolArray, hit: BoolArray, centre: float, settings: ClassifierSettings
) -> tuple[float, float, float, float, float, float]:
    """(centre, bandwidth, level, level spread, jitter, resolution) from the samples in which it stood out."""
    peak_freq: dict[int, list[float]] = defaultdict(list)
    peak_level: dict[int, list[float]] = defaultdict(list)
    widths: list[float] = []
    spacings: list[float] = []
    for obs, was_hit in zip(observations, hit.tolist(), strict=True):
        if was_hit:
            k, width = _peak(obs, centre, settings)
            peak_freq[obs.window[0]].append(float(obs.freqs[k]))
            peak_level[obs.window[0]].append(float(obs.power[k]))
            widths.append(width)
            spacings.append(obs.spacing)
    freqs = [f for fs in peak_freq.values() for f in fs]
    levels = [v for vs in peak_level.values() for v in vs]
    return (
        float(np.median(freqs)),
        float(np.median(widths)),
        float(np.median(levels)),
        _pooled_std(peak_level),
        _pooled_std(peak_freq),
        min(spacings),
    )


def _tuning_counts(
    observations: Sequence[Observation], covered: BoolArray, hits: BoolArray, min_coverage: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per cell: how many tunings saw it (with ``min_coverage`` samples), and in how many it stood out in half."""
    tuning = np.array([o.central_freq for o in observations])
    seen = np.zeros(covered.shape[1], dtype=np.int64)
    confirmed = np.zeros_like(seen)
    for value in np.unique(tuning).tolist():
        rows = tuning == value
        n, h = covered[rows].sum(axis=0), hits[rows].sum(axis=0)
        enough = n >= min_coverage
        seen += enough
        confirmed += enough & (2 * h >= n)
    return seen, confirmed


def _below_stronger(level: float, hit: BoolArray, stronger: Sequence[tuple[float, BoolArray]]) -> float:
    """The largest level gap to an earlier (stronger) emitter visible in at least half of these hits."""
    gaps = [other - level for other, seen in stronger if 2 * int((seen & hit).sum()) >= int(hit.sum())]
    return max([0.0, *gaps])


def find_carriers(
    observations: Sequence[Observation], settings: ClassifierSettings, limit: int = 3
) -> list[CarrierEvidence]:
    """Up to ``limit`` emitters, strongest first (duty × prominence); none when nothing stands out."""
    if not observations:
        return []
    base, covered, strength = _grid(observations, settings)
    hits = strength >= settings.prominence_db
    coverage = covered.sum(axis=0)
    hit_count = hits.sum(axis=0)
    eligible = coverage >= settings.min_coverage
    if not eligible.any():
        return []
    duty = np.where(eligible, hit_count / np.maximum(coverage, 1), 0.0)
    prominence = np.array(
        [float(np.median(strength[hits[:, c], c])) if hit_count[c] else 0.0 for c in range(duty.size)]
    )
    seen, confirmed = _tuning_counts(observations, covered, hits, settings.min_coverage)
    share = np.where(seen > 1, confirmed / np.maximum(seen, 1), 0.5)
    score = np.where(eligible, duty * prominence * share, 0.0)
    background = float(np.clip(np.median(duty[eligible]), 0.01, 0.5))
    independent = max(1.0, float(eligible.sum()) * settings.cell_mhz / (2 * settings.match_mhz))
    found: list[CarrierEvidence] = []
    stronger: list[tuple[float, BoolArray]] = []
    while len(found) < limit and score.max() > 0:
        best = int(np.argmax(score))
        n, h = int(coverage[best]), int(hit_count[best])
        centre, width, level, spread, jitter, resolution = _measure(
            observations, covered[:, best], hits[:, best], (base + best + 0.5) * settings.cell_mhz, settings
        )
        persistence, windows = _persistence(observations, covered[:, best], hits[:, best])
        found.append(
            CarrierEvidence(
                centre_mhz=centre,
                duty=float(duty[best]),
                coverage=n,
                hits=h,
                prominence_db=float(prominence[best]),
                background=background,
                false_alarm=min(1.0, binomial_tail(h, n, background) * independent),
                persistence=persistence,
                windows=windows,
                tunings=int(confirmed[best]),
                tunings_seen=int(seen[best]),
                bandwidth_mhz=width,
                level_dbm=level,
                level_spread_db=spread,
                jitter_mhz=jitter,
                resolution_mhz=resolution,
                below_stronger_db=_below_stronger(level, hits[:, best], stronger),
            )
        )
        stronger.append((level, covered[:, best]))
        reach = width / 2 + 2 * settings.match_mhz
        first, stop = _cell_range(centre - reach, centre + reach, settings.cell_mhz)
        score[max(0, first - base) : max(0, stop - base)] = 0.0
    return found
