"""Non-Wi-Fi interference classification of spectral-scan samples, and the event it raises.

A pure function of decoded samples (``classify``); ``non_wifi_event`` turns a non-Wi-Fi verdict into
the ``NON_WIFI_BURST`` DriverEvent an agent consumes. The evidence comes from ``carrier`` (steady
narrowband emitters) and ``activity`` (Wi-Fi bursts, mains-locked bursts, hopping peaks).

Kinds and their signatures (kind names follow drivers.sim's InterfererKind where one exists):

- ``video_camera``: an analog (FM) video sender: a persistent carrier (duty above 0.5-0.8, in most
  time windows) whose peak wanders with the modulation (peak-frequency jitter of a bin or more) and
  whose core is a few MHz wide (under 4-8 MHz). Every public ath9k camera capture shows this at 2414.2-2414.4 MHz.
- ``continuous_wave``: a persistent carrier that stays in its bin with a steady level and under
  1-2 MHz of width: a signal generator, an oscillator leak, a receiver spur. The ath10k captures hold
  one at 5645.1-5645.2 MHz (all three widths, all bin counts), level steady within ~1 dB.
- ``microwave``: energy in 20-80 % of the samples, bunched at one phase of the 50/60 Hz mains cycle.
- ``frequency_hopper``: narrow peaks landing over a span much wider than themselves (Bluetooth).
- ``wifi``: flat bursts at least 15 MHz wide. Not non-Wi-Fi: no event.
- ``none``: nothing credible.

``classify_all`` lists the steady carriers strongest first (duty × prominence), then the activity
patterns; ``verdict`` takes the first credible (confidence >= 0.5) non-Wi-Fi one, so the strongest
interferer wins over a weaker one that happens to be typed more surely. The ath9k camera captures
also hold weaker narrowband emitters near 2437.5 and 2448 MHz, seen by every chip; what they are is
unknown and their kind (tone or camera) flips with the settings, which is why they are only listed.

Confidence is a product of factors in 0..1: significance against noise (1 − the Bonferroni-bounded
false-alarm chance), occupancy (duty and persistence), amount of evidence (1 − e^(−hits/8)),
confirmation across tunings (1 when the emitter stood out from two tunings, 0.9 when only one tuning
saw its frequency, the confirmed share when other tunings saw it and disagreed), a spur discount
(down to 0.2 for a peak 25 dB or more below a stronger emitter in the same FFTs) and how well the
measurements fit the kind. The ramps' end points were set on the public FFT_eval captures, the only
labelled spectral data we have; treat them as a starting point, not a calibration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from drivers.protocol import DriverEvent
from drivers.spectral.activity import ActivityEvidence, hopping_peaks, mains_locked_bursts, wideband_bursts
from drivers.spectral.carrier import CarrierEvidence, find_carriers
from drivers.spectral.observation import DEFAULT_SETTINGS, ClassifierSettings, observe
from drivers.spectral.sample import SpectralSample
from radio_domain import regulatory
from radio_domain.events import EventType
from radio_domain.radio import Band

REPORT_CONFIDENCE = 0.5
"""A candidate below this is not reported as the verdict."""

BAND_RANGES_MHZ: dict[Band, tuple[float, float]] = {
    Band.G2: (2400.0, 2500.0),
    Band.G5: (5150.0, 5895.0),
    Band.G6: (5925.0, 7125.0),
}


class InterferenceKind(StrEnum):
    VIDEO_CAMERA = "video_camera"
    CONTINUOUS_WAVE = "continuous_wave"
    MICROWAVE = "microwave"
    FREQUENCY_HOPPER = "frequency_hopper"
    WIFI = "wifi"
    NONE = "none"


NON_WIFI_KINDS = frozenset(
    {
        InterferenceKind.VIDEO_CAMERA,
        InterferenceKind.CONTINUOUS_WAVE,
        InterferenceKind.MICROWAVE,
        InterferenceKind.FREQUENCY_HOPPER,
    }
)


@dataclass(frozen=True, slots=True)
class Classification:
    """A verdict on one source of energy in a capture."""

    kind: InterferenceKind
    confidence: float
    duty: float  # share of the samples that saw its frequency in which it was present
    persistence: float  # share of time windows in which it was present in at least half the samples
    bandwidth_mhz: float
    centre_mhz: float
    channel: int  # the 20 MHz channel whose centre is nearest, 0 outside the Wi-Fi bands

    @property
    def non_wifi(self) -> bool:
        return self.kind in NON_WIFI_KINDS


def _ramp(x: float, low: float, high: float) -> float:
    """0 at or below ``low``, 1 at or above ``high``, linear between."""
    return min(1.0, max(0.0, (x - low) / (high - low)))


def nearest_channel(freq_mhz: float) -> int:
    """The 20 MHz channel (of any region) whose centre is nearest ``freq_mhz``; 0 outside the bands."""
    for band, (low, high) in BAND_RANGES_MHZ.items():
        if low <= freq_mhz <= high:
            numbers = sorted({c for region in regulatory.Region for c in regulatory.channels(region, band)})
            return min(numbers, key=lambda c: abs(regulatory.center_mhz(band, c) - freq_mhz))
    return 0


def _carrier_verdict(ev: CarrierEvidence) -> Classification:
    jitter = min(_ramp(ev.jitter_mhz, 0.1, 0.25), _ramp(ev.jitter_mhz / ev.resolution_mhz, 0.25, 0.75))
    # A video sender transmits without pause and its core is a few MHz wide (1.7-2.5 MHz measured).
    camera = jitter * _ramp(ev.duty, 0.5, 0.8) * (1.0 - _ramp(ev.bandwidth_mhz, 4.0, 8.0))
    steady = (1.0 - _ramp(ev.bandwidth_mhz, 1.0, 2.0)) * (1.0 - _ramp(ev.level_spread_db, 2.0, 4.0))
    tone = (1.0 - jitter) * steady
    confirmation = 0.9 if ev.tunings_seen <= 1 else min(1.0, ev.tunings / 2)
    common = (
        (1.0 - ev.false_alarm)
        * (1.0 - 0.8 * _ramp(ev.below_stronger_db, 15.0, 25.0))
        * min(_ramp(ev.duty, 0.3, 0.6), _ramp(ev.persistence, 0.3, 0.6))
        * (1.0 - math.exp(-ev.hits / 8))
        * confirmation
    )
    kind, fit = (InterferenceKind.VIDEO_CAMERA, camera) if camera >= tone else (InterferenceKind.CONTINUOUS_WAVE, tone)
    return Classification(
        kind,
        float(common * fit),
        ev.duty,
        ev.persistence,
        ev.bandwidth_mhz,
        ev.centre_mhz,
        nearest_channel(ev.centre_mhz),
    )


def _activity_verdict(kind: InterferenceKind, ev: ActivityEvidence, confidence: float) -> Classification:
    return Classification(
        kind, float(confidence), ev.duty, 0.0, ev.bandwidth_mhz, ev.centre_mhz, nearest_channel(ev.centre_mhz)
    )


def classify_all(
    samples: Sequence[SpectralSample], settings: ClassifierSettings = DEFAULT_SETTINGS
) -> list[Classification]:
    """Every candidate source, steady carriers strongest first, then the activity patterns."""
    observations = observe(samples, settings)
    carriers = find_carriers(observations, settings)
    found = [_carrier_verdict(ev) for ev in carriers]
    oven = mains_locked_bursts(observations, settings)
    if oven is not None and BAND_RANGES_MHZ[Band.G2][0] <= oven.centre_mhz <= BAND_RANGES_MHZ[Band.G2][1]:
        found.append(_activity_verdict(InterferenceKind.MICROWAVE, oven, _ramp(oven.regularity, 0.5, 0.8)))
    hopper = hopping_peaks(observations, settings, [c.centre_mhz for c in carriers if c.duty >= 0.5])
    if hopper is not None:
        sure = _ramp(hopper.regularity, 3.0, 10.0) * _ramp(hopper.duty, 0.1, 0.3)
        found.append(_activity_verdict(InterferenceKind.FREQUENCY_HOPPER, hopper, sure))
    wifi = wideband_bursts(observations, settings)
    if wifi is not None:
        sure = _ramp(wifi.duty, 0.02, 0.2) * (1.0 - math.exp(-wifi.duty * wifi.samples / 5))
        found.append(_activity_verdict(InterferenceKind.WIFI, wifi, sure))
    return found


def verdict(candidates: Sequence[Classification]) -> Classification:
    """The first non-Wi-Fi candidate that is credible, else credible Wi-Fi, else ``none``."""
    for wanted in (True, False):
        for candidate in candidates:
            if candidate.non_wifi == wanted and candidate.confidence >= REPORT_CONFIDENCE:
                return candidate
    doubt = max((c.confidence for c in candidates), default=0.0)
    return Classification(InterferenceKind.NONE, 1.0 - doubt, 0.0, 0.0, 0.0, 0.0, 0)


def classify(samples: Sequence[SpectralSample], settings: ClassifierSettings = DEFAULT_SETTINGS) -> Classification:
    """The capture's verdict: its strongest credible non-Wi-Fi source, else Wi-Fi, else none."""
    return verdict(classify_all(samples, settings))


def non_wifi_event(classification: Classification, radio_id: str, timestamp: float) -> DriverEvent | None:
    """The ``NON_WIFI_BURST`` event a non-Wi-Fi verdict raises for a radio; None for Wi-Fi or none.

    Metadata keys follow what the agent reads (``duty_cycle``, as edge_agent.decisions and
    drivers.sim.world_events use) plus the spectral measurements.
    """
    if not classification.non_wifi:
        return None
    return DriverEvent(
        radio_id=radio_id,
        type=EventType.NON_WIFI_BURST,
        timestamp=timestamp,
        confidence=round(classification.confidence, 3),
        channel=classification.channel,
        metadata={
            "kind": classification.kind.value,
            "duty_cycle": f"{classification.duty:.2f}",
            "persistence": f"{classification.persistence:.2f}",
            "bandwidth_mhz": f"{classification.bandwidth_mhz:.2f}",
            "freq_mhz": f"{classification.centre_mhz:.2f}",
            "source": "spectral",
        },
    )
