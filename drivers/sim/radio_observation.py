"""What a radio reports about itself: config, channel use, clients, neighbours, non-Wi-Fi.

Neighbours are the other managed radios on the same band that are on air and heard at
≥ −85 dBm (beacons, any channel: the AP's off-channel scan), and the unmanaged neighbour BSSs heard
as strongly, reported with a BSSID-like id. Client SNR is RSSI over the thermal noise floor
(rf-model.md section 2), as an AP estimates it; retry rate and packet error rate are the link's
PER (every errored frame is retried); each client's capabilities (DFS, 6 GHz, BTM) are what it
announced when it associated. A radio that is off air (failed, in CAC) reports no channel use and
no clients; ``disassociations_total`` counts every client that left the radio since the world
started (the world counts them at each step).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from drivers.protocol import ClientObservation, NeighborObservation, RadioState
from drivers.sim.evaluation import NetworkMetrics
from drivers.sim.phy import noise_floor_dbm
from drivers.sim.scenario_model import Interferer
from drivers.sim.sim_radio import SimRadio
from drivers.sim.transmitter_table import neighbour_channel
from drivers.sim.world_layout import BAND_CODES, ClientTable
from radio_domain.radio import Band

NEIGHBOR_REPORT_DBM = -85.0


def neighbour_bssid(interferer_index: int) -> str:
    """A stable, locally administered BSSID for the unmanaged BSS at scenario.interferers[index]."""
    return f"02:5e:00:00:{(interferer_index >> 8) & 0xFF:02x}:{interferer_index & 0xFF:02x}"


def observe_radio(
    index: int,
    radios: Sequence[SimRadio],
    neighbours: Sequence[Interferer],
    neighbour_indices: Sequence[int],
    metrics: NetworkMetrics,
    clients: ClientTable,
    timestamp: float,
) -> RadioState:
    """The RadioState of radios[index] from the last evaluation."""
    radio = radios[index]
    config = radio.config
    noise = float(noise_floor_dbm(float(config.width_mhz)))
    on_air = radio.operating
    return RadioState(
        radio_id=radio.radio_id,
        timestamp=timestamp,
        config=config,
        noise_floor_dbm=noise,
        channel_utilization=float(metrics.utilisation[index]) if on_air else 0.0,
        cca_busy=float(metrics.cca_busy[index]) if on_air else 0.0,
        tx_airtime=float(metrics.airtime[index]) if on_air else 0.0,
        retry_rate=float(metrics.radio_per[index]) if on_air else 0.0,
        packet_error_rate=float(metrics.radio_per[index]) if on_air else 0.0,
        clients=_clients(index, metrics, clients, noise) if on_air else (),
        neighbors=() if radio.failed else _neighbours(index, radios, neighbours, neighbour_indices, metrics),
        non_wifi_duty=float(metrics.medium.nonwifi_duty[index]) if not radio.failed else 0.0,
        disassociations_total=radio.disassociations,
    )


def _clients(index: int, metrics: NetworkMetrics, clients: ClientTable, noise: float) -> tuple[ClientObservation, ...]:
    links, service = metrics.links, metrics.service
    g6 = BAND_CODES[Band.G6]
    return tuple(
        ClientObservation(
            client_id=clients.ids[int(c)],
            rssi_dbm=round(float(links.rssi_dbm[c]), 2),
            snr_db=round(float(links.rssi_dbm[c]) - noise, 2),
            tx_rate_mbps=float(links.rate_mbps[c]),
            throughput_mbps=round(float(service.throughput_mbps[c]), 3),
            retry_rate=round(float(links.per[c]), 4),
            qoe=round(float(metrics.qoe[c]), 4),
            supports_dfs=bool(clients.supports_dfs[c]),
            supports_6g=bool(clients.bands[c, g6]),
            supports_btm=bool(clients.supports_btm[c]),
        )
        for c in np.flatnonzero((links.serving == index) & metrics.present)
    )


def _neighbours(
    index: int,
    radios: Sequence[SimRadio],
    neighbours: Sequence[Interferer],
    neighbour_indices: Sequence[int],
    metrics: NetworkMetrics,
) -> tuple[NeighborObservation, ...]:
    tx = metrics.transmitters
    power = metrics.medium.power_dbm[index]
    heard = (tx.band == tx.band[index]) & tx.active & (power >= NEIGHBOR_REPORT_DBM)
    heard[index] = False
    out: list[NeighborObservation] = []
    for j in (int(x) for x in np.flatnonzero(heard)):
        if j < len(radios):
            s = radios[j].setting
            out.append(NeighborObservation(radios[j].radio_id, True, s.channel, s.width_mhz, round(float(power[j]), 2)))
        else:
            b = j - len(radios)
            channel, width = neighbour_channel(neighbours[b])
            out.append(
                NeighborObservation(
                    neighbour_bssid(neighbour_indices[b]), False, channel, width, round(float(power[j]), 2)
                )
            )
    return tuple(out)
