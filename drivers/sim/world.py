"""The simulated radio world: a seeded, deterministic building full of APs, clients and interferers.

Pure: no asyncio, no wall clock. World time ``t`` (seconds since start) maps to timestamps
``epoch + t``. ``step(dt)`` advances time, runs what the scenario schedules (radio failures,
density spikes, interferers, radar), finishes CACs, re-associates clients, counts the clients
that left each radio, and recomputes every metric (evaluation.py). ``apply`` changes a radio
like a real AP would (sim_radio.py, dfs.py); ``steer_client`` sends an 802.11v BSS transition
request (steering.py); ``trigger_radar`` makes a radio detect radar now (world_happenings.py).

Between steps the world's clients stay where the last step put them: a config change, a steer or
a radar move takes effect on the clients at the next ``step``, and so do the disassociations it
causes. Events that happen between steps (apply's CAC_STARTED, trigger_radar's events) are
returned by the next ``step`` along with that step's own, so the runner hands them to drivers.

Determinism: every random draw (shadowing, spike positions, demand noise, radar landing
channels, clients' answers to steering) comes from one numpy Generator seeded with the scenario
seed, so the same scenario and the same sequence of apply, steer_client, trigger_radar and step
calls give identical states.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

import numpy as np

from drivers.protocol import (
    ApplyResult,
    CapabilityRefused,
    ChangeRejected,
    DriverEvent,
    DriverUnavailable,
    RadioInfo,
    RadioState,
    SteeringOutcome,
)
from drivers.sim.association import IntArray, departures
from drivers.sim.evaluation import NetworkInputs, NetworkMetrics, evaluate_network
from drivers.sim.medium import spectral_overlap
from drivers.sim.radio_observation import observe_radio
from drivers.sim.scenario_model import InterfererKind, Scenario
from drivers.sim.sim_radio import SimRadio, check_target, radio_capabilities
from drivers.sim.steering import STEERING_PIN_S, SteeringPins, answer_btm_request
from drivers.sim.transmitter_table import non_wifi_sources, radios_on_dfs, transmitters
from drivers.sim.world_events import EventFactory, burst_events, spike_events
from drivers.sim.world_happenings import ScheduledHappenings, enter_channel
from drivers.sim.world_layout import build_layout, interferer_indices
from radio_domain import regulatory
from radio_domain.radio import Band, ConfigChange, RadioConfig, make_radio_id
from radio_domain.slo_catalog import DEFAULT_SLO, SloCatalog


@dataclass(frozen=True, slots=True)
class ClientLink:
    """One present client's link as the world computed it at the last step."""

    client_id: str
    radio_id: str | None
    rssi_dbm: float
    sinr_db: float
    mcs: int
    phy_rate_mbps: float
    packet_error_rate: float
    airtime: float
    throughput_mbps: float
    demand_mbps: float
    latency_ms: float
    qoe: float


