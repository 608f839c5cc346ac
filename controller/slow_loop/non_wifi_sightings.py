"""Non-Wi-Fi interferers the site's radios reported, as the slow loop's plan cost counts them.

A radio's ``NON_WIFI_BURST`` event (the simulator's, or the spectral-scan classifier's in
drivers/spectral) says that a source such as a video camera or a microwave oven reaches it: the
source's centre (``freq_mhz``), its occupied width (``bandwidth_mhz``; 20 MHz when not given),
its duty cycle and, where the driver measures it, the level the radio received on its own channel
(``rssi_dbm``; a spectral-scan verdict without a level is taken at the energy-detect level,
``ASSUMED_LEVEL_DBM``: strong enough to classify, and to block the medium). Without this the
heuristic plan put two radios next to dense_floor's camera onto its channel, because the graph
held Wi-Fi couplings only.

- ``NonWifiSighting`` keeps the source's estimated in-band level at the radio: the received level
  less the share of the source's spectrum that fell into the radio's channel then
  (``source_share``, by occupied MHz, with the transmit-mask leakage of spectral_overlap.py
  where they do not meet).
- ``cost(span)``, term 6 of site_plan.plan_cost, is what the source would cost the radio on a
  channel spanning ``span``: ``NON_WIFI_WEIGHT * duty * lin(level + 10 log10 share(span))``, in
  the units of the other terms (``lin`` is site_plan's linear power over -82 dBm, capped).
- ``sightings_in_force`` keeps the newest sighting of each (radio, source band) from the last
  ``memory_s`` and forgets one that the radio has checked and no longer sees: a reading taken
  after the sighting on a channel that overlaps the source shows no non-Wi-Fi energy (the
  microwave that was on for three minutes). A radio that has moved away cannot check, so a
  camera it fled stays remembered.

``NON_WIFI_WEIGHT`` 0.5 was measured with ``rrm eval slow-loop`` (heuristic, one day). On
dense_floor seeds 23 and 1-3 it beat 2 (TIP's unmanaged weight): mean QoE 0.913 against 0.905.
Against no term, over seeds 23 and 1-11, the cell edge rose (p5 client QoE 0.124 -> 0.165, higher
on 8 of 12 seeds) while the mean QoE stayed where it was (0.910 -> 0.910); small_office,
multi_floor and unplanned_office, whose microwave ovens are gone before the first plan, did not
move.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from controller.slow_loop.spectral_overlap import ADJACENT_LEAKAGE, FAR_LEAKAGE, LEAKAGE_FADE_MHZ
from radio_domain.radio import Band
from radio_domain.regulatory import Region, RegulatoryError, span_mhz

NON_WIFI_WEIGHT = 0.5
ASSUMED_LEVEL_DBM = -62.0  # energy detect: a classified source without a measured level
DEFAULT_SOURCE_WIDTH_MHZ = 20.0
MEMORY_S = 24 * 3600.0
# site_plan's linear-power scale, repeated: site_plan imports the graph, which imports this module
PREAMBLE_DETECT_DBM = -82.0
LINEAR_CAP_DBM = -52.0

Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class NonWifiSighting:
    """One non-Wi-Fi source as one radio saw it."""

    radio_id: str
    low_mhz: float
    high_mhz: float
    level_dbm: float  # estimated level of the whole source at the radio
    duty: float  # 0..1
    seen_at: float
    kind: str = ""

    def cost(self, span: Span) -> float:
        """Term 6 of plan_cost for a channel spanning ``span`` (module docstring), before activity."""
        level = self.level_dbm + 10.0 * math.log10(source_share(span, self.low_mhz, self.high_mhz))
        return NON_WIFI_WEIGHT * self.duty * _linear(level)

    def overlaps(self, span: Span) -> bool:
        return min(span[1], self.high_mhz) - max(span[0], self.low_mhz) > 0.0


def _linear(dbm: float) -> float:
    return float(10.0 ** ((min(dbm, LINEAR_CAP_DBM) - PREAMBLE_DETECT_DBM) / 10.0))


def source_share(span: Span, low_mhz: float, high_mhz: float) -> float:
    """Share of a source's power on [low, high] MHz that falls into a channel spanning ``span``."""
    overlap = min(span[1], high_mhz) - max(span[0], low_mhz)
    if overlap > 0.0:
        return max(ADJACENT_LEAKAGE, overlap / (high_mhz - low_mhz))
    share = min(1.0, -overlap / LEAKAGE_FADE_MHZ)
    return float(ADJACENT_LEAKAGE ** (1.0 - share) * FAR_LEAKAGE**share)


