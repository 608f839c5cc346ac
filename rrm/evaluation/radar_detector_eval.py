"""How well the emulated radio's radar detector does: detection per waveform family, false alarms on negatives.

Method: for every radar family of ``hil_tests.pulses.waveforms`` run ``trials`` seeded instances
with the impairments (by default 20 % lost pulses and ±8 µs timestamp jitter, i.e. PRIs off by up
to ±16 µs, the detector's own tolerance; dfs.md section 7) through a fresh ``PatternDetector`` for
the family's region; a trial is detected if any radar type fires. For every negative family run
``trials`` instances with the same impairments except lost pulses (thinning a negative only makes
it easier), the region cycling FCC, ETSI, JP by trial; any detection is a false alarm.

Targets (issue 6 item 7): detection >= 95 % for every family, false alarms <= 1 % over the
negatives. The regulatory minima are lower (FCC 60 % per type 1-4 and 80 % on their mean; type 5
80 %, type 6 70 %; ETSI 60 %). Trial seeds are (seed, trial), so figures repeat for the same seed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from hil_tests.pulses.generator import Impairments, generate
from hil_tests.pulses.negatives import NEGATIVE_FAMILIES
from hil_tests.pulses.pattern_detector import PatternDetector
from hil_tests.pulses.replay import replay
from hil_tests.pulses.waveforms import RADAR_FAMILIES
from radio_domain.regulatory import Region

DETECTION_TARGET = 0.95
FALSE_ALARM_TARGET = 0.01
EVAL_IMPAIRMENTS = Impairments(lost_fraction=0.2, jitter_us=8)
NEGATIVE_REGIONS = (Region.FCC, Region.ETSI, Region.JP)


@dataclass(frozen=True, slots=True)
class RadarDetectorEvalOptions:
    """Trials per family, the master seed, the impairments, and which families to run (default all)."""

    trials: int = 200
    seed: int = 0
    impairments: Impairments = EVAL_IMPAIRMENTS
    families: Sequence[str] | None = None
    negatives: Sequence[str] | None = None


@dataclass(slots=True)
class FamilyOutcome:
    """Trials run, trials detected and which radar types fired."""

    trials: int = 0
    detected: int = 0
    radar_types: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.detected / self.trials if self.trials else 0.0

    def record(self, radar_type: str | None) -> None:
        self.trials += 1
        if radar_type is not None:
            self.detected += 1
            self.radar_types[radar_type] += 1

    def figures(self, detected_key: str = "detected") -> dict[str, object]:
        return {
            "trials": self.trials,
            detected_key: self.detected,
            "rate": round(self.rate, 4),
            "radar_types": dict(sorted(self.radar_types.items())),
        }


@dataclass(slots=True)
class RadarDetectorEvaluation:
    """Per-family outcomes and per-negative outcomes; ``figures()`` is the JSON document."""

    options: RadarDetectorEvalOptions
    families: dict[str, FamilyOutcome]
    negatives: dict[str, FamilyOutcome]

    @property
    def false_alarms(self) -> FamilyOutcome:
        total = FamilyOutcome()
        for outcome in self.negatives.values():
            total.trials += outcome.trials
            total.detected += outcome.detected
            total.radar_types.update(outcome.radar_types)
        return total

    @property
    def targets_met(self) -> bool:
        detection = all(o.rate >= DETECTION_TARGET for o in self.families.values())
        return detection and self.false_alarms.rate <= FALSE_ALARM_TARGET

    def figures(self) -> dict[str, object]:
        imp = self.options.impairments
        negatives = self.false_alarms.figures("false_alarms")
        negatives["by_family"] = {n: o.figures("false_alarms") for n, o in self.negatives.items()}
        return {
            "seed": self.options.seed,
            "impairments": {
                "lost_fraction": imp.lost_fraction,
                "jitter_us": imp.jitter_us,
                "width_error": imp.width_error,
                "stray_rate_hz": imp.stray_rate_hz,
            },
            "targets": {"detection_rate": DETECTION_TARGET, "false_alarm_rate": FALSE_ALARM_TARGET},
            "families": {n: o.figures() for n, o in self.families.items()},
            "negatives": negatives,
            "targets_met": self.targets_met,
        }


def evaluate_radar_detector(
    options: RadarDetectorEvalOptions, progress: Callable[[str], None] | None = None
) -> RadarDetectorEvaluation:
    """Run every trial and collect the outcomes."""
    if options.trials < 1:
        raise ValueError(f"trials must be at least 1, not {options.trials}")
    radar = [f.name for f in RADAR_FAMILIES] if options.families is None else list(options.families)
    negative = [f.name for f in NEGATIVE_FAMILIES] if options.negatives is None else list(options.negatives)
    evaluation = RadarDetectorEvaluation(options, {}, {})
    for name in radar:
        outcome = evaluation.families[name] = FamilyOutcome()
        for trial in range(options.trials):
            outcome.record(_first_radar(name, (options.seed, trial), options.impairments, None))
        if progress is not None:
            progress(f"{name}: {outcome.detected}/{outcome.trials}")
    unthinned = replace(options.impairments, lost_fraction=0.0)
    for name in negative:
        outcome = evaluation.negatives[name] = FamilyOutcome()
        for trial in range(options.trials):
            region = NEGATIVE_REGIONS[trial % len(NEGATIVE_REGIONS)]
            outcome.record(_first_radar(name, (options.seed, trial), unthinned, region))
        if progress is not None:
            progress(f"{name}: {outcome.detected}/{outcome.trials} false alarms")
    return evaluation


def _first_radar(name: str, seed: tuple[int, int], impairments: Impairments, region: Region | None) -> str | None:
    trace = generate(name, seed, impairments, region=region)
    found = replay(trace, PatternDetector(trace.region), stop_at_first=True)
    return found[0].radar_type if found else None
