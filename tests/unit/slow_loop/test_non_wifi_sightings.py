"""Non-Wi-Fi sightings: what a reported burst says, what it costs a channel, when it is forgotten."""

from __future__ import annotations

import math

import pytest

from controller.slow_loop.heuristic_planner import HeuristicPlanner
from controller.slow_loop.interference_graph import InterferenceGraph
from controller.slow_loop.non_wifi_sightings import (
    ASSUMED_LEVEL_DBM,
    MEMORY_S,
    NonWifiSighting,
    Reading,
    ReportedBurst,
    SightingError,
    sighting_of,
    sightings_in_force,
)
from controller.slow_loop.site_plan import plan_cost, radio_cost
from radio_domain.radio import Band
from radio_domain.regulatory import span_mhz
from tests.unit.slow_loop.hand_made_graphs import REGION, graph, node

CAMERA = {"kind": "video_camera", "duty_cycle": "1", "freq_mhz": "2412", "bandwidth_mhz": "20", "rssi_dbm": "-56"}


def burst(channel: int = 3, metadata: dict[str, str] | None = None, at: float = 100.0) -> ReportedBurst:
    return ReportedBurst("ap-1/2g", Band.G2, channel, 20, at, CAMERA if metadata is None else metadata)


def test_the_level_is_the_whole_sources_estimated_from_the_share_the_radio_received() -> None:
    """On channel 3 (2412-2432 MHz) half of a 2402-2422 MHz camera falls in: 3 dB more than received."""
    s = sighting_of(REGION, burst(channel=3))
    assert (s.low_mhz, s.high_mhz) == (2402.0, 2422.0)
    assert s.level_dbm == pytest.approx(-56.0 + 10 * math.log10(2.0))
    assert (s.duty, s.kind, s.seen_at) == (1.0, "video_camera", 100.0)
    on_one = sighting_of(REGION, burst(channel=1))
    assert on_one.level_dbm == pytest.approx(-56.0)


def test_a_burst_without_a_level_is_taken_at_energy_detect_and_one_without_width_as_20_mhz() -> None:
    meta = {"kind": "microwave", "duty_cycle": "0.5", "freq_mhz": "2450", "source": "spectral"}
    s = sighting_of(REGION, burst(channel=9, metadata=meta))
    assert (s.low_mhz, s.high_mhz) == (2440.0, 2460.0)
    # received at energy detect on channel 9 (2442-2462 MHz), which holds 18 of the source's 20 MHz
    assert s.level_dbm == pytest.approx(ASSUMED_LEVEL_DBM - 10 * math.log10(0.9))
    assert s.duty == 0.5


@pytest.mark.parametrize(
    ("metadata", "named"),
    [
        ({"duty_cycle": "1"}, "without freq_mhz"),
        ({"freq_mhz": "near 2412"}, "freq_mhz 'near 2412' is not a number"),
        ({"freq_mhz": "2412", "rssi_dbm": "nan"}, "rssi_dbm 'nan' is not finite"),
        ({"freq_mhz": "2412", "duty_cycle": "1.5"}, "duty_cycle 1.5 is outside 0..1"),
        ({"freq_mhz": "2412", "bandwidth_mhz": "0"}, "bandwidth_mhz 0 is not positive"),
    ],
)
def test_a_burst_that_describes_no_source_is_refused_naming_the_field(metadata: dict[str, str], named: str) -> None:
    with pytest.raises(SightingError, match=named):
        sighting_of(REGION, burst(metadata=metadata))


def test_the_cost_follows_the_spectrum_the_source_takes() -> None:
    """The camera's own channel costs most, a partly overlapping one less, channel 11 almost nothing."""
    s = sighting_of(REGION, burst(channel=1))
    costs = {c: s.cost(span_mhz(REGION, Band.G2, c, 20)) for c in (1, 3, 6, 11)}
    assert costs[1] > costs[3] > costs[6] > costs[11] > 0.0
    assert costs[11] < costs[1] / 100.0


def sighting(radio_id: str = "ap-1/2g", at: float = 100.0, low: float = 2402.0) -> NonWifiSighting:
    return NonWifiSighting(radio_id, low, low + 20.0, -50.0, 1.0, at, "video_camera")


def test_a_source_the_radio_checks_and_no_longer_sees_is_forgotten() -> None:
    seen = sighting()
    channel_1 = span_mhz(REGION, Band.G2, 1, 20)
    channel_11 = span_mhz(REGION, Band.G2, 11, 20)
    assert sightings_in_force([seen], [Reading("ap-1/2g", 200.0, channel_1, 0.0)], 300.0) == ()
    kept = [
        Reading("ap-1/2g", 200.0, channel_1, 0.8),  # still there
        Reading("ap-1/2g", 50.0, channel_1, 0.0),  # clear, but before the sighting
        Reading("ap-1/2g", 200.0, channel_11, 0.0),  # moved away: cannot check
        Reading("ap-2/2g", 200.0, channel_1, 0.0),  # another radio's reading
    ]
    assert sightings_in_force([seen], kept, 300.0) == (seen,)


def test_a_sighting_is_remembered_for_a_day_and_only_its_newest_report_counts() -> None:
    old, new = sighting(at=100.0), sighting(at=500.0)
    assert sightings_in_force([old, new], [], 600.0) == (new,)
    assert sightings_in_force([old], [], 100.0 + MEMORY_S + 1.0) == ()
    other_band = sighting(low=2440.0)
    assert sightings_in_force([old, other_band], [], 600.0) == (old, other_band)


def two_radios_near_a_camera(with_sighting: bool) -> InterferenceGraph:
    """Two 2.4 GHz radios hearing each other on 6 and 11: the free channel is 1, where a camera is."""
    a = node("a", band=Band.G2, channel=6, width_mhz=20)
    b = node("b", band=Band.G2, channel=11, width_mhz=20)
    c = node("c", band=Band.G2, channel=11, width_mhz=20)
    base = graph([a, b, c], {(a.radio_id, b.radio_id): -60.0, (b.radio_id, c.radio_id): -55.0})
    if not with_sighting:
        return base
    camera = NonWifiSighting(c.radio_id, 2402.0, 2422.0, -50.0, 1.0, 0.0, "video_camera")
    return InterferenceGraph(base.region, base.nodes, base.couplings, base.external, (camera,))


def test_the_plan_keeps_a_radio_off_the_channel_of_the_camera_it_reported() -> None:
    """Without the sighting the planner clears the co-channel pair by moving c onto 1; with it, it does not."""
    blind, aware = two_radios_near_a_camera(False), two_radios_near_a_camera(True)
    c = "c/2g"
    blind_plan = HeuristicPlanner(seed=3).propose(blind, 0.0)
    assert blind_plan.assignments[c].channel in (1, 2, 3)
    aware_plan = HeuristicPlanner(seed=3).propose(aware, 0.0)
    choice = aware_plan.assignments[c]
    assert choice.channel not in (1, 2, 3, 4, 5), aware_plan.assignments
    on_camera = dict(aware_plan.assignments) | {c: blind_plan.assignments[c]}
    assert plan_cost(aware, on_camera, 0.0) > plan_cost(aware, aware_plan.assignments, 0.0)
    assert radio_cost(aware, c, blind_plan.assignments[c]) > radio_cost(blind, c, blind_plan.assignments[c])
