"""The interference graph of a site: managed radios as nodes, measured coupling as edges.

Built from what the radios report (drivers.protocol): each radio's neighbour observations
(off-channel scans and neighbour reports) give the RSSI at which it hears other BSSs. A managed
neighbour on the same band becomes a ``Coupling`` between the two radios, with the stronger of
the two directions (a radio heard only one way still couples: one side's scan may have missed
the other); an unmanaged BSS becomes an ``ExternalBss`` seen by the radio that heard it. Client
count and airtime load are node features, radar history and non-occupancy timers DFS features,
and the non-Wi-Fi sources the radios reported are kept per radio (non_wifi_sightings.py).

Each coupling also keeps an estimate of the path loss between the two radios (transmitter's
configured power minus the RSSI heard), so a plan that changes power can be costed without new
measurements (site_plan.plan_cost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from controller.slow_loop.non_wifi_sightings import NonWifiSighting
from drivers.protocol import RadioCapabilities, RadioInfo, RadioState
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

DEFAULT_MIN_RSSI_DBM = -85.0


@dataclass(frozen=True, slots=True)
class RadioNode:
    """One managed radio with what the planners need to know about it."""

    radio_id: str
    ap_id: str
    band: Band
    capabilities: RadioCapabilities
    config: RadioConfig
    clients: int
    utilisation: float  # 0..1 airtime load of the radio's own BSS
    radar_channels: frozenset[int]  # 20 MHz channels where radar was seen recently
    non_occupancy: Mapping[int, float]  # 20 MHz channel -> timestamp its NOP ends
    clients_without_dfs: int = 0  # associated clients that announced no DFS support
    cleared_channels: frozenset[int] = frozenset()  # DFS channels already cleared by a CAC


@dataclass(frozen=True, slots=True)
class Coupling:
    """Two managed radios of one band that hear each other (``a < b``)."""

    a: str
    b: str
    rssi_dbm: float  # the stronger of the two directions heard
    path_loss_db: float | None = None  # transmitter power minus RSSI, the smaller over the directions


@dataclass(frozen=True, slots=True)
class ExternalBss:
    """An unmanaged BSS heard by one of our radios."""

    heard_by: str
    channel: int
    width_mhz: int
    rssi_dbm: float


@dataclass(frozen=True, slots=True)
class InterferenceGraph:
    region: Region
    nodes: Mapping[str, RadioNode]
    couplings: tuple[Coupling, ...]
    external: tuple[ExternalBss, ...]
    non_wifi: tuple[NonWifiSighting, ...] = ()
    _adjacent: Mapping[str, tuple[tuple[str, float], ...]] = field(default_factory=dict, compare=False, repr=False)
    _path_loss: Mapping[tuple[str, str], float] = field(default_factory=dict, compare=False, repr=False)
    _non_wifi_by_radio: Mapping[str, tuple[NonWifiSighting, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_adjacent", _adjacency(self.nodes, self.couplings))
        losses = {(c.a, c.b): c.path_loss_db for c in self.couplings if c.path_loss_db is not None}
        object.__setattr__(self, "_path_loss", losses)
        by_radio: dict[str, list[NonWifiSighting]] = {}
        for sighting in self.non_wifi:
            by_radio.setdefault(sighting.radio_id, []).append(sighting)
        object.__setattr__(self, "_non_wifi_by_radio", {r: tuple(found) for r, found in by_radio.items()})

    def neighbours(self, radio_id: str) -> tuple[tuple[str, float], ...]:
        """(radio id, RSSI) of every managed radio coupled to ``radio_id``, strongest first."""
        return self._adjacent.get(radio_id, ())

    def coupling_dbm(self, a: str, b: str) -> float | None:
        """The RSSI coupling ``a`` and ``b`` (either order), or None when they do not hear each other."""
        for other, rssi in self.neighbours(a):
            if other == b:
                return rssi
        return None

    def path_loss_db(self, a: str, b: str) -> float | None:
        """The estimated path loss between ``a`` and ``b`` (either order), or None when unknown."""
        return self._path_loss.get((min(a, b), max(a, b)))

    def non_wifi_for(self, radio_id: str) -> tuple[NonWifiSighting, ...]:
        """The non-Wi-Fi sources ``radio_id`` reported and the plan still counts (non_wifi_sightings.py)."""
        return self._non_wifi_by_radio.get(radio_id, ())

    def external_for(self, radio_id: str) -> tuple[ExternalBss, ...]:
        return tuple(e for e in self.external if e.heard_by == radio_id)

    def neighbour_aps(self, radio_id: str, min_rssi_dbm: float) -> frozenset[str]:
        """The APs whose radios couple to ``radio_id`` at ``min_rssi_dbm`` or louder."""
        return frozenset(self.nodes[o].ap_id for o, rssi in self.neighbours(radio_id) if rssi >= min_rssi_dbm)


def _adjacency(
    nodes: Mapping[str, RadioNode], couplings: Sequence[Coupling]
) -> dict[str, tuple[tuple[str, float], ...]]:
    found: dict[str, list[tuple[str, float]]] = {r: [] for r in nodes}
    for c in couplings:
        found.setdefault(c.a, []).append((c.b, c.rssi_dbm))
        found.setdefault(c.b, []).append((c.a, c.rssi_dbm))
    return {r: tuple(sorted(pairs, key=lambda p: (-p[1], p[0]))) for r, pairs in found.items()}


def _load(state: RadioState) -> float:
    return max(0.0, min(1.0, state.tx_airtime))


def build_graph(
    region: Region,
    radios: Sequence[RadioInfo],
    states: Mapping[str, RadioState],
    *,
    radar_channels: Mapping[str, frozenset[int]] | None = None,
    non_occupancy: Mapping[str, Mapping[int, float]] | None = None,
    cleared_channels: Mapping[str, frozenset[int]] | None = None,
    non_wifi: Iterable[NonWifiSighting] = (),
    min_rssi_dbm: float = DEFAULT_MIN_RSSI_DBM,
) -> InterferenceGraph:
    """The graph of the radios that have a state (module docstring).

    Neighbours heard below ``min_rssi_dbm`` are ignored; managed neighbours on another band, or not
    among ``radios``, are ignored too. ``non_wifi``: the sightings still in force
    (non_wifi_sightings.sightings_in_force); those of radios without a state are dropped.
    """
    radar_channels = radar_channels or {}
    non_occupancy = non_occupancy or {}
    cleared_channels = cleared_channels or {}
    nodes: dict[str, RadioNode] = {}
    for info in radios:
        state = states.get(info.radio_id)
        if state is None:
            continue
        nodes[info.radio_id] = RadioNode(
            radio_id=info.radio_id,
            ap_id=info.ap_id,
            band=info.band,
            capabilities=info.capabilities,
            config=state.config,
            clients=len(state.clients),
            utilisation=_load(state),
            radar_channels=frozenset(radar_channels.get(info.radio_id, frozenset())),
            non_occupancy=dict(non_occupancy.get(info.radio_id, {})),
            clients_without_dfs=sum(1 for c in state.clients if not c.supports_dfs),
            cleared_channels=frozenset(cleared_channels.get(info.radio_id, frozenset())),
        )
    strongest: dict[tuple[str, str], float] = {}
    loss: dict[tuple[str, str], float] = {}
    external: list[ExternalBss] = []
    for radio_id, node in nodes.items():
        for seen in states[radio_id].neighbors:
            if seen.rssi_dbm < min_rssi_dbm:
                continue
            if not seen.managed:
                external.append(ExternalBss(radio_id, seen.channel, seen.width_mhz, seen.rssi_dbm))
                continue
            other = nodes.get(seen.neighbor_id)
            if other is None or other.band is not node.band or other.radio_id == radio_id:
                continue
            key = (min(radio_id, other.radio_id), max(radio_id, other.radio_id))
            strongest[key] = max(strongest.get(key, seen.rssi_dbm), seen.rssi_dbm)
            heard_loss = other.config.tx_power_dbm - seen.rssi_dbm
            loss[key] = min(loss.get(key, heard_loss), heard_loss)
    couplings = tuple(Coupling(a, b, strongest[(a, b)], loss[(a, b)]) for a, b in sorted(strongest))
    external.sort(key=lambda e: (e.heard_by, e.channel, -e.rssi_dbm))
    sightings = tuple(s for s in non_wifi if s.radio_id in nodes)
    return InterferenceGraph(region, nodes, couplings, tuple(external), sightings)
