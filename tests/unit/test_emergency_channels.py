"""The emergency channel selector: exclusions, scoring, deterministic fallbacks, the radar list."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drivers.protocol import NeighborObservation, RadioCapabilities
from edge_agent.emergency_channels import (
    ChannelChoice,
    NoChannel,
    Ranking,
    SelectionInputs,
    SelectionWeights,
    select_emergency_channel,
)
from radio_domain import regulatory
from radio_domain.radio import Band, RadioConfig
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

W = SelectionWeights()


def _caps(region: Region, band: Band, channels: tuple[int, ...] | None = None) -> RadioCapabilities:
    return RadioCapabilities(
        channels=channels or regulatory.channels(region, band),
        widths_mhz=regulatory.widths(band),
        min_tx_power_dbm=1.0,
        max_tx_power_dbm=23.0,
    )


def _inputs(
    channel: int = 52, width: int = 80, region: Region = Region.FCC, band: Band = Band.G5, **more: object
) -> SelectionInputs:
    caps = more.pop("capabilities", None) or _caps(region, band)
    return SelectionInputs(region, band, caps, RadioConfig(channel, width, 20.0), **more)  # type: ignore[arg-type]


def _nop(*channels: int) -> dict[int, float]:
    return dict.fromkeys(channels, 9e9)


def _choose(inputs: SelectionInputs, immediate: bool = True) -> ChannelChoice:
    choice = select_emergency_channel(inputs, W, immediate=immediate)
    assert isinstance(choice, ChannelChoice), choice
    return choice


def _group(inputs: SelectionInputs, choice: ChannelChoice) -> tuple[int, ...]:
    return regulatory.bonding_group(inputs.region, inputs.band, choice.channel, choice.width_mhz)


def test_the_current_and_blocked_channels_are_never_chosen() -> None:
    """Radar on 52-64: the choice shares no channel with the radar group, is legal, and needs no CAC."""
    inputs = _inputs(blocked=_nop(52, 56, 60, 64))
    choice = _choose(inputs)
    assert not set(_group(inputs, choice)) & {52, 56, 60, 64}
    assert regulatory.is_legal(Region.FCC, Band.G5, choice.channel, choice.width_mhz)
    assert choice.cac_s == 0
    assert "runner-up" in choice.explanation


def test_a_clean_channel_beats_one_with_a_neighbour_and_a_far_neighbour_beats_a_near_one() -> None:
    """Contention follows what the radio hears: co-channel neighbours cost, louder ones break ties."""
    near = NeighborObservation("n1", False, 36, 80, -50.0)
    far = NeighborObservation("n2", False, 149, 80, -70.0)
    inputs = _inputs(blocked=_nop(52, 56, 60, 64), neighbors=(near, far))
    ranking = Ranking.of(inputs, W)
    on_36, on_149 = ranking.find(36, 80), ranking.find(149, 80)
    assert on_36 is not None and on_149 is not None
    assert on_36.contention == on_149.contention == 1.0  # both heard above carrier sense: one more contender
    assert _choose(inputs).channel == 149  # equal score, the quieter neighbour wins the tie
    clean = replace(inputs, neighbors=(near,))
    assert _choose(clean).channel == 149


def test_heavily_interfered_channels_are_excluded_and_partial_overlap_counts_on_2g() -> None:
    """A video camera on 2.4 GHz channel 1 rules out channels 1-3; the orthogonal 6 and 11 lead."""
    inputs = _inputs(1, 20, band=Band.G2, interfered={1: 0.9})
    ranked = Ranking.of(inputs, W).usable(1, immediate=True)
    assert {c.channel for c in ranked}.isdisjoint({1, 2, 3})
    assert ranked[0].channel in (6, 11)
    neighbour_on_6 = replace(inputs, neighbors=(NeighborObservation("n", False, 6, 20, -55.0),))
    assert _choose(neighbour_on_6).channel == 11


def test_a_move_that_must_be_immediate_prefers_a_narrower_width_to_going_dark() -> None:
    """Only DFS channels needing a CAC keep 80 MHz; a non-DFS 40 MHz group is chosen instead."""
    caps = _caps(Region.FCC, Band.G5, channels=(36, 40, 52, 56, 60, 64, 100, 104, 108, 112))
    inputs = _inputs(capabilities=caps, blocked=_nop(52, 56, 60, 64))
    choice = _choose(inputs)
    assert (choice.channel, choice.width_mhz, choice.cac_s) == (36, 40, 0.0)
    cleared = replace(inputs, cleared=frozenset({100, 104, 108, 112}))
    assert _choose(cleared).width_mhz == 80  # a cleared DFS group is usable at once at full width


def test_with_nothing_usable_at_once_the_radio_goes_through_a_cac_and_says_so() -> None:
    """ETSI, only weather channels left: the choice needs the 600 s CAC, and the explanation names it."""
    caps = _caps(Region.ETSI, Band.G5, channels=(100, 104, 120, 124))
    inputs = _inputs(100, 20, Region.ETSI, capabilities=caps, blocked=_nop(100, 104))
    choice = _choose(inputs)
    assert choice.channel in (120, 124)
    assert choice.cac_s == regulatory.WEATHER_CAC_SECONDS
    assert "off air for 600 s" in choice.explanation


def test_no_legal_channel_left_is_a_clear_refusal_never_an_illegal_channel() -> None:
    """Every supported channel in non-occupancy: NoChannel, with a reason naming the band and region."""
    caps = _caps(Region.FCC, Band.G5, channels=(52, 56, 60, 64))
    choice = select_emergency_channel(_inputs(capabilities=caps, blocked=_nop(52, 56, 60, 64)), W)
    assert isinstance(choice, NoChannel)
    assert "no legal 5g channel in FCC" in choice.reason
    assert "in non-occupancy after radar" in choice.reason and "interfered" not in choice.reason, choice.reason


def test_no_channel_on_2g_says_what_ruled_the_channels_out_without_blaming_radar() -> None:
    """2.4 GHz has no radar: with every channel under a non-Wi-Fi interferer the reason says so."""
    interferers = dict.fromkeys(range(1, 12), 1.0)
    choice = select_emergency_channel(_inputs(1, 20, Region.FCC, Band.G2, interfered=interferers), W)
    assert isinstance(choice, NoChannel), choice
    assert "no legal 2g channel in FCC" in choice.reason
    assert "non-occupancy" not in choice.reason and "interfered" in choice.reason, choice.reason


def test_clients_that_cannot_use_dfs_make_dfs_channels_worse() -> None:
    """Half the clients would drop off a DFS channel: its expected service halves."""
    inputs = _inputs(36, 80, cleared=frozenset(range(52, 145, 4)), clients=10)
    legacy = replace(inputs, clients_without_dfs=5)
    before, after = Ranking.of(inputs, W).find(100, 80), Ranking.of(legacy, W).find(100, 80)
    assert before is not None and after is not None
    assert after.service == pytest.approx(before.service / 2)


def test_frequent_radar_makes_a_channel_less_attractive() -> None:
    """Equal cleared DFS groups: the one with a radar history ranks below the one without."""
    inputs = _inputs(36, 80, cleared=frozenset(range(52, 145, 4)), blocked=_nop(149, 153, 157, 161))
    assert _choose(inputs).channel == 52
    assert _choose(replace(inputs, radar_hits={52: 3, 56: 3})).channel == 100


def test_6ghz_prefers_preferred_scanning_channels() -> None:
    """On 6 GHz at 20 MHz a PSC channel (5, 21, ...) wins over its non-PSC neighbours."""
    choice = _choose(_inputs(37, 20, band=Band.G6))
    assert regulatory.is_psc(Band.G6, choice.channel)


def test_the_same_inputs_give_the_same_choice() -> None:
    """Deterministic: ties are broken by channel, never by chance."""
    inputs = _inputs(blocked=_nop(52, 56, 60, 64))
    assert {_choose(inputs) for _ in range(5)} == {_choose(inputs)}


def test_the_radar_fallback_list_leaves_out_the_current_group_and_cac_channels() -> None:
    """hostapd's chanlist: best first, only channels the AP can use at once after radar on its own."""
    inputs = _inputs(52, 80)
    ranking = Ranking.of(inputs, W)
    assert ranking.radar_fallback((52, 56, 60, 64), 80) == (
        _choose(replace(inputs, blocked=_nop(52, 56, 60, 64))).channel,
    )
    longer = ranking.radar_fallback((52, 56, 60, 64), 80, limit=8)
    assert len(longer) > 1 and not set(longer) & {52, 56, 60, 64}
    assert all(not regulatory.needs_dfs(Region.FCC, Band.G5, c, 20) for c in longer)
    assert all(regulatory.bonding_group(Region.FCC, Band.G5, c, 80)[0] == c for c in longer)  # what hostapd counts


def test_the_fallback_list_keeps_the_width_the_ap_will_land_at() -> None:
    """Only 132/136 cleared and no 80 MHz group usable at once: the list names a channel at 40 MHz."""
    caps = _caps(Region.FCC, Band.G5, channels=(100, 104, 108, 112, 132, 136, 140, 144))
    inputs = _inputs(100, 80, capabilities=caps, cleared=frozenset({100, 104, 108, 112, 132, 136}))
    assert Ranking.of(inputs, W).radar_fallback((100, 104, 108, 112), 80) == (132,)


def test_interference_seen_after_ranking_is_filtered_at_choice_time() -> None:
    """A ready ranking, then a camera on 2.4 GHz channel 11: channels 9-11 drop out without re-ranking."""
    inputs = _inputs(1, 20, band=Band.G2, neighbors=(NeighborObservation("n", False, 6, 20, -50.0),))
    ranking = Ranking.of(inputs, W)
    assert ranking.choose(1, immediate=True).channel == 11  # type: ignore[union-attr]
    later = ranking.choose(1, immediate=True, interference={11: 0.9})
    assert isinstance(later, ChannelChoice) and later.channel not in (9, 10, 11)
    assert later == select_emergency_channel(replace(inputs, interfered={11: 0.9}), W)
