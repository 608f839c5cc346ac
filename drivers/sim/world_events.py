"""Building the events the world reports, and spotting the ones that come from metrics.

Every event carries the radio id, timestamp epoch + time, its type, a confidence, the radio's
primary channel and its config after the event. NON_WIFI_BURST fires when a non-Wi-Fi source
starts reaching a radio at ≥ −82 dBm in its channel (after α, rf-model.md 5 and 7), including when
the radio moves onto an affected channel; its confidence grows from 0.5 at the threshold to 0.99
at 20 dB above; its metadata names the source's kind, duty cycle, centre and width, and the level
received in the radio's channel (as drivers/spectral's classifier names what it measures).
DENSITY_SPIKE fires for a radio that gained at least five spike clients in a step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from drivers.protocol import DriverEvent
from drivers.sim.medium import NON_WIFI_DETECT_DBM, MediumState
from drivers.sim.scenario_model import Interferer
from drivers.sim.sim_radio import SimRadio
from radio_domain.events import EventType

SPIKE_MIN_CLIENTS = 5


class EventFactory:
    """Stamps events with the world's timestamp, epoch + ``time`` (the world keeps ``time`` current)."""

    def __init__(self, epoch: float) -> None:
        self.epoch = epoch
        self.time = 0.0

    def make(
        self,
        radio: SimRadio,
        kind: EventType,
        *,
        confidence: float = 1.0,
        metadata: Mapping[str, str] | None = None,
    ) -> DriverEvent:
        return DriverEvent(
            radio_id=radio.radio_id,
            type=kind,
            timestamp=self.epoch + self.time,
            confidence=confidence,
            channel=radio.setting.channel,
            config=radio.config,
            metadata=dict(metadata or {}),
        )


def burst_confidence(level_dbm: float) -> float:
    """0.5 at the detection threshold, rising linearly to 0.99 at 20 dB above it."""
    return float(np.clip(0.5 + 0.49 * (level_dbm - NON_WIFI_DETECT_DBM) / 20.0, 0.5, 0.99))


def burst_events(
    factory: EventFactory,
    radios: Sequence[SimRadio],
    sources: Sequence[Interferer],
    started: NDArray[np.bool_],
    medium: MediumState,
) -> list[DriverEvent]:
    """NON_WIFI_BURST for each (radio, source) pair in ``started`` (radios x sources)."""
    events: list[DriverEvent] = []
    for r, k in zip(*np.nonzero(started), strict=True):
        source = sources[int(k)]
        level = float(medium.nonwifi_dbm[r, k])
        events.append(
            factory.make(
                radios[int(r)],
                EventType.NON_WIFI_BURST,
                confidence=burst_confidence(level),
                metadata={
                    "kind": source.kind.value,
                    "duty_cycle": f"{source.duty_cycle:g}",
                    "freq_mhz": f"{source.freq_mhz:g}",
                    "bandwidth_mhz": f"{source.bandwidth_mhz:g}",
                    "rssi_dbm": f"{level:.1f}",
                },
            )
        )
    return events


def spike_events(
    factory: EventFactory, radios: Sequence[SimRadio], gained: NDArray[np.int64], counts: NDArray[np.int64]
) -> list[DriverEvent]:
    """DENSITY_SPIKE for every radio that gained at least SPIKE_MIN_CLIENTS spike clients."""
    return [
        factory.make(
            radios[int(r)],
            EventType.DENSITY_SPIKE,
            confidence=float(min(0.99, 0.5 + gained[r] / 40.0)),
            metadata={"clients_gained": str(int(gained[r])), "spike_clients": str(int(counts[r]))},
        )
        for r in np.flatnonzero(gained >= SPIKE_MIN_CLIENTS)
    ]
