"""Downlink to each client: SINR, rate, errors, then throughput, delay and loss.

SINR (rf-model.md sections 2, 5, 7): signal from the serving radio over thermal noise at its
width plus interference. Interference is the airtime-weighted mean power (rf-model 7
recommendation) of every Wi-Fi transmitter that may be on air at the same time, times the overlap
α with the serving channel; a transmitter is excluded only when it and the serving radio defer to
each other (mutual carrier sense keeps them apart in time; otherwise they are hidden or exposed).
Non-Wi-Fi sources add their duty-weighted power times α unless the serving radio senses them
above energy detect (then it waits them out, and they cost airtime instead, see medium.py).

Errors: PER of the chosen MCS at that SINR (phy.py), combined with hidden-node collisions: a
concurrent transmitter whose own power at the client would break the chosen MCS (SIR below its
AWGN-10 % point) destroys the frames it overlaps, with probability equal to its airtime (or duty).

Service: each client needs demand/(rate·0.7·(1 − PER)) of its radio's airtime (MAC efficiency 0.7,
rf-model 6); the radio's airtime is water-filled over its clients (airtime.py). Delay is 5 ms plus
a queueing term 10 ms·u/(1 − u) (an M/M/1 shape, our model; u capped at 0.98) plus the time to
drain the client's backlog, which grows while it is served less than its demand and drains (time
constant 2 s) once it is served in full. The load u is the radio's (airtime its clients need over
the airtime it could get on its channel) while the radio keeps up; when it does not, each client
has its own queue under airtime fairness and u is the client's need over the radio's water level.
Loss for real-time traffic is the residual PER after three retries plus the share of the demand
that was not served.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drivers.sim import phy
from drivers.sim.airtime import MAC_EFFICIENCY
from drivers.sim.medium import MediumState
from drivers.sim.spectrum import from_db, to_db

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

BASE_DELAY_MS = 5.0
QUEUE_DELAY_SCALE_MS = 10.0
MAX_LOAD = 0.98
MAX_QUEUE_DELAY_MS = 2000.0
BACKLOG_DRAIN_S = 2.0
BUFFER_SECONDS = 2.0
REALTIME_RETRIES = 3


@dataclass(frozen=True, slots=True)
class ClientLinks:
    """Per-client link figures; unassociated clients have serving −1, rate 0 and NaN levels."""

    serving: IntArray
    rssi_dbm: FloatArray
    sinr_db: FloatArray
    noise_dbm: FloatArray
    mcs: IntArray
    rate_mbps: FloatArray
    per: FloatArray
    need_airtime: FloatArray


@dataclass(frozen=True, slots=True)
class ClientService:
    """What each client got over the step."""

    airtime: FloatArray
    throughput_mbps: FloatArray
    latency_ms: FloatArray
    loss: FloatArray
    backlog_mbit: FloatArray


@dataclass(frozen=True, slots=True)
class InterferenceInputs:
    """Everything a client hears besides its own radio."""

    tx_power_dbm: FloatArray
    """(C, T) each Wi-Fi transmitter at each client."""
    tx_airtime: FloatArray
    """(T,) airtime of each transmitter (the previous step's, as a weight)."""
    nonwifi_power_dbm: FloatArray
    """(C, K) each non-Wi-Fi source at each client, before α."""
    nonwifi_duty: FloatArray
    nonwifi_active: BoolArray


def downlink_links(
    serving: IntArray,
    width_mhz: FloatArray,
    medium: MediumState,
    heard: InterferenceInputs,
    demand_mbps: FloatArray,
) -> ClientLinks:
    """SINR, MCS, rate, PER and airtime need per client (module docstring)."""
    n_clients = serving.size
    assoc = serving >= 0
    s = np.where(assoc, serving, 0)
    rows = np.arange(n_clients)
    signal = heard.tx_power_dbm[rows, s]
    noise = phy.noise_floor_dbm(width_mhz[s])
    protected = medium.defers & medium.defers.T
    weight = np.where(protected, 0.0, medium.alpha) * heard.tx_airtime[None, :]
    np.fill_diagonal(weight, 0.0)
    tx_lin = from_db(heard.tx_power_dbm)
    wifi_interference = np.einsum("ct,ct->c", weight[s], tx_lin)
    nw_alpha = medium.nonwifi_alpha[s] * (~medium.senses_nonwifi[s]) * heard.nonwifi_active[None, :]
    nw_lin = from_db(heard.nonwifi_power_dbm) * nw_alpha
    nonwifi_interference = nw_lin @ heard.nonwifi_duty
    sinr = signal - to_db(from_db(noise) + wifi_interference + nonwifi_interference)
    mcs = phy.select_mcs(sinr, signal, width_mhz[s])
    rate = phy.phy_rate_mbps(mcs, width_mhz[s])
    breaking = from_db(signal - phy.SNR_PER10_DB[mcs])[:, None]
    wifi_hits = (weight[s] > 0) & (medium.alpha[s] * tx_lin >= breaking)
    nw_hits = (nw_lin >= breaking) & (nw_alpha > 0)
    clear = _no_collision(wifi_hits, heard.tx_airtime) * _no_collision(nw_hits, heard.nonwifi_duty)
    per = 1.0 - (1.0 - phy.packet_error_rate(sinr, mcs)) * clear
    goodput_per_airtime = rate * MAC_EFFICIENCY * np.maximum(1.0 - per, 0.01)
    need = np.where(assoc, demand_mbps / goodput_per_airtime, 0.0)
    nan = np.full(n_clients, np.nan)
    return ClientLinks(
        serving=serving,
        rssi_dbm=np.where(assoc, signal, nan),
        sinr_db=np.where(assoc, sinr, nan),
        noise_dbm=np.where(assoc, noise, nan),
        mcs=np.where(assoc, mcs, 0),
        rate_mbps=np.where(assoc, rate, 0.0),
        per=np.where(assoc, per, 1.0),
        need_airtime=need,
    )


def _no_collision(hits: BoolArray, busy_fraction: FloatArray) -> FloatArray:
    """Per client, Π (1 − airtime or duty) over the transmitters that would break its frames."""
    return np.asarray(np.exp(hits @ np.log1p(-np.minimum(busy_fraction, 0.999))), dtype=np.float64)


def serve_clients(
    links: ClientLinks,
    client_airtime: FloatArray,
    load: FloatArray,
    demand_mbps: FloatArray,
    backlog_mbit: FloatArray,
    dt_s: float,
) -> ClientService:
    """Throughput, delay, loss and the new backlog from each client's airtime (module docstring)."""
    assoc = links.serving >= 0
    throughput = client_airtime * links.rate_mbps * MAC_EFFICIENCY * (1.0 - links.per)
    throughput = np.where(assoc, np.minimum(throughput, demand_mbps), 0.0)
    short = np.maximum(demand_mbps - throughput, 0.0)
    satisfied = short <= 1e-6 * np.maximum(demand_mbps, 1.0)
    grown = np.minimum(backlog_mbit + short * dt_s, BUFFER_SECONDS * demand_mbps)
    backlog = np.where(satisfied, backlog_mbit * np.exp(-dt_s / BACKLOG_DRAIN_S), grown)
    u = np.minimum(load, MAX_LOAD)
    queue_ms = np.where(throughput > 0, 1000.0 * backlog / np.maximum(throughput, 1e-9), MAX_QUEUE_DELAY_MS)
    queue_ms = np.where(backlog > 0, np.minimum(queue_ms, MAX_QUEUE_DELAY_MS), 0.0)
    latency = BASE_DELAY_MS + QUEUE_DELAY_SCALE_MS * u / (1.0 - u) + queue_ms
    served_share = np.where(demand_mbps > 0, throughput / np.maximum(demand_mbps, 1e-9), 1.0)
    loss = 1.0 - (1.0 - links.per ** (REALTIME_RETRIES + 1)) * served_share
    return ClientService(
        airtime=np.where(assoc, client_airtime, 0.0),
        throughput_mbps=throughput,
        latency_ms=np.where(assoc, latency, MAX_QUEUE_DELAY_MS),
        loss=np.where(assoc, loss, 1.0),
        backlog_mbit=np.where(assoc, backlog, 0.0),
    )