@dataclass(frozen=True, slots=True)
class ReportedBurst:
    """A NON_WIFI_BURST as reported: the radio, its channel then, and the event's metadata."""

    radio_id: str
    band: Band
    channel: int
    width_mhz: int
    timestamp: float
    metadata: Mapping[str, str]


class SightingError(ValueError):
    """A NON_WIFI_BURST whose metadata does not describe a source."""


def sighting_of(region: Region, burst: ReportedBurst) -> NonWifiSighting:
    """The sighting a reported burst describes; raises SightingError naming the bad field."""
    meta = burst.metadata
    centre = _number(burst, "freq_mhz", None)
    width = _number(burst, "bandwidth_mhz", DEFAULT_SOURCE_WIDTH_MHZ)
    duty = _number(burst, "duty_cycle", 1.0)
    received = _number(burst, "rssi_dbm", ASSUMED_LEVEL_DBM)
    if width <= 0.0:
        raise SightingError(f"{burst.radio_id}: NON_WIFI_BURST bandwidth_mhz {width:g} is not positive")
    if not 0.0 <= duty <= 1.0:
        raise SightingError(f"{burst.radio_id}: NON_WIFI_BURST duty_cycle {duty:g} is outside 0..1")
    low, high = centre - width / 2.0, centre + width / 2.0
    try:
        channel_span = span_mhz(region, burst.band, burst.channel, burst.width_mhz)
    except RegulatoryError as exc:
        raise SightingError(f"{burst.radio_id}: NON_WIFI_BURST on channel {burst.channel}: {exc}") from exc
    level = received - 10.0 * math.log10(source_share(channel_span, low, high))
    return NonWifiSighting(burst.radio_id, low, high, level, duty, burst.timestamp, meta.get("kind", ""))


def _number(burst: ReportedBurst, key: str, default: float | None) -> float:
    text = burst.metadata.get(key)
    if text is None or text in ("", "unknown"):
        if default is None:
            raise SightingError(f"{burst.radio_id}: NON_WIFI_BURST without {key}")
        return default
    try:
        value = float(text)
    except ValueError:
        raise SightingError(f"{burst.radio_id}: NON_WIFI_BURST {key} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SightingError(f"{burst.radio_id}: NON_WIFI_BURST {key} {text!r} is not finite")
    return value


@dataclass(frozen=True, slots=True)
class Reading:
    """One telemetry reading of a radio: when, the span it was on, the non-Wi-Fi duty it saw."""

    radio_id: str
    taken_at: float
    span: Span
    non_wifi_duty: float


def sightings_in_force(
    sightings: Iterable[NonWifiSighting],
    readings: Iterable[Reading],
    now: float,
    memory_s: float = MEMORY_S,
) -> tuple[NonWifiSighting, ...]:
    """The sightings the plan should still count (module docstring), sorted by radio and band.

    ``readings`` are the radios' readings the caller has (any order); a sighting is forgotten
    when a reading of its radio taken after it overlaps the source and shows no non-Wi-Fi energy.
    """
    newest: dict[tuple[str, float, float], NonWifiSighting] = {}
    for s in sightings:
        if now - s.seen_at > memory_s or s.seen_at > now:
            continue
        key = (s.radio_id, round(s.low_mhz, 1), round(s.high_mhz, 1))
        if key not in newest or s.seen_at >= newest[key].seen_at:
            newest[key] = s
    clear: dict[str, list[Reading]] = {}
    for r in readings:
        if r.non_wifi_duty <= 0.0:
            clear.setdefault(r.radio_id, []).append(r)
    return tuple(
        s
        for _, s in sorted(newest.items())
        if not any(r.taken_at > s.seen_at and s.overlaps(r.span) for r in clear.get(s.radio_id, ()))
    )
