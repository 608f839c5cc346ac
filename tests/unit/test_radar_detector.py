"""The emulated radio's PRI pattern detector: spec tables, detection of every family, negatives, regions."""

from __future__ import annotations

import math

import pytest

from hil_tests.pulses.generator import Impairments, generate
from hil_tests.pulses.negatives import NEGATIVE_FAMILIES
from hil_tests.pulses.pattern_detector import UNSET_REGION_TYPE, PatternDetector
from hil_tests.pulses.pri_detector import pri_multiple
from hil_tests.pulses.radar_specs import SPECS_BY_REGION
from hil_tests.pulses.replay import RealTime, replay
from hil_tests.pulses.trace_format import Pulse, PulseTrace
from hil_tests.pulses.waveforms import RADAR_FAMILIES
from radio_domain.regulatory import Region

pytestmark = pytest.mark.unit

# dfs.md section 4, "effective values after macro expansion": name, w_min, w_max, pri_min, pri_max, num_pri, ppb,
# ppb_thresh, chirp.
DFS_MD_TABLE = {
    Region.ETSI: [
        ("ETSI-0", 0, 1, 1413, 1445, 1, 18, 9, False),
        ("ETSI-1", 0, 5, 984, 5016, 1, 10, 5, False),
        ("ETSI-2", 0, 16, 609, 5016, 1, 15, 8, False),
        ("ETSI-3", 0, 16, 234, 451, 1, 25, 13, False),
        ("ETSI-4", 19, 32, 234, 516, 1, 20, 10, False),
        ("ETSI-5", 0, 2, 2484, 10015, 3, 30, 5, False),
        ("ETSI-6", 0, 2, 817, 7516, 3, 45, 8, False),
    ],
    Region.FCC: [
        ("FCC-0", 0, 1, 1412, 1444, 1, 18, 9, False),
        ("FCC-101", 0, 1, 502, 954, 1, 57, 29, False),
        ("FCC-102", 0, 1, 922, 2016, 1, 27, 14, False),
        ("FCC-103", 0, 1, 1984, 3082, 1, 18, 9, False),
        ("FCC-2", 0, 5, 134, 246, 1, 23, 12, False),
        ("FCC-3", 6, 11, 184, 516, 1, 16, 8, False),
        ("FCC-4", 10, 21, 184, 516, 1, 12, 6, False),
        ("FCC-5", 48, 105, 984, 2016, 1, 1, 1, True),
        ("FCC-6", 0, 1, 317, 349, 1, 9, 5, False),
    ],
    Region.JP: [
        ("JP-0", 0, 1, 1412, 1444, 1, 18, 5, False),
        ("JP-1", 2, 3, 3830, 3862, 1, 18, 5, False),
        ("JP-2", 0, 1, 1372, 1404, 1, 18, 9, False),
        ("JP-3", 0, 4, 3984, 4016, 1, 18, 9, False),
        ("JP-4", 0, 5, 134, 246, 1, 23, 12, False),
        ("JP-5", 6, 11, 184, 516, 1, 16, 8, False),
        ("JP-6", 10, 21, 184, 516, 1, 12, 6, False),
        ("JP-7", 48, 105, 984, 2016, 1, 3, 2, True),
        ("JP-5-hopping", 0, 1, 317, 349, 1, 9, 5, False),
    ],
}


def _train(
    pri: int, n: int, width: float = 1.0, *, chirp: bool = False, start: int = 1_000_000, freq: int = 5260
) -> list[Pulse]:
    return [Pulse(start + i * pri, freq, width, 20, chirp) for i in range(n)]


def _detect(pulses: list[Pulse], region: Region | None) -> list[str]:
    detector = PatternDetector(region)
    return [d.radar_type for p in pulses if (d := detector.add_pulse(p)) is not None]


def _first(trace: PulseTrace, region: Region | None = None) -> str | None:
    found = replay(trace, PatternDetector(region or trace.region), stop_at_first=True)
    return found[0].radar_type if found else None


@pytest.mark.parametrize("region", list(Region))
def test_the_spec_tables_are_dfs_md_section_4(region: Region) -> None:
    rows = [
        (s.name, s.width_min, s.width_max, s.pri_min, s.pri_max, s.num_pri, s.ppb, s.ppb_thresh, s.chirp)
        for s in SPECS_BY_REGION[region]
    ]
    assert rows == DFS_MD_TABLE[region]
    assert all(s.max_pri_tolerance == 16 for s in SPECS_BY_REGION[region])


