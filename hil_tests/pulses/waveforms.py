"""Radar test waveforms as data: the parameter ranges of FCC types 0-6, ETSI signals and JP types.

Numbers from ../shared/facts/dfs.md sections 1-3 (tags there: [R] read in a source, [M] recalled).
Pulse widths are drawn in 0.1 µs steps, PRIs in 1 µs steps, PRFs in 1 pps steps (PRI = 10⁶/PRF
rounded). Not covered, with the reason:

- FCC type 1 has two halves: ``fcc-1a`` is Test A, a PRI from the 23 values of KDB 905462 D02
  Table 5a (518-938 µs in 20 µs steps, and 3066 µs; recalled [bg], dfs.md notes the table was not
  read there, so check it against the PDF before a certification run), and ``fcc-1`` is Test B, a PRI
  random in 518-3066 µs excluding the Table 5a values. Both send N = ⌈19·10⁶ / (360·PRI)⌉ pulses.
  The pre-2014 type 1 (1 µs, 1428 µs, 18 pulses) is the same waveform as ``fcc-0``.
- ETSI signals 1-6 during CAC on the weather channels 5600-5650 MHz send ten times the pulses per
  burst (dfs.md §2, the ×10 multiplier [M]): ``etsi-N-weather`` on 5620 MHz (channel 124).
- Not covered: EN 302 502's hopping/chirp signals (5.8 GHz fixed links).
- JP W53 variable 3/4 and chirp 5-10 from the newer Keysight N7607 page only: the kernel's JP table
  follows the N7607B types, and dfs.md says the two pages disagree. W56 fixed 2 (1 µs, 700 Hz, 18)
  is the same waveform as ``jp-w53-fixed-1``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from radio_domain.regulatory import Region

FCC_CHANNEL_MHZ = 5260  # channel 52, W53 in Japan
ETSI_CHANNEL_MHZ = 5500  # channel 100, outside the 5600-5650 MHz weather band
ETSI_WEATHER_CHANNEL_MHZ = 5620  # channel 124, inside it: CAC tests use ten times the pulses per burst
WEATHER_PPB_FACTOR = 10
# KDB 905462 D02 Table 5a, the FCC type 1 Test A PRIs (µs), recalled [bg]: see the module docstring.
FCC_TYPE1_TEST_A_PRI_US: tuple[int, ...] = (*range(518, 939, 20), 3066)
W56_CHANNEL_MHZ = 5500


@dataclass(frozen=True, slots=True)
class PulseTrainFamily:
    """One burst of equal short pulses at one PRI, or at 2-3 staggered PRFs cycled pulse by pulse."""

    name: str
    region: Region
    source: str
    width_us: tuple[float, float]
    pulses: tuple[int, int]  # per burst; per PRF when staggered
    pri_us: tuple[int, int] | None = None
    prf_pps: tuple[int, int] | None = None
    pri_choices_us: tuple[int, ...] = ()  # when set, the PRI is one of these (FCC type 1 Test A)
    pri_excluded_us: tuple[int, ...] = ()  # PRIs ``pri_us`` never draws (FCC type 1 Test B)
    pulse_count: Literal["range", "fcc-type1"] = "range"
    prf_count: tuple[int, int] = (1, 1)
    prf_spacing_pps: tuple[int, int] | None = None
    chirp: bool = False
    channel_mhz: int = FCC_CHANNEL_MHZ


@dataclass(frozen=True, slots=True)
class ChirpBurstFamily:
    """FCC type 5 style: ``bursts`` bursts of 1-3 chirped long pulses, one burst per equal slice of the period."""

    name: str
    region: Region
    source: str
    width_us: tuple[float, float] = (50.0, 100.0)  # fixed within a burst
    chirp_width_mhz: tuple[int, int] = (5, 20)  # not in the pulse reports (only the chirp flag is)
    pri_us: tuple[int, int] = (1000, 2000)  # may differ within a burst
    pulses_per_burst: tuple[int, int] = (1, 3)
    bursts: tuple[int, int] = (8, 20)
    period_us: int = 12_000_000
    channel_mhz: int = FCC_CHANNEL_MHZ


@dataclass(frozen=True, slots=True)
class HoppingFamily:
    """FCC type 6 style: 9 pulses per hop, 3 ms hops over random frequencies; only in-band hops are received."""

    name: str
    region: Region
    source: str
    width_us: float = 1.0
    pri_us: int = 333
    pulses_per_hop: int = 9
    hop_us: int = 3000
    hops: int = 100  # a 300 ms sequence
    hop_mhz: tuple[int, int] = (5250, 5724)  # 475 integer frequencies, drawn without replacement
    detection_bw_mhz: int = 20
    channel_mhz: int = FCC_CHANNEL_MHZ


RadarFamily = PulseTrainFamily | ChirpBurstFamily | HoppingFamily

_FCC = "dfs.md §1, KDB 905462 D02 Table 5"
_ETSI = "dfs.md §2, EN 301 893 Table D.4 (kernel v1.5.1 table)"
_JP = "dfs.md §3, Keysight N7607B / kernel JP table"

_TABLE_FAMILIES: tuple[RadarFamily, ...] = (
    PulseTrainFamily("fcc-0", Region.FCC, _FCC, (1.0, 1.0), (18, 18), pri_us=(1428, 1428)),
    PulseTrainFamily(
        "fcc-1a",
        Region.FCC,
        _FCC + "a Test A [bg]",
        (1.0, 1.0),
        (0, 0),
        (518, 3066),
        pri_choices_us=FCC_TYPE1_TEST_A_PRI_US,
        pulse_count="fcc-type1",
    ),
    PulseTrainFamily(
        "fcc-1",
        Region.FCC,
        _FCC + "a Test B",
        (1.0, 1.0),
        (0, 0),
        (518, 3066),
        pri_excluded_us=FCC_TYPE1_TEST_A_PRI_US,
        pulse_count="fcc-type1",
    ),
    PulseTrainFamily("fcc-2", Region.FCC, _FCC, (1.0, 5.0), (23, 29), pri_us=(150, 230)),
    PulseTrainFamily("fcc-3", Region.FCC, _FCC, (6.0, 10.0), (16, 18), pri_us=(200, 500)),
    PulseTrainFamily("fcc-4", Region.FCC, _FCC, (11.0, 20.0), (12, 16), pri_us=(200, 500)),
    ChirpBurstFamily("fcc-5", Region.FCC, _FCC + " type 5"),
    HoppingFamily("fcc-6", Region.FCC, "dfs.md §1 type 6 (PW/PRI/ppb [R], hopping [M])"),
    PulseTrainFamily(
        "etsi-ref", Region.ETSI, _ETSI, (1.0, 1.0), (18, 18), prf_pps=(700, 700), channel_mhz=ETSI_CHANNEL_MHZ
    ),
    PulseTrainFamily(
        "etsi-1", Region.ETSI, _ETSI, (0.8, 5.0), (10, 10), prf_pps=(200, 1000), channel_mhz=ETSI_CHANNEL_MHZ
    ),
    PulseTrainFamily(
        "etsi-2", Region.ETSI, _ETSI, (0.8, 15.0), (15, 15), prf_pps=(200, 1600), channel_mhz=ETSI_CHANNEL_MHZ
    ),
    PulseTrainFamily(
        "etsi-3", Region.ETSI, _ETSI, (0.8, 15.0), (25, 25), prf_pps=(2300, 4000), channel_mhz=ETSI_CHANNEL_MHZ
    ),
    PulseTrainFamily(
        "etsi-4",
        Region.ETSI,
        _ETSI,
        (20.0, 30.0),
        (20, 20),
        prf_pps=(2000, 4000),
        chirp=True,
        channel_mhz=ETSI_CHANNEL_MHZ,
    ),
    PulseTrainFamily(
        "etsi-5",
        Region.ETSI,
        _ETSI + "; PRF spacing [M]",
        (0.8, 2.0),
        (10, 10),
        prf_pps=(300, 400),
        prf_count=(2, 3),
        prf_spacing_pps=(20, 50),
        channel_mhz=ETSI_CHANNEL_MHZ,
    ),
    PulseTrainFamily(
        "etsi-6",
        Region.ETSI,
        _ETSI + "; PRF spacing [M]",
        (0.8, 2.0),
        (15, 15),
        prf_pps=(400, 1200),
        prf_count=(2, 3),
        prf_spacing_pps=(80, 400),
        channel_mhz=ETSI_CHANNEL_MHZ,
    ),
    PulseTrainFamily("jp-w53-fixed-1", Region.JP, _JP + " (700 Hz)", (1.0, 1.0), (18, 18), pri_us=(1428, 1428)),
    PulseTrainFamily("jp-w53-fixed-2", Region.JP, _JP + " (260 Hz)", (2.5, 2.5), (18, 18), pri_us=(3846, 3846)),
    PulseTrainFamily(
        "jp-w56-fixed-1",
        Region.JP,
        _JP + " (720 Hz)",
        (0.5, 0.5),
        (18, 18),
        pri_us=(1388, 1388),
        channel_mhz=W56_CHANNEL_MHZ,
    ),
    PulseTrainFamily(
        "jp-w56-fixed-3",
        Region.JP,
        _JP + " (250 Hz)",
        (2.0, 2.0),
        (18, 18),
        pri_us=(4000, 4000),
        channel_mhz=W56_CHANNEL_MHZ,
    ),
    PulseTrainFamily(
        "jp-w56-variable-1",
        Region.JP,
        _JP + " (= FCC 2)",
        (1.0, 5.0),
        (23, 29),
        (150, 230),
        channel_mhz=W56_CHANNEL_MHZ,
    ),
    PulseTrainFamily(
        "jp-w56-variable-2",
        Region.JP,
        _JP + " (= FCC 3)",
        (6.0, 10.0),
        (16, 18),
        (200, 500),
        channel_mhz=W56_CHANNEL_MHZ,
    ),
    PulseTrainFamily(
        "jp-w56-variable-3",
        Region.JP,
        _JP + " (= FCC 4)",
        (11.0, 20.0),
        (12, 16),
        (200, 500),
        channel_mhz=W56_CHANNEL_MHZ,
    ),
    ChirpBurstFamily("jp-w56-chirp", Region.JP, _JP + " (= FCC 5)", channel_mhz=W56_CHANNEL_MHZ),
    HoppingFamily("jp-w56-hopping", Region.JP, _JP + " (= FCC 6 [M])", channel_mhz=W56_CHANNEL_MHZ),
)


def _weather_cac(fam: PulseTrainFamily) -> PulseTrainFamily:
    """The same ETSI signal as sent during CAC on a weather channel: ten times the pulses per burst."""
    low, high = fam.pulses
    return replace(
        fam,
        name=f"{fam.name}-weather",
        source=fam.source + "; weather-channel CAC, ppb ×10 [M]",
        pulses=(low * WEATHER_PPB_FACTOR, high * WEATHER_PPB_FACTOR),
        channel_mhz=ETSI_WEATHER_CHANNEL_MHZ,
    )


RADAR_FAMILIES: tuple[RadarFamily, ...] = _TABLE_FAMILIES + tuple(
    _weather_cac(f)
    for f in _TABLE_FAMILIES
    if isinstance(f, PulseTrainFamily) and f.region is Region.ETSI and f.name != "etsi-ref"
)

RADAR_FAMILY_BY_NAME: dict[str, RadarFamily] = {f.name: f for f in RADAR_FAMILIES}
