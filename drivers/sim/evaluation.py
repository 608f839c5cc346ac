"""One evaluation of the network: association, medium, airtime, service and QoE, all vectorised.

Pipeline (each stage in its own module): the medium (who hears whom, non-Wi-Fi, medium.py) ->
association over each client's bands (association.py) -> downlink SINR, MCS, PER and airtime need per client
(downlink.py, using the previous evaluation's airtimes as interference weights) -> airtime
shares over the contention graph (airtime.py) -> water-filling inside each BSS -> throughput,
delay, loss (downlink.py) -> QoE (qoe.py).

Pure: inputs in, metrics out; the world keeps the previous airtimes, associations and backlogs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drivers.sim.airtime import BEACON_AIRTIME, share_airtime, water_fill
from drivers.sim.association import associate, band_preference_db
from drivers.sim.downlink import ClientLinks, ClientService, InterferenceInputs, downlink_links, serve_clients
from drivers.sim.medium import MediumState, NonWifiSources, Transmitters, assess_medium
from drivers.sim.propagation import frequency_term_db
from drivers.sim.qoe import client_qoe
from radio_domain.slo_catalog import DEFAULT_SLO, SloCatalog

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class NetworkInputs:
    tx: Transmitters
    sources: NonWifiSources
    alpha: FloatArray
    """Spectral overlap between transmitters (medium.spectral_overlap), cached by the caller."""
    site_loss_db: FloatArray
    client_loss_db: FloatArray
    client_bands: BoolArray
    """(C, 3) the bands each client can use (world_layout.BAND_CODES columns)."""
    client_dfs: BoolArray
    """(C,) whether each client may use DFS channels."""
    radio_dfs: BoolArray
    """(R,) whether each radio's occupied channels need DFS."""
    pinned: IntArray
    """(C,) each client's steering target, −1 for none (association.py)."""
    client_present: BoolArray
    client_traffic: IntArray
    demand_mbps: FloatArray
    slo: SloCatalog = DEFAULT_SLO
    """What each traffic class needs (radio_domain/slo_catalog.py): QoE is computed against it."""


@dataclass(frozen=True, slots=True)
class NetworkMetrics:
    transmitters: Transmitters
    medium: MediumState
    links: ClientLinks
    service: ClientService
    qoe: FloatArray
    present: BoolArray
    airtime: FloatArray
    """(T,) airtime of every transmitter (radios, then neighbour BSSs)."""
    cca_busy: FloatArray
    utilisation: FloatArray
    radio_per: FloatArray
    """(R,) airtime-weighted PER over each radio's clients."""


def received_at_clients(
    power_dbm: FloatArray, site: IntArray, freq_mhz: FloatArray, client_loss_db: FloatArray
) -> FloatArray:
    """(C, N) power of each emitter at each client (rf-model 1.1)."""
    return np.asarray(
        power_dbm[None, :] - frequency_term_db(freq_mhz)[None, :] - client_loss_db[site].T, dtype=np.float64
    )


def evaluate_network(
    inputs: NetworkInputs,
    previous_serving: IntArray,
    previous_airtime: FloatArray,
    backlog_mbit: FloatArray,
    dt_s: float,
) -> NetworkMetrics:
    """Everything the world reports for one instant (module docstring)."""
    tx = inputs.tx
    medium = assess_medium(tx, inputs.sources, inputs.site_loss_db, inputs.alpha)
    at_clients = received_at_clients(tx.tx_dbm, tx.site, tx.centre_mhz, inputs.client_loss_db)
    serving = _associate(inputs, at_clients[:, : tx.n_radios], previous_serving)
    sources = inputs.sources
    heard = InterferenceInputs(
        tx_power_dbm=at_clients,
        tx_airtime=previous_airtime,
        nonwifi_power_dbm=received_at_clients(
            sources.power_dbm, sources.site, sources.centre_mhz, inputs.client_loss_db
        ),
        nonwifi_duty=sources.duty,
        nonwifi_active=sources.active,
    )
    links = downlink_links(serving, tx.width_mhz, medium, heard, inputs.demand_mbps)
    need = _airtime_need(tx, links)
    shares = share_airtime(need, medium.avail, medium.defers, _fixed_airtime(tx))
    airtime = np.where(tx.active, shares.airtime, 0.0)
    busy = np.minimum(1.0, medium.defers.astype(np.float64) @ airtime + (1.0 - medium.avail))
    client_airtime, client_load = _split_within_bss(tx, links, need, airtime, shares.capacity)
    service = serve_clients(links, client_airtime, client_load, inputs.demand_mbps, backlog_mbit, dt_s)
    assoc = serving >= 0
    return NetworkMetrics(
        transmitters=tx,
        medium=medium,
        links=links,
        service=service,
        qoe=client_qoe(
            inputs.client_traffic,
            assoc,
            service.throughput_mbps,
            inputs.demand_mbps,
            service.loss,
            service.latency_ms,
            inputs.slo,
        ),
        present=inputs.client_present,
        airtime=airtime,
        cca_busy=busy,
        utilisation=np.minimum(1.0, airtime + busy),
        radio_per=_per_radio(serving, links.per, client_airtime, tx.n_radios),
    )


