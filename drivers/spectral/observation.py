"""Per-sample measurements the interference classifier works from (pure, numpy only).

Each sample's bins are compared with the median of their own segment (the whole FFT, or each 20 MHz
half of an HT20/40 sample, whose halves carry separate gain): a bin ``prominence_db`` above it holds
narrowband energy whatever the radio's absolute calibration (the AR9280 capture reports an rssi
below its noise floor, yet the camera carrier stands 12-20 dB above the median of each FFT). Samples
are grouped into dwells (one tuning: same centre, format and bin count, TSF not going backwards) and
dwells into fixed-length time windows for persistence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drivers.spectral.sample import SampleFormat, SpectralSample

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ClassifierSettings:
    """Thresholds of the interference classifier (defaults chosen on the public FFT_eval captures)."""

    prominence_db: float = 10.0  # a bin this far above its segment median holds narrowband energy
    occupied_db: float = 5.0  # bandwidth: contiguous bins this far above the median around a peak
    cell_mhz: float = 0.5  # frequency grid on which hits from different tunings are pooled
    match_mhz: float = 1.0  # a hit counts for every cell this close: covers a camera's FM wander (std 0.3-0.6 MHz)
    window_us: int = 100_000  # persistence is measured over windows of this length within a dwell
    min_coverage: int = 5  # a cell seen by fewer samples is not a candidate
    energy_db: float = 10.0  # a sample whose rssi is this far above noise carries a real signal
    wideband_mhz: float = 15.0  # flat energy at least this wide looks like Wi-Fi OFDM (16.6 MHz at 20 MHz)
    flat_db: float = 10.0  # "flat": within this much of the mean bin power of the segment
    peak_db: float = 20.0  # bandwidth is measured down to this far below the peak (the -20 dB bandwidth)


DEFAULT_SETTINGS = ClassifierSettings()


@dataclass(frozen=True, slots=True)
class Observation:
    """One sample reduced to what the classifier needs."""

    freqs: FloatArray  # bin centre frequencies, MHz
    power: FloatArray  # bin power, dBm
    excess: FloatArray  # bin power above its segment's median, dB
    rssi: int
    tsf: int
    central_freq: int
    window: tuple[int, int]  # (dwell number, window number within the dwell)
    wideband: tuple[float, float] | None  # (low, high) MHz of the widest flat run, when the sample carries energy

    @property
    def spacing(self) -> float:
        return float(self.freqs[1] - self.freqs[0]) if self.freqs.size > 1 else 0.0

    @property
    def wideband_mhz(self) -> float:
        return 0.0 if self.wideband is None else self.wideband[1] - self.wideband[0]


def _segments(sample: SpectralSample) -> int:
    return 2 if sample.format is SampleFormat.HT20_40 else 1


def _excess(power: FloatArray, segments: int) -> FloatArray:
    parts = np.split(power, segments)
    return np.concatenate([part - np.median(part) for part in parts])


def run_around(mask: BoolArray, k: int) -> int:
    """How many bins the run of True through bin ``k`` spans (``k`` itself counts)."""
    left, right = k, k
    while left > 0 and mask[left - 1]:
        left -= 1
    while right < mask.size - 1 and mask[right + 1]:
        right += 1
    return right - left + 1


def _longest_run(mask: BoolArray) -> tuple[int, int]:
    """[start, stop) of the longest run of True, a lone False between two Trues (DC, a pilot null) counting as True."""
    filled = mask.copy()
    filled[1:-1] |= mask[:-2] & mask[2:]
    best, start = (0, 0), 0
    for index, flag in enumerate([*filled.tolist(), False]):
        if not flag:
            if index - start > best[1] - best[0]:
                best = (start, index)
            start = index + 1
    return best


def _wideband(
    sample: SpectralSample, freqs: FloatArray, power: FloatArray, settings: ClassifierSettings
) -> tuple[float, float] | None:
    """Widest run of bins within ``flat_db`` of the power they would have if the energy were spread evenly."""
    if sample.rssi < settings.energy_db or freqs.size < 2:
        return None
    half = (freqs[1] - freqs[0]) / 2
    best: tuple[float, float] | None = None
    for part_f, part_p in zip(np.split(freqs, _segments(sample)), np.split(power, _segments(sample)), strict=True):
        even_db = 10.0 * np.log10(np.mean(10.0 ** (part_p / 10.0)))
        start, stop = _longest_run(part_p >= even_db - settings.flat_db)
        if stop == start:
            continue
        run = (float(part_f[start] - half), float(part_f[stop - 1] + half))
        if best is None or run[1] - run[0] > best[1] - best[0]:
            best = run
    return best


def observe(samples: Sequence[SpectralSample], settings: ClassifierSettings = DEFAULT_SETTINGS) -> list[Observation]:
    """The classifier's view of each sample, in order, with dwell and window numbers assigned."""
    out: list[Observation] = []
    dwell = -1
    start_tsf = 0
    previous: SpectralSample | None = None
    for sample in samples:
        tuning = (sample.central_freq, sample.format, len(sample.freqs_mhz))
        if (
            previous is None
            or tuning != (previous.central_freq, previous.format, len(previous.freqs_mhz))
            or (sample.tsf < previous.tsf)
        ):
            dwell += 1
            start_tsf = sample.tsf
        previous = sample
        freqs = np.asarray(sample.freqs_mhz, dtype=np.float64)
        power = np.asarray(sample.power_dbm, dtype=np.float64)
        out.append(
            Observation(
                freqs=freqs,
                power=power,
                excess=_excess(power, _segments(sample)),
                rssi=sample.rssi,
                tsf=sample.tsf,
                central_freq=sample.central_freq,
                window=(dwell, (sample.tsf - start_tsf) // settings.window_us),
                wideband=_wideband(sample, freqs, power, settings),
            )
        )
    return out