class SimWorld:
    """A scenario brought to life (module docstring)."""

    def __init__(self, scenario: Scenario, epoch: float = 1_700_000_000.0, slo: SloCatalog = DEFAULT_SLO) -> None:
        self.scenario = scenario
        self.slo = slo  # what clients' QoE is computed against; an operator may change it at any time
        self.region = scenario.region
        self.epoch = epoch
        self.time = 0.0
        self._rng = np.random.default_rng(scenario.seed)
        self._layout = build_layout(scenario, self._rng)
        self._radios: list[SimRadio] = []
        for ap_index, ap in enumerate(scenario.aps):
            for setup in ap.radios:
                radio = SimRadio(
                    radio_id=make_radio_id(ap.id, setup.band),
                    ap_id=ap.id,
                    ap_index=ap_index,
                    band=setup.band,
                    setting=RadioConfig(setup.channel, setup.width_mhz, setup.tx_power_dbm, setup.obss_pd_dbm),
                )
                radio.dfs.mark_cleared(radio.group(self.region))  # in service when the scenario starts
                self._radios.append(radio)
        self._index = {r.radio_id: i for i, r in enumerate(self._radios)}
        n_aps = self._layout.n_aps
        self._neighbour_ix = [int(i) for i in interferer_indices(scenario, InterfererKind.NEIGHBOR_BSS)]
        self._source_ix = [
            int(i) for i in interferer_indices(scenario, InterfererKind.MICROWAVE, InterfererKind.VIDEO_CAMERA)
        ]
        self._neighbour_sites = [n_aps + i for i in self._neighbour_ix]
        self._source_sites = [n_aps + i for i in self._source_ix]
        self._events = EventFactory(epoch)
        self._happenings = ScheduledHappenings(
            scenario, self._radios, self._layout.site_loss_db, n_aps, self._rng, self._events
        )
        self._pending: list[DriverEvent] = []
        n_clients = len(self._layout.clients)
        self._client_index = {cid: i for i, cid in enumerate(self._layout.clients.ids)}
        self._demand = self._layout.clients.base_demand_mbps.copy()
        self._serving = np.full(n_clients, -1, dtype=np.int64)
        self._airtime = np.zeros(len(self._radios) + len(self._neighbour_ix))
        self._backlog = np.zeros(n_clients)
        self._pins = SteeringPins.none(n_clients)
        self._alpha_key = b""
        self._alpha = np.zeros((0, 0))
        unpinned = self._pins.active(0.0)
        self._metrics = self._evaluate(0.0, unpinned)
        self._metrics = self._evaluate(0.0, unpinned)  # a second pass settles the interference weights
        self._affecting = np.zeros((len(self._radios), len(self._source_ix)), dtype=np.bool_)
        self._spike_counts = self._count_spike_clients()

    # ----- queries ---------------------------------------------------------------------------

    @property
    def timestamp(self) -> float:
        return self.epoch + self.time

    def ap_ids(self) -> list[str]:
        return [ap.id for ap in self.scenario.aps]

    def radio_ids(self) -> list[str]:
        return [r.radio_id for r in self._radios]

    def radios(self, ap_ids: Collection[str] | None = None) -> list[RadioInfo]:
        """The radios of the given APs (all when None), with their capabilities."""
        return [
            RadioInfo(r.radio_id, r.ap_id, r.band, radio_capabilities(self.region, r.band))
            for r in self._radios
            if ap_ids is None or r.ap_id in ap_ids
        ]

    def radio(self, radio_id: str) -> SimRadio:
        """The radio's internal state (settings, CAC, DFS memory), for inspection; raises
        DriverUnavailable for an unknown id. Change radios through ``apply`` only."""
        index = self._index.get(radio_id)
        if index is None:
            raise DriverUnavailable(radio_id, "lookup", "no such radio in this world")
        return self._radios[index]

    def config(self, radio_id: str) -> RadioConfig:
        return self.radio(radio_id).config

    def non_occupancy(self, radio_id: str) -> dict[int, float]:
        """The radio's channels still in their non-occupancy period, with the timestamp it ends."""
        memory = self.radio(radio_id).dfs
        return {c: self.epoch + until for c, until in sorted(memory.nop_until.items()) if until > self.time}

    def radio_state(self, radio_id: str) -> RadioState:
        """Configuration and telemetry of a radio as of the last step."""
        index = self._index.get(radio_id)
        if index is None:
            raise DriverUnavailable(radio_id, "state", "no such radio in this world")
        neighbours = [self.scenario.interferers[i] for i in self._neighbour_ix]
        return observe_radio(
            index, self._radios, neighbours, self._neighbour_ix, self._metrics, self._layout.clients, self.timestamp
        )

    def client_qoe(self) -> dict[str, float]:
        """QoE in [0, 1] of every present client."""
        ids = self._layout.clients.ids
        return {ids[i]: float(self._metrics.qoe[i]) for i in np.flatnonzero(self._metrics.present)}

    def radio_client_qoe(self) -> dict[str, tuple[float, int]]:
        """Per radio serving present clients: (the sum of their QoE, how many they are)."""
        m = self._metrics
        present = np.flatnonzero(m.present)
        serving = m.links.serving[present]
        served = serving >= 0
        totals = np.bincount(serving[served], weights=m.qoe[present][served], minlength=len(self._radios))
        counts = np.bincount(serving[served], minlength=len(self._radios))
        return {self._radios[i].radio_id: (float(totals[i]), int(counts[i])) for i in np.flatnonzero(counts)}

    def network_qoe(self) -> float:
        """Mean QoE over present clients (1.0 when there are none)."""
        values = self._metrics.qoe[self._metrics.present]
        return float(values.mean()) if values.size else 1.0

    def qoe_percentile(self, q: float) -> float:
        """The q-th percentile (0-100) of present clients' QoE, e.g. 5 for the cell edge."""
        values = self._metrics.qoe[self._metrics.present]
        return float(np.percentile(values, q)) if values.size else 1.0

    def client_link(self, client_id: str) -> ClientLink:
        """Link figures of one present client; raises KeyError for an unknown or absent client."""
        i = self._client_index.get(client_id)
        if i is None or not self._metrics.present[i]:
            raise KeyError(f"no present client {client_id!r}")
        m = self._metrics
        serving = int(m.links.serving[i])
        return ClientLink(
            client_id=client_id,
            radio_id=self._radios[serving].radio_id if serving >= 0 else None,
            rssi_dbm=float(m.links.rssi_dbm[i]),
            sinr_db=float(m.links.sinr_db[i]),
            mcs=int(m.links.mcs[i]),
            phy_rate_mbps=float(m.links.rate_mbps[i]),
            packet_error_rate=float(m.links.per[i]),
            airtime=float(m.service.airtime[i]),
            throughput_mbps=float(m.service.throughput_mbps[i]),
            demand_mbps=float(self._demand[i]),
            latency_ms=float(m.service.latency_ms[i]),
            qoe=float(m.qoe[i]),
        )

    def fork(self) -> SimWorld:
        """An independent copy to try hypothetical changes on (STYLE.md point 2)."""
        return copy.deepcopy(self)

    # ----- actions ---------------------------------------------------------------------------

    def set_fallback_channels(self, radio_id: str, channels: Sequence[int]) -> None:
        """Where the radio goes when radar hits, best first (hostapd's ``chanlist``; dfs.py).

        Raises CapabilityRefused on a radio that is not 5 GHz (no radar, no list),
        ChangeRejected for a channel that is not legal on the band in the region (nothing changes).
        """
        radio = self.radio(radio_id)
        if radio.band is not Band.G5:
            raise CapabilityRefused(radio_id, "set fallback channels", "only a 5 GHz radio has a radar fallback list")
        wanted = tuple(int(c) for c in channels)
        illegal = [c for c in wanted if c not in regulatory.channels(self.region, radio.band)]
        if illegal:
            raise ChangeRejected(
                radio_id,
                "set fallback channels",
                f"channels {illegal} are not legal 5g channels in {self.region.value}",
            )
        radio.fallback = wanted

    def steer_client(self, radio_id: str, client_id: str, target_radio_id: str) -> SteeringOutcome:
        """Ask a client of ``radio_id`` to roam to ``target_radio_id`` (802.11v BTM, steering.py).

        A client that answers MOVED roams at the next step and is pinned there for 120 s.

        Raises:
            DriverUnavailable: ``radio_id`` is unknown or has failed.
            ChangeRejected: the client is not associated with ``radio_id`` (as of the last step),
                or the target is ``radio_id`` itself or does not exist; each names the client.
        """
        radio = self.radio(radio_id)
        if radio.failed:
            raise DriverUnavailable(radio_id, "steer", "the radio has failed and does not answer")
        i = self._client_index.get(client_id)
        source = self._index[radio_id]
        if i is None or not radio.operating or int(self._metrics.links.serving[i]) != source:
            raise ChangeRejected(radio_id, "steer", f"client {client_id!r} is not associated with this radio")
        target = self._index.get(target_radio_id)
        if target is None or target == source:
            why = "does not exist" if target is None else "is the radio it is on"
            raise ChangeRejected(radio_id, "steer", f"client {client_id!r}: target radio {target_radio_id!r} {why}")
        loss = float(self._layout.client_loss_db[self._radios[target].ap_index, i])
        outcome = answer_btm_request(self.region, i, self._layout.clients, self._radios[target], loss, self._rng)
        if outcome is SteeringOutcome.MOVED:
            self._pins.pin(i, target, self.time + STEERING_PIN_S)
        return outcome

    def trigger_radar(self, radio_id: str) -> list[DriverEvent]:
        """Radar detected now on the radio's channel (mac80211_hwsim's ``dfs_simulate_radar``).

        Runs the scenario radar's path (world_happenings.py): NOP, DFS_RADAR, the AP's own move to
        its fallback list or a random non-DFS channel, CHANNEL_SWITCHED, CAC_STARTED if it lands
        on an uncleared DFS channel. Returns those events; the next ``step`` returns them again
        with its own, so a WorldRunner publishes them to the drivers.

        Raises:
            DriverUnavailable: unknown or failed radio.
            ChangeRejected: the radio is not on a DFS channel.
        """
        events = self._happenings.simulated_radar(self.radio(radio_id), self.time)
        self._pending += events
        return events

    def apply(self, radio_id: str, change: ConfigChange) -> ApplyResult:
        """Change a radio like a real AP would; raises the typed refusals of drivers.protocol."""
        radio = self.radio(radio_id)
        before = radio.config
        target = change.apply_to(radio.setting)
        target = replace(target, tx_power_dbm=float(target.tx_power_dbm))
        if radio.failed:
            raise DriverUnavailable(radio_id, "apply", "the radio has failed and does not answer")
        if target == radio.setting:
            return ApplyResult(radio_id, before, before)
        check_target(radio, self.region, target, self.time)
        moved = (target.channel, target.width_mhz) != (radio.setting.channel, radio.setting.width_mhz)
        radio.setting = target
        if moved:
            self._pending += enter_channel(radio, self.region, self.time, self._events, "apply")
        return ApplyResult(radio_id, before, radio.config)

    def step(self, dt: float) -> list[DriverEvent]:
        """Advance ``dt`` seconds; return every event that happened (including those apply caused)."""
        if dt < 0:
            raise ValueError(f"cannot step back in time (dt={dt})")
        t0 = self.time
        self.time = t0 + dt
        self._events.time = self.time
        events, self._pending = self._pending, []
        events += self._happenings.failures(t0, self.time)
        events += self._happenings.radar(t0, self.time)
        events += self._happenings.cac_completions(self.time)
        self._vary_demand()
        before = self._serving
        self._metrics = self._evaluate(dt, self._pins.active(t0))  # the pins that held when the step began
        self._count_departures(before, self._metrics.links.serving)
        affecting = self._metrics.medium.detects_nonwifi[: len(self._radios)] & self._operating()[:, None]
        sources = [self.scenario.interferers[i] for i in self._source_ix]
        events += burst_events(self._events, self._radios, sources, affecting & ~self._affecting, self._metrics.medium)
        self._affecting = affecting
        counts = self._count_spike_clients()
        events += spike_events(self._events, self._radios, counts - self._spike_counts, counts)
        self._spike_counts = counts
        return events

    # ----- internals ---------------------------------------------------------------------------

    def _operating(self) -> np.ndarray[tuple[int], np.dtype[np.bool_]]:
        return np.array([r.operating for r in self._radios], dtype=np.bool_)

    def _vary_demand(self) -> None:
        sigma = self.scenario.demand_variation
        base = self._layout.clients.base_demand_mbps
        if sigma > 0.0 and base.size:
            noise = self._rng.normal(0.0, sigma, base.size)
            self._demand = base * np.exp(noise - 0.5 * sigma * sigma)

    def _count_departures(self, before: IntArray, after: IntArray) -> None:
        """Add the clients that left each radio to its counter; drop the pins that are done."""
        left = departures(before, after, len(self._radios))
        for r in np.flatnonzero(left):
            self._radios[int(r)].disassociations += int(left[r])
        self._pins.settle(after, self.time)

    def _count_spike_clients(self) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
        spike = (self._layout.clients.spike >= 0) & (self._metrics.links.serving >= 0)
        serving = self._metrics.links.serving[spike]
        return np.bincount(serving, minlength=len(self._radios)).astype(np.int64)

    def _evaluate(self, dt: float, pinned: IntArray) -> NetworkMetrics:
        neighbours = [self.scenario.interferers[i] for i in self._neighbour_ix]
        tx = transmitters(self.region, self._radios, neighbours, self._neighbour_sites, self.time)
        key = tx.primary_mhz.tobytes() + tx.width_mhz.tobytes() + tx.low_mhz.tobytes()
        if key != self._alpha_key:
            self._alpha, self._alpha_key = spectral_overlap(tx), key
        sources = non_wifi_sources(
            [self.scenario.interferers[i] for i in self._source_ix], self._source_sites, self.time
        )
        clients = self._layout.clients
        inputs = NetworkInputs(
            tx=tx,
            sources=sources,
            alpha=self._alpha,
            site_loss_db=self._layout.site_loss_db,
            client_loss_db=self._layout.client_loss_db,
            client_bands=clients.bands,
            client_dfs=clients.supports_dfs,
            radio_dfs=radios_on_dfs(self.region, self._radios),
            pinned=pinned,
            client_present=clients.present(self.time),
            client_traffic=clients.traffic,
            demand_mbps=self._demand,
            slo=self.slo,
        )
        metrics = evaluate_network(inputs, self._serving, self._airtime, self._backlog, dt)
        self._serving = metrics.links.serving
        self._airtime = metrics.airtime
        self._backlog = metrics.service.backlog_mbit
        return metrics
