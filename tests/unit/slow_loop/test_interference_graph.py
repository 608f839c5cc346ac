"""Building the interference graph from radio states and neighbour scans."""

from __future__ import annotations

from controller.slow_loop.interference_graph import build_graph
from drivers.protocol import ClientObservation, NeighborObservation, RadioInfo, RadioState
from radio_domain.radio import Band, RadioConfig
from tests.unit.slow_loop.hand_made_graphs import REGION, capabilities


def info(radio_id: str, band: Band = Band.G5) -> RadioInfo:
    return RadioInfo(radio_id, radio_id.split("/", maxsplit=1)[0], band, capabilities(band))


def state(radio_id: str, *heard: NeighborObservation, power: float = 20.0, channel: int = 36) -> RadioState:
    client = ClientObservation("c1", -60.0, 30.0, 100.0, 10.0, 0.0, supports_dfs=False)
    return RadioState(
        radio_id, 0.0, RadioConfig(channel, 20, power), -95.0, 0.4, 0.3, 0.2, 0.0, 0.0, (client,), tuple(heard)
    )


def managed(radio_id: str, rssi: float) -> NeighborObservation:
    return NeighborObservation(radio_id, True, 36, 20, rssi)


def test_a_pair_couples_at_the_stronger_direction_with_its_path_loss() -> None:
    """Both directions heard: the coupling keeps the louder RSSI and the smaller path loss."""
    states = {
        "a/5g": state("a/5g", managed("b/5g", -70.0), power=20.0),
        "b/5g": state("b/5g", managed("a/5g", -65.0), power=17.0),
    }
    g = build_graph(REGION, [info("a/5g"), info("b/5g")], states)
    assert len(g.couplings) == 1
    c = g.couplings[0]
    assert (c.a, c.b, c.rssi_dbm) == ("a/5g", "b/5g", -65.0)
    assert c.path_loss_db == min(17.0 + 70.0, 20.0 + 65.0)
    assert g.coupling_dbm("b/5g", "a/5g") == -65.0


def test_a_radio_heard_only_one_way_still_couples() -> None:
    """Only b's scan lists a: they are coupled anyway."""
    states = {"a/5g": state("a/5g"), "b/5g": state("b/5g", managed("a/5g", -72.0))}
    g = build_graph(REGION, [info("a/5g"), info("b/5g")], states)
    assert g.neighbours("a/5g") == (("b/5g", -72.0),)
    assert g.neighbours("b/5g") == (("a/5g", -72.0),)


def test_unmanaged_bss_becomes_external_and_weak_or_other_band_ones_are_ignored() -> None:
    """An unmanaged BSS is external interference; below -85 dBm or another band's radio is not a neighbour."""
    states = {
        "a/5g": state(
            "a/5g",
            NeighborObservation("02:5e:00:00:00:01", False, 149, 80, -71.0),
            managed("c/2g", -50.0),
            managed("b/5g", -90.0),
        ),
        "b/5g": state("b/5g"),
        "c/2g": state("c/2g", channel=6),
    }
    radios = [info("a/5g"), info("b/5g"), info("c/2g", Band.G2)]
    g = build_graph(REGION, radios, states)
    assert g.couplings == ()
    assert [(e.heard_by, e.channel, e.width_mhz) for e in g.external] == [("a/5g", 149, 80)]


def test_neighbours_are_sorted_strongest_first_and_nodes_carry_load_and_dfs_features() -> None:
    """Neighbours come loudest first; nodes keep clients, no-DFS clients, radar and NOP features."""
    states = {
        "a/5g": state("a/5g", managed("b/5g", -80.0), managed("c/5g", -60.0)),
        "b/5g": state("b/5g"),
        "c/5g": state("c/5g"),
    }
    radios = [info("a/5g"), info("b/5g"), info("c/5g")]
    g = build_graph(
        REGION, radios, states, radar_channels={"a/5g": frozenset({52})}, non_occupancy={"a/5g": {52: 99.0}}
    )
    assert [r for r, _ in g.neighbours("a/5g")] == ["c/5g", "b/5g"]
    node = g.nodes["a/5g"]
    assert (node.clients, node.clients_without_dfs, node.utilisation) == (1, 1, 0.2)
    assert node.radar_channels == frozenset({52}) and node.non_occupancy == {52: 99.0}
    assert g.coupling_dbm("b/5g", "c/5g") is None
