"""Neighbour-RSSI transmit power control: -70 dBm at the nth loudest neighbour."""

from __future__ import annotations

from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.power_control import PowerSettings, clamp_to_channel, target_power_dbm
from radio_domain.radio import Band
from tests.unit.slow_loop.hand_made_graphs import REGION, graph, node


def star(rssis: list[float], power: float = 20.0) -> tuple[str, InterferenceGraph]:
    centre = node("hub", tx_power_dbm=power)
    others = [node(f"n{i}", tx_power_dbm=power) for i in range(len(rssis))]
    links = {("hub/5g", o.radio_id): r for o, r in zip(others, rssis, strict=True)}
    return "hub/5g", graph([centre, *others], links)


def test_the_third_loudest_neighbour_is_brought_to_the_threshold() -> None:
    """Heard at -50, -55, -60, -80: the 3rd loudest (-60) should hear -70, so 20 dBm becomes 10 dBm."""
    radio, g = star([-50.0, -55.0, -60.0, -80.0])
    assert target_power_dbm(g, radio, PowerSettings()) == 10.0


def test_small_steps_are_held_by_the_hysteresis() -> None:
    """A 4 dB cut (under the 6 dB hysteresis) and a 2 dB raise (under 3 dB) leave the power as it is."""
    radio, g = star([-60.0, -62.0, -66.0])
    assert target_power_dbm(g, radio) == 20.0
    radio, g = star([-60.0, -62.0, -72.0])
    assert target_power_dbm(g, radio) == 20.0


def test_too_few_neighbours_means_maximum_power_and_a_floor_holds() -> None:
    """Two neighbours (nth = 3): the radio's maximum; very loud neighbours stop at the coverage floor."""
    radio, g = star([-50.0, -55.0], power=14.0)
    assert target_power_dbm(g, radio) == 23.0
    radio, g = star([-30.0, -30.0, -30.0])
    assert target_power_dbm(g, radio, PowerSettings(floor_dbm=8.0)) == 8.0


def test_the_legal_limit_of_the_chosen_channel_caps_the_power() -> None:
    """FCC UNII-2 allows 24 dBm and the radio 23: 23 there; a 2.4 GHz pick stays within the radio's 23."""
    n = node("a", band=Band.G5)
    assert clamp_to_channel(REGION, n, 30.0, 52, 20) == 23.0
    assert clamp_to_channel(REGION, n, 12.0, 52, 20) == 12.0