@pytest.mark.parametrize(
    ("gap", "pri", "factor"),
    [
        (1428, 1428, 1),
        (1444, 1428, 1),
        (1445, 1428, 0),
        (2856 + 16, 1428, 2),
        (4284 - 16, 1428, 3),
        (700, 1428, 0),
        (5, 1000, 0),
    ],
)
def test_pri_multiples_allow_skipped_pulses_within_tolerance(gap: int, pri: int, factor: int) -> None:
    assert pri_multiple(gap, pri, 16) == factor


@pytest.mark.parametrize("fam", RADAR_FAMILIES, ids=lambda f: f.name)
def test_every_clean_waveform_is_detected_in_its_region(fam: object) -> None:
    for seed in range(5):
        trace = generate(fam, seed)  # type: ignore[arg-type]
        assert _first(trace) is not None, f"seed {seed}"


@pytest.mark.parametrize("fam", RADAR_FAMILIES, ids=lambda f: f.name)
def test_waveforms_are_detected_with_lost_pulses_and_jitter(fam: object) -> None:
    imp = Impairments(lost_fraction=0.2, jitter_us=8)
    found = [_first(generate(fam, (seed, 99), imp)) for seed in range(10)]  # type: ignore[arg-type]
    assert sum(t is not None for t in found) >= 9, found


@pytest.mark.parametrize("name", ["fcc-2", "etsi-2", "jp-w53-fixed-2", "fcc-5"])
def test_stray_pulses_do_not_hide_a_radar(name: str) -> None:
    imp = Impairments(lost_fraction=0.2, jitter_us=4, width_error=0.05, stray_rate_hz=500.0)
    found = [_first(generate(name, (seed, 7), imp)) for seed in range(10)]
    assert sum(t is not None for t in found) >= 9, found


