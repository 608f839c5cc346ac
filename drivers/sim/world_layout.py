"""The fixed part of a world, computed once from the scenario: who stands where, and path losses.

Sites are the APs followed by the interferers (a neighbour BSS's AP, a microwave oven, a radar);
clients are the scenario's clients followed by the temporary clients of density spikes (one
band, DFS- and BTM-capable), which are placed at construction (uniformly within 5 m of the
spike's centre) and are present only during their spike. Path loss between sites and from sites
to clients is computed once (propagation.py, rf-model.md 1.1); shadowing is drawn once per
(site, node) pair from the world's generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from drivers.sim.propagation import (
    AP_HEIGHT_M,
    CLIENT_HEIGHT_M,
    INTERFERER_HEIGHT_M,
    NodePositions,
    WallSegments,
    geometric_loss_db,
    shadowing_db,
)
from drivers.sim.qoe import TrafficCode
from drivers.sim.scenario_model import DensitySpike, InterfererKind, Scenario, spike_client_id
from radio_domain.radio import Band
from radio_domain.slo_catalog import TrafficClass

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

BAND_CODES: dict[Band, int] = {Band.G2: 0, Band.G5: 1, Band.G6: 2}
SPIKE_RADIUS_M = 5.0
_TRAFFIC_CODES = {
    TrafficClass.BEST_EFFORT: TrafficCode.BEST_EFFORT,
    TrafficClass.VIDEO: TrafficCode.VIDEO,
    TrafficClass.VOICE: TrafficCode.VOICE,
}


@dataclass(frozen=True, slots=True)
class ClientTable:
    """Every client the world may hold, scenario clients first."""

    ids: tuple[str, ...]
    bands: BoolArray
    """(C, 3) whether each client can use each band (columns by BAND_CODES)."""
    supports_dfs: BoolArray
    supports_btm: BoolArray
    base_demand_mbps: FloatArray
    traffic: IntArray
    spike: IntArray
    """Index in scenario.events of the client's density spike, −1 for scenario clients."""
    start_s: FloatArray
    stop_s: FloatArray

    def present(self, t: float) -> BoolArray:
        return np.asarray((self.start_s <= t) & (t < self.stop_s), dtype=np.bool_)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class WorldLayout:
    n_aps: int
    site_loss_db: FloatArray
    """(S, S) geometric loss plus shadowing between sites (APs, then interferers)."""
    client_loss_db: FloatArray
    """(S, C) the same from each site to each client."""
    clients: ClientTable


def _spike_clients(
    scenario: Scenario, rng: np.random.Generator
) -> tuple[list[tuple[float, float, int]], list[tuple[str, int, DensitySpike]]]:
    points: list[tuple[float, float, int]] = []
    members: list[tuple[str, int, DensitySpike]] = []
    width, height = scenario.area_m
    for index, event in enumerate(scenario.events):
        if not isinstance(event, DensitySpike):
            continue
        radius = SPIKE_RADIUS_M * np.sqrt(rng.random(event.clients))
        angle = rng.random(event.clients) * 2.0 * np.pi
        xs = np.clip(event.x + radius * np.cos(angle), 0.0, width)
        ys = np.clip(event.y + radius * np.sin(angle), 0.0, height)
        for n in range(event.clients):
            points.append((float(xs[n]), float(ys[n]), event.floor))
            members.append((spike_client_id(index, n), index, event))
    return points, members


def build_layout(scenario: Scenario, rng: np.random.Generator) -> WorldLayout:
    """Positions, client table and path losses of a scenario (draws spike positions, then shadowing)."""
    spike_points, spike_members = _spike_clients(scenario, rng)
    aps = NodePositions.of([(a.x, a.y, a.floor) for a in scenario.aps], AP_HEIGHT_M)
    interferers = NodePositions.of([(i.x, i.y, i.floor) for i in scenario.interferers], INTERFERER_HEIGHT_M)
    sites = NodePositions(
        x=np.concatenate([aps.x, interferers.x]),
        y=np.concatenate([aps.y, interferers.y]),
        floor=np.concatenate([aps.floor, interferers.floor]),
        height_m=np.concatenate([aps.height_m, interferers.height_m]),
    )
    client_points = [(c.x, c.y, c.floor) for c in scenario.clients] + spike_points
    clients = NodePositions.of(client_points, CLIENT_HEIGHT_M)
    walls = WallSegments.of([(w.x1, w.y1, w.x2, w.y2, w.floor, w.loss_db) for w in scenario.walls])
    n_sites = len(sites)
    shadow = shadowing_db(rng, scenario.shadowing_db, n_sites, n_sites + len(clients))
    site_loss = geometric_loss_db(sites, sites, walls, scenario.floor_height_m) + shadow[:, :n_sites]
    client_loss = geometric_loss_db(sites, clients, walls, scenario.floor_height_m) + shadow[:, n_sites:]
    base = scenario.clients
    usable = [c.usable_bands for c in base] + [(m[2].band,) for m in spike_members]
    n_spike = len(spike_members)
    table = ClientTable(
        ids=tuple(c.id for c in base) + tuple(m[0] for m in spike_members),
        bands=np.array([[band in bands for band in BAND_CODES] for bands in usable], dtype=np.bool_).reshape(-1, 3),
        supports_dfs=np.array([c.supports_dfs for c in base] + [True] * n_spike, dtype=np.bool_),
        supports_btm=np.array([c.supports_btm for c in base] + [True] * n_spike, dtype=np.bool_),
        base_demand_mbps=np.array(
            [c.demand_mbps for c in base] + [m[2].demand_mbps for m in spike_members], dtype=np.float64
        ),
        traffic=np.array(
            [_TRAFFIC_CODES[c.traffic] for c in base] + [TrafficCode.BEST_EFFORT] * n_spike, dtype=np.int64
        ),
        spike=np.array([-1] * len(base) + [m[1] for m in spike_members], dtype=np.int64),
        start_s=np.array([0.0] * len(base) + [m[2].start_s for m in spike_members], dtype=np.float64),
        stop_s=np.array([np.inf] * len(base) + [m[2].stop_s for m in spike_members], dtype=np.float64),
    )
    return WorldLayout(n_aps=len(aps), site_loss_db=site_loss, client_loss_db=client_loss, clients=table)


def interferer_indices(scenario: Scenario, *kinds: InterfererKind) -> IntArray:
    """Indices in scenario.interferers of the given kinds."""
    return np.array([i for i, s in enumerate(scenario.interferers) if s.kind in kinds], dtype=np.int64)
