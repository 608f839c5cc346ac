"""The non-Wi-Fi sources the slow loop's graph counts, from what the agents sent.

Each NON_WIFI_BURST event of the last ``MEMORY_S`` (stored in ingest.db with the driver's
metadata: kind, centre, width, duty, level) becomes a sighting on the channel the event names,
at the radio's width in its newest sample (events carry no width; on 2.4 GHz it is 20 MHz
anyway). The radio's samples since the sighting then say whether it still sees the source
(controller/slow_loop/non_wifi_sightings.py); each agent's samples are read once, from its
oldest sighting. An event whose metadata describes no source is
logged and left out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from controller.network_view import NetworkView
from controller.slow_loop.non_wifi_sightings import (
    MEMORY_S,
    NonWifiSighting,
    Reading,
    ReportedBurst,
    SightingError,
    sighting_of,
    sightings_in_force,
)
from radio_domain.regulatory import Region, RegulatoryError, span_mhz
from rrm.v1 import agent_link_pb2 as pb
from rrm.wire_codec import band_from_pb, config_from_pb

log = logging.getLogger(__name__)


def non_wifi_in_force(
    view: NetworkView, hellos: Mapping[str, pb.Hello], region: Region, now: float, memory_s: float = MEMORY_S
) -> tuple[NonWifiSighting, ...]:
    """The sightings still in force at ``now`` (module docstring)."""
    radios = {d.radio_id: (agent_id, d) for agent_id, hello in hellos.items() for d in hello.radios}
    latest = {r: s for agent_id in hellos for r, s in view.latest_samples(agent_id, now).items()}
    found: list[NonWifiSighting] = []
    for event in view.events_of_type("NON_WIFI_BURST", now - memory_s):
        known = radios.get(event.radio_id)
        if known is None:
            continue
        descriptor = known[1]
        sample = latest.get(event.radio_id)
        config = config_from_pb(sample.config if sample is not None else descriptor.config)
        burst = ReportedBurst(
            event.radio_id,
            band_from_pb(descriptor.band),
            event.channel or config.channel,
            config.width_mhz,
            event.timestamp_ms / 1000.0,
            dict(event.metadata),
        )
        try:
            found.append(sighting_of(region, burst))
        except SightingError as exc:
            log.warning("non-Wi-Fi event %s not counted: %s", event.event_id, exc)
    if not found:
        return ()
    readings: list[Reading] = []
    oldest: dict[str, float] = {}  # agent -> its oldest sighting: one read of its samples
    for s in found:
        agent_id = radios[s.radio_id][0]
        oldest[agent_id] = min(oldest.get(agent_id, s.seen_at), s.seen_at)
    sighted = {s.radio_id for s in found}
    for agent_id, since in sorted(oldest.items()):
        for sample in view.samples(agent_id, since, now):
            if sample.radio_id not in sighted:
                continue
            config = config_from_pb(sample.config)
            if not config.enabled:
                continue
            band = band_from_pb(radios[sample.radio_id][1].band)
            try:
                span = span_mhz(region, band, config.channel, config.width_mhz)
            except RegulatoryError:
                continue
            readings.append(Reading(sample.radio_id, sample.timestamp_ms / 1000.0, span, sample.non_wifi_duty))
    return sightings_in_force(found, readings, now, memory_s)
