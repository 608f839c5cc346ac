"""The waveform generator: every family's drawn parameters stay inside dfs.md's ranges; impairments do what they say."""

from __future__ import annotations

import itertools
import math

import pytest

from hil_tests.pulses.generator import Impairments, family_names, fcc_type1_pulses, find_family, generate
from hil_tests.pulses.negatives import NEGATIVE_FAMILIES
from hil_tests.pulses.trace_format import PulseTrace, check_trace
from hil_tests.pulses.waveforms import (
    FCC_TYPE1_TEST_A_PRI_US,
    RADAR_FAMILIES,
    ChirpBurstFamily,
    HoppingFamily,
    PulseTrainFamily,
)
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

SEEDS = range(12)
TRAINS = [f for f in RADAR_FAMILIES if isinstance(f, PulseTrainFamily)]


def _gaps(trace: PulseTrace) -> list[int]:
    ts = [p.ts_us for p in trace.pulses]
    return [b - a for a, b in itertools.pairwise(ts)]


def _pri_bounds(fam: PulseTrainFamily) -> tuple[int, int]:
    if fam.pri_us is not None:
        return fam.pri_us
    assert fam.prf_pps is not None
    return round(1e6 / fam.prf_pps[1]), round(1e6 / fam.prf_pps[0])


@pytest.mark.parametrize("fam", TRAINS, ids=lambda f: f.name)
def test_a_pulse_train_stays_inside_its_family_ranges(fam: PulseTrainFamily) -> None:
    for seed in SEEDS:
        trace = generate(fam, seed)
        check_trace(trace)
        assert (trace.region, trace.channel_mhz) == (fam.region, fam.channel_mhz)
        widths = {p.width_us for p in trace.pulses}
        assert len(widths) == 1, "one width per burst"
        width = widths.pop()
        assert fam.width_us[0] <= width <= fam.width_us[1]
        assert math.isclose(width * 10, round(width * 10)), "0.1 µs steps"
        assert all(p.chirp == fam.chirp and p.freq_mhz == fam.channel_mhz for p in trace.pulses)
        gaps = _gaps(trace)
        cycle = next(n for n in range(1, 4) if all(g == gaps[i % n] for i, g in enumerate(gaps)))
        assert fam.prf_count[0] <= cycle <= fam.prf_count[1]
        low, high = _pri_bounds(fam)
        assert all(low <= g <= high for g in gaps[:cycle])
        if fam.pulse_count == "fcc-type1":
            assert len(trace.pulses) == fcc_type1_pulses(gaps[0])
        else:
            assert fam.pulses[0] * cycle <= len(trace.pulses) <= fam.pulses[1] * cycle
        if cycle > 1:
            assert fam.prf_spacing_pps is not None
            prfs = sorted(1e6 / g for g in gaps[:cycle])
            steps = [b - a for a, b in itertools.pairwise(prfs)]
            assert all(fam.prf_spacing_pps[0] - 1 <= s <= fam.prf_spacing_pps[1] + 1 for s in steps)


def test_fcc_type1_pulse_count_follows_the_formula_at_both_ends() -> None:
    assert (fcc_type1_pulses(518), fcc_type1_pulses(938), fcc_type1_pulses(2000), fcc_type1_pulses(3066)) == (
        102,
        57,
        27,
        18,
    )


def test_staggered_etsi_signals_use_both_two_and_three_prfs() -> None:
    cycles = set()
    for seed in range(30):
        gaps = _gaps(generate("etsi-6", seed))
        cycles.add(next(n for n in (1, 2, 3) if all(g == gaps[i % n] for i, g in enumerate(gaps))))
    assert cycles == {2, 3}


@pytest.mark.parametrize("name", ["fcc-5", "jp-w56-chirp"])
def test_chirp_bursts_follow_type5_structure(name: str) -> None:
    fam = find_family(name)
    assert isinstance(fam, ChirpBurstFamily)
    for seed in SEEDS:
        trace = generate(fam, seed)
        bursts: list[list[int]] = []
        for i, p in enumerate(trace.pulses):
            if i == 0 or p.ts_us - trace.pulses[i - 1].ts_us > fam.pri_us[1]:
                bursts.append([])
            bursts[-1].append(i)
        assert fam.bursts[0] <= len(bursts) <= fam.bursts[1]
        assert trace.pulses[-1].ts_us - trace.pulses[0].ts_us < fam.period_us
        interval = fam.period_us // len(bursts)
        for burst in bursts:
            pulses = [trace.pulses[i] for i in burst]
            assert fam.pulses_per_burst[0] <= len(pulses) <= fam.pulses_per_burst[1]
            assert len({p.width_us for p in pulses}) == 1
            assert fam.width_us[0] <= pulses[0].width_us <= fam.width_us[1]
            assert all(p.chirp for p in pulses)
            assert all(fam.pri_us[0] <= b.ts_us - a.ts_us <= fam.pri_us[1] for a, b in itertools.pairwise(pulses))
            assert pulses[-1].ts_us - pulses[0].ts_us < interval


@pytest.mark.parametrize("name", ["fcc-6", "jp-w56-hopping"])
def test_hopping_keeps_only_in_band_hops_of_nine_pulses(name: str) -> None:
    fam = find_family(name)
    assert isinstance(fam, HoppingFamily)
    for seed in SEEDS:
        trace = generate(fam, seed)
        ts = [p.ts_us for p in trace.pulses]
        assert ts and len(ts) % fam.pulses_per_hop == 0
        assert ts[-1] - ts[0] < fam.hops * fam.hop_us
        for h in range(0, len(ts), fam.pulses_per_hop):
            hop = ts[h : h + fam.pulses_per_hop]
            assert all(b - a == fam.pri_us for a, b in itertools.pairwise(hop))
            assert (hop[0] - ts[0]) % fam.hop_us == 0
        assert {p.width_us for p in trace.pulses} == {fam.width_us}


