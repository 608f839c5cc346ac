"""Small interference graphs built by hand for the slow-loop tests (no simulator)."""

from __future__ import annotations

from collections.abc import Mapping

from controller.slow_loop.interference_graph import Coupling, ExternalBss, InterferenceGraph, RadioNode
from drivers.protocol import RadioCapabilities
from radio_domain import regulatory
from radio_domain.radio import Band, RadioConfig, make_radio_id
from radio_domain.regulatory import Region

REGION = Region.FCC


def capabilities(band: Band, region: Region = REGION) -> RadioCapabilities:
    return RadioCapabilities(
        channels=regulatory.channels(region, band),
        widths_mhz=regulatory.widths(band),
        min_tx_power_dbm=1.0,
        max_tx_power_dbm=23.0,
    )


def node(
    ap_id: str,
    band: Band = Band.G5,
    channel: int = 36,
    width_mhz: int = 20,
    tx_power_dbm: float = 20.0,
    *,
    clients: int = 5,
    utilisation: float = 0.3,
    radar_channels: frozenset[int] = frozenset(),
    non_occupancy: Mapping[int, float] | None = None,
    clients_without_dfs: int = 0,
    caps: RadioCapabilities | None = None,
) -> RadioNode:
    return RadioNode(
        radio_id=make_radio_id(ap_id, band),
        ap_id=ap_id,
        band=band,
        capabilities=caps or capabilities(band),
        config=RadioConfig(channel, width_mhz, tx_power_dbm),
        clients=clients,
        utilisation=utilisation,
        radar_channels=radar_channels,
        non_occupancy=dict(non_occupancy or {}),
        clients_without_dfs=clients_without_dfs,
    )


def graph(
    nodes: list[RadioNode],
    links: Mapping[tuple[str, str], float],
    external: tuple[ExternalBss, ...] = (),
    region: Region = REGION,
) -> InterferenceGraph:
    """``links``: (radio id, radio id) -> RSSI; the path loss assumes both transmit at their config power."""
    by_id = {n.radio_id: n for n in nodes}
    couplings = []
    for (a, b), rssi in sorted(links.items()):
        low, high = min(a, b), max(a, b)
        loss = by_id[low].config.tx_power_dbm - rssi
        couplings.append(Coupling(low, high, rssi, loss))
    return InterferenceGraph(region, by_id, tuple(couplings), external)


def clique(ap_ids: list[str], rssi: float, channel: int = 36, width_mhz: int = 20) -> InterferenceGraph:
    """5 GHz radios of ``ap_ids`` all hearing each other at ``rssi``, all on the same channel."""
    nodes = [node(ap, channel=channel, width_mhz=width_mhz) for ap in ap_ids]
    links = {(a.radio_id, b.radio_id): rssi for i, a in enumerate(nodes) for b in nodes[i + 1 :]}
    return graph(nodes, links)