@pytest.mark.parametrize("neg", NEGATIVE_FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize("region", list(Region))
def test_negatives_are_not_radar(neg: object, region: Region) -> None:
    for seed in range(6):
        assert _first(generate(neg, seed, region=region)) is None, f"seed {seed}"  # type: ignore[arg-type]


def test_a_waveform_is_detected_as_its_own_type() -> None:
    assert _first(generate("fcc-0", 1)) == "FCC-0"
    assert _first(generate("fcc-4", 1)) == "FCC-4"
    assert _first(generate("fcc-5", 1)) == "FCC-5"
    assert _first(generate("etsi-4", 1)) == "ETSI-4"
    assert _first(generate("jp-w53-fixed-2", 1)) == "JP-1"
    assert _first(generate("jp-w56-chirp", 1)) == "JP-7"


def test_jp_260_hz_is_radar_in_japan_and_europe_but_no_fcc_type() -> None:
    trace = generate("jp-w53-fixed-2", 4)
    assert _first(trace, Region.JP) == "JP-1"
    assert _first(trace, Region.ETSI) == "ETSI-1"
    assert _first(trace, Region.FCC) is None  # longest FCC PRI is 3066 µs


def test_etsi_signal_4_wider_than_fcc_type_4_is_only_etsi_radar() -> None:
    pulses = _train(300, 20, 25.0, chirp=True)
    assert _detect(pulses, Region.ETSI)[:1] == ["ETSI-4"]
    assert _detect(pulses, Region.FCC) == []
    assert _detect(_train(300, 20, 20.0, chirp=True), Region.FCC)[:1] == ["FCC-4"]


def test_etsi_signal_3_with_narrow_pulses_is_no_fcc_type() -> None:
    pulses = _train(300, 25, 2.0)  # 3333 pps: above FCC type 2's 230 µs PRI limit, too narrow for type 3
    assert _detect(pulses, Region.ETSI)[:1] == ["ETSI-3"]
    assert _detect(pulses, Region.FCC) == []


def test_long_chirps_are_radar_under_fcc_and_jp_rules_only() -> None:
    trace = generate("fcc-5", 2)
    assert _first(trace, Region.FCC) == "FCC-5"
    assert _first(trace, Region.JP) == "JP-7"
    assert _first(trace, Region.ETSI) is None  # the ETSI table has no long-pulse chirp type


def test_type5_needs_a_chirped_pair_within_a_burst() -> None:
    lone = [Pulse(1_000_000 + i * 300_000, 5260, 70.0, 20, True) for i in range(10)]
    assert _detect(lone, Region.FCC) == []
    pair = [Pulse(1_000_000, 5260, 70.0, 20, True), Pulse(1_001_500, 5260, 70.0, 20, True)]
    assert _detect(pair, Region.FCC) == ["FCC-5"]
    unchirped = [Pulse(p.ts_us, p.freq_mhz, p.width_us, p.rssi_db, False) for p in pair]
    assert _detect(unchirped, Region.FCC) == []
    assert _detect(pair, Region.JP) == ["JP-7"]


def test_staggered_prfs_are_found_through_their_summed_period() -> None:
    pris = [3100, 2800, 2600]  # 323, 357, 385 pps
    ts, pulses = 1_000_000, []
    for i in range(30):
        pulses.append(Pulse(ts, 5500, 2.0, 20, False))
        ts += pris[i % 3]
    assert _detect(pulses, Region.ETSI)[:1] == ["ETSI-5"]
    assert _detect(pulses, Region.FCC) == []


def test_widths_are_gated_in_whole_microseconds() -> None:
    assert _detect(_train(1428, 18, 1.49), Region.FCC)[:1] == ["FCC-0"]
    assert _detect(_train(1428, 18, 3.0), Region.FCC) == []


def test_channels_are_detected_apart() -> None:
    together = _train(1428, 16)
    split = [Pulse(p.ts_us, 5260 if i < 8 else 5280, 1.0, 20, False) for i, p in enumerate(together)]
    assert _detect(together, Region.FCC)[:1] == ["FCC-0"]
    assert _detect(split, Region.FCC) == []


def test_a_timestamp_going_back_resets_every_detector() -> None:
    first, second = _train(1428, 8, start=5_000_000), _train(1428, 8, start=1_000_000)
    assert _detect(first + second, Region.FCC) == []
    assert _detect(first + _train(1428, 8, start=5_000_000 + 8 * 1428), Region.FCC)[:1] == ["FCC-0"]


def test_echoes_closer_than_the_tolerance_are_ignored() -> None:
    clean = _train(1428, 18)
    echoed = sorted(
        clean + [Pulse(p.ts_us + 5, p.freq_mhz, p.width_us, p.rssi_db, False) for p in clean], key=lambda p: p.ts_us
    )
    a, b = PatternDetector(Region.FCC), PatternDetector(Region.FCC)
    first_clean = next(d for p in clean if (d := a.add_pulse(p)))
    first_echoed = next(d for p in echoed if (d := b.add_pulse(p)))
    assert first_clean == first_echoed
    assert (first_clean.ts_us, first_clean.pri_us, first_clean.count) == (clean[8].ts_us, 1428, 9)


def test_a_detected_type_starts_again_and_other_types_keep_their_sequences() -> None:
    found = replay(PulseTrace(Region.FCC, 5260, tuple(_train(1428, 18))), PatternDetector(Region.FCC))
    assert [(d.radar_type, d.count) for d in found] == [("FCC-0", 9), ("FCC-102", 14), ("FCC-0", 9)]
    assert found[2].ts_us - found[0].ts_us == 9 * 1428  # the detecting pulse is not queued again


def test_sequences_take_only_pulses_of_similar_width() -> None:
    mixed = [Pulse(p.ts_us, p.freq_mhz, 11.0 if i % 2 else 20.0, 20, False) for i, p in enumerate(_train(300, 12))]
    kernel = PatternDetector(Region.FCC, width_match=None)
    assert [d.radar_type for p in mixed if (d := kernel.add_pulse(p))][:1] == ["FCC-4"]
    assert _detect(mixed, Region.FCC) == []
    assert _detect(_train(300, 12, 20.0), Region.FCC)[:1] == ["FCC-4"]


def test_with_no_region_every_pulse_is_radar() -> None:
    assert _detect(_train(100_000, 2), None) == [UNSET_REGION_TYPE, UNSET_REGION_TYPE]


class FakeClock:
    """A monotonic clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_real_time_replay_offers_each_pulse_at_its_offset(speed: float) -> None:
    trace = generate("fcc-0", 1)
    clock = FakeClock()
    seen: list[tuple[int, float]] = []
    found = replay(
        trace,
        PatternDetector(trace.region),
        lambda d: seen.append((d.ts_us, clock.now)),
        RealTime(clock, clock.sleep, speed),
    )
    assert found and len(seen) == len(found)
    ts, at = seen[0]
    assert math.isclose(at - 100.0, (ts - trace.pulses[0].ts_us) / 1e6 / speed)
    assert math.isclose(clock.now - 100.0, (trace.pulses[-1].ts_us - trace.pulses[0].ts_us) / 1e6 / speed)
    assert len(clock.sleeps) == len(trace.pulses) - 1


def test_virtual_replay_can_stop_at_the_first_detection() -> None:
    trace = PulseTrace(Region.FCC, 5260, tuple(_train(1428, 36)))
    calls: list[int] = []
    found = replay(trace, PatternDetector(Region.FCC), lambda d: calls.append(d.ts_us), stop_at_first=True)
    assert [d.ts_us for d in found] == calls == [trace.pulses[8].ts_us]
    assert replay(PulseTrace(Region.FCC, 5260, ()), PatternDetector(Region.FCC)) == []
    with pytest.raises(ValueError, match="speed"):
        RealTime(FakeClock(), FakeClock().sleep, 0.0)