def test_hopping_refuses_a_channel_outside_its_frequencies() -> None:
    with pytest.raises(ValueError, match="outside the hopping range"):
        generate("fcc-6", 1, channel_mhz=5180)


def test_the_same_seed_gives_the_same_trace_and_another_seed_another() -> None:
    imp = Impairments(0.2, 8, 0.05, 50.0, 25)
    for name in family_names():
        assert generate(name, 3, imp) == generate(name, 3, imp)
        assert generate(name, (3, 1), imp) == generate(name, (3, 1), imp)
    assert generate("fcc-2", 3) != generate("fcc-2", 4)


def test_lost_pulses_drop_exactly_that_share() -> None:
    for seed in SEEDS:
        clean = generate("fcc-1", seed)
        lossy = generate("fcc-1", seed, Impairments(lost_fraction=0.2))
        assert len(lossy.pulses) == len(clean.pulses) - round(0.2 * len(clean.pulses))
        assert {p.ts_us for p in lossy.pulses} <= {p.ts_us for p in clean.pulses}


def test_jitter_and_width_error_stay_within_their_bounds() -> None:
    for seed in SEEDS:
        clean = generate("fcc-3", seed)
        rough = generate("fcc-3", seed, Impairments(jitter_us=8, width_error=0.05))
        assert len(rough.pulses) == len(clean.pulses)
        offsets = [r.ts_us - c.ts_us for r, c in zip(rough.pulses, clean.pulses, strict=True)]
        assert all(-8 <= o <= 8 for o in offsets) and any(offsets)
        assert all(
            abs(r.width_us - c.width_us) <= 0.05 * c.width_us + 1e-3
            for r, c in zip(rough.pulses, clean.pulses, strict=True)
        )


def test_stray_pulses_and_rssi() -> None:
    clean = generate("fcc-6", 5)
    noisy = generate("fcc-6", 5, Impairments(stray_rate_hz=2000.0, rssi_db=-10))
    span_s = (clean.pulses[-1].ts_us - clean.pulses[0].ts_us) / 1e6
    strays = len(noisy.pulses) - len(clean.pulses)
    assert 0.5 * 2000 * span_s < strays < 1.5 * 2000 * span_s
    assert all(-13 <= p.rssi_db <= -7 for p in noisy.pulses)
    check_trace(noisy)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lost_fraction": 1.0}, "lost fraction"),
        ({"jitter_us": -1}, "jitter"),
        ({"width_error": 1.5}, "width error"),
        ({"stray_rate_hz": -1.0}, "stray pulse rate"),
    ],
)
def test_impossible_impairments_are_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Impairments(**kwargs)  # type: ignore[arg-type]


def test_an_unknown_family_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: fcc-0"):
        find_family("fcc-9")


@pytest.mark.parametrize("neg", NEGATIVE_FAMILIES, ids=lambda f: f.name)
def test_negatives_are_valid_traces_with_their_documented_shape(neg: object) -> None:
    from hil_tests.pulses.negatives import NegativeFamily

    assert isinstance(neg, NegativeFamily)
    assert neg.description
    for seed in SEEDS:
        trace = generate(neg, seed, region=Region.JP)
        check_trace(trace)
        assert trace.region is Region.JP and trace.pulses
        widths = [p.width_us for p in trace.pulses]
        if neg.name == "neg-wifi-traffic":
            assert min(widths) >= 28
        if neg.name == "neg-wide-bursts":
            assert min(widths) >= 1000
        if neg.name == "neg-single-pulses":
            assert len(trace.pulses) <= 5 and min(_gaps(trace) or [200_000]) >= 200_000
        if neg.name == "neg-stray-chirps":
            assert all(p.chirp for p in trace.pulses)
            long_chirps = [p.ts_us for p in trace.pulses if p.width_us >= 48]
            assert not any(984 <= b - a <= 2016 for a, b in itertools.pairwise(long_chirps))


def test_fcc_type1_test_a_draws_only_table_5a_pris_and_test_b_never_does() -> None:
    test_a = {_gaps(generate("fcc-1a", seed))[0] for seed in range(200)}
    test_b = {_gaps(generate("fcc-1", seed))[0] for seed in range(200)}
    assert test_a <= set(FCC_TYPE1_TEST_A_PRI_US)
    assert len(test_a) >= 15, "Test A uses at least 15 of the 23 table values over 200 bursts"
    assert not test_b & set(FCC_TYPE1_TEST_A_PRI_US)
    assert len(FCC_TYPE1_TEST_A_PRI_US) == 23


def test_etsi_weather_channel_cac_signals_send_ten_times_the_pulses_on_a_weather_channel() -> None:
    table = {f.name: f for f in TRAINS if f.region is Region.ETSI and not f.name.endswith("-weather")}
    weather = {f.name.removesuffix("-weather"): f for f in TRAINS if f.name.endswith("-weather")}
    assert set(weather) == set(table) - {"etsi-ref"}
    for name, fam in weather.items():
        assert fam.pulses == (table[name].pulses[0] * 10, table[name].pulses[1] * 10)
        assert 5600 <= fam.channel_mhz <= 5650
        assert generate(fam, 1).channel_mhz == fam.channel_mhz