def _associate(inputs: NetworkInputs, rssi_dbm: FloatArray, previous_serving: IntArray) -> IntArray:
    """Association over every band a client can use, DFS-incapable clients off DFS radios."""
    tx = inputs.tx
    radio_band = tx.band[: tx.n_radios]
    usable = (
        inputs.client_bands[:, radio_band]
        & tx.active[None, : tx.n_radios]
        & inputs.client_present[:, None]
        & (inputs.client_dfs[:, None] | ~inputs.radio_dfs[None, :])
    )
    multi_band = inputs.client_bands.sum(axis=1) > 1
    bonus = band_preference_db(rssi_dbm, radio_band, multi_band)
    return associate(rssi_dbm, usable, previous_serving, bonus, inputs.pinned)


def _airtime_need(tx: Transmitters, links: ClientLinks) -> FloatArray:
    """Per transmitter: its clients' airtime needs plus beacons (radios), 0 for unmanaged BSSs."""
    assoc = links.serving >= 0
    radio_need = np.bincount(links.serving[assoc], weights=links.need_airtime[assoc], minlength=tx.n_radios)
    radio_need = radio_need + BEACON_AIRTIME * tx.active[: tx.n_radios]
    return np.concatenate([radio_need, np.zeros(len(tx) - tx.n_radios)])


def _fixed_airtime(tx: Transmitters) -> FloatArray:
    """NaN for radios; an unmanaged BSS's duty cycle while it is on air, else 0."""
    return np.asarray(
        np.where(np.isnan(tx.fixed_airtime), np.nan, np.where(tx.active, tx.fixed_airtime, 0.0)), dtype=np.float64
    )


def _split_within_bss(
    tx: Transmitters, links: ClientLinks, need: FloatArray, airtime: FloatArray, capacity: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(airtime, load) per client: the radio's airtime water-filled over its clients, and the queue load.

    The load is the radio's need over its capacity while the radio keeps up, else the client's own
    need over the radio's water level (per-station queues under airtime fairness; downlink.py).
    """
    n = tx.n_radios
    budget = np.maximum(airtime[:n] - BEACON_AIRTIME * tx.active[:n], 0.0)
    filled = water_fill(links.serving, links.need_airtime, budget)
    assoc = links.serving >= 0
    s = np.where(assoc, links.serving, 0)
    radio_load = np.where(capacity[:n] > 0, need[:n] / np.maximum(capacity[:n], 1e-12), np.inf)
    own_load = np.where(assoc, links.need_airtime / np.maximum(filled.level[s], 1e-12), 0.0)
    return filled.allocation, np.asarray(np.minimum(radio_load[s], own_load), dtype=np.float64)


def _per_radio(serving: IntArray, per: FloatArray, client_airtime: FloatArray, n_radios: int) -> FloatArray:
    """Airtime-weighted PER over each radio's clients (0 for radios without traffic)."""
    assoc = serving >= 0
    weight = np.bincount(serving[assoc], weights=client_airtime[assoc], minlength=n_radios)
    errors = np.bincount(serving[assoc], weights=(client_airtime * per)[assoc], minlength=n_radios)
    return np.asarray(np.where(weight > 0, errors / np.maximum(weight, 1e-12), 0.0), dtype=np.float64)
