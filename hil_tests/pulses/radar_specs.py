"""Per-region radar detector specs: the rows the PRI detectors match, as dfs.md section 4 gives them.

Each row is built from the waveform numbers with the macros the Linux pattern detector uses
(``drivers/net/wireless/ath/dfs_pattern_detector.c``, read through dfs.md section 4):

- ``PRI_TOLERANCE`` 16 µs; widths widened by 5 %: WIDTH_LOWER(x) = (95x+50)/100, WIDTH_UPPER(x) = (105x+50)/100
  (integer division, whole µs).
- PPB_THRESH_RATE(ppb, r) = (ppb·r + 100 − r)/100 with r = 50 %, except JP types 0 and 1 (r = 29).
- FCC and JP rows take PRIs: pri_min = PMIN − 16, pri_max = PMAX·num_pri + 16.
- ETSI rows take PRFs: pri_min = PRF2PRI(PRFmax) − 16, pri_max = PRF2PRI(PRFmin)·num_pri + 16,
  PRF2PRI(f) = (10⁶ + f/2)/f.
- ``ppb`` is pulses per burst × num_pri; ``ppb_thresh`` is computed from the per-PRF count.

The names are ours: ``REGION-ID`` with the kernel's type id (FCC 101-103 are its three PRI slices of
FCC type 1). The kernel's JP table repeats id 5 for its hopping row; here that row is ``JP-5-hopping``.
"""

from __future__ import annotations

from dataclasses import dataclass

from radio_domain.regulatory import Region

PRI_TOLERANCE_US = 16
WIDTH_TOLERANCE_PERCENT = 5
DEFAULT_THRESH_RATE_PERCENT = 50


@dataclass(frozen=True, slots=True)
class RadarSpec:
    """One radar type a PRI detector looks for: width gate, PRI range, pulses needed, chirp or not."""

    name: str
    type_id: int
    width_min: int
    width_max: int
    pri_min: int
    pri_max: int
    num_pri: int
    ppb: int
    ppb_thresh: int
    max_pri_tolerance: int
    chirp: bool

    @property
    def fixed_pri(self) -> int | None:
        """The nominal PRI of a single-PRI type (range collapses to one value once tolerance is removed)."""
        low, high = self.pri_min + self.max_pri_tolerance, self.pri_max - self.max_pri_tolerance
        return low if low == high else None

    @property
    def window_us(self) -> int:
        """How far back queued pulses are kept: pri_max · ppb · num_pri."""
        return self.pri_max * self.ppb * self.num_pri


def width_lower(x: int) -> int:
    return (x * (100 - WIDTH_TOLERANCE_PERCENT) + 50) // 100


def width_upper(x: int) -> int:
    return (x * (100 + WIDTH_TOLERANCE_PERCENT) + 50) // 100


def ppb_thresh_rate(ppb: int, rate: int) -> int:
    return (ppb * rate + 100 - rate) // 100


def prf_to_pri(prf: int) -> int:
    return (1_000_000 + prf // 2) // prf


def _pri_row(
    region: Region,
    type_id: int,
    widths: tuple[int, int],
    pris: tuple[int, int],
    num_pri: int,
    ppb: int,
    *,
    rate: int = DEFAULT_THRESH_RATE_PERCENT,
    chirp: bool = False,
    name: str | None = None,
) -> RadarSpec:
    return RadarSpec(
        name=name or f"{region.value}-{type_id}",
        type_id=type_id,
        width_min=width_lower(widths[0]),
        width_max=width_upper(widths[1]),
        pri_min=pris[0] - PRI_TOLERANCE_US,
        pri_max=pris[1] * num_pri + PRI_TOLERANCE_US,
        num_pri=num_pri,
        ppb=ppb * num_pri,
        ppb_thresh=ppb_thresh_rate(ppb, rate),
        max_pri_tolerance=PRI_TOLERANCE_US,
        chirp=chirp,
    )


def _etsi(type_id: int, widths: tuple[int, int], prfs: tuple[int, int], num_pri: int, ppb: int) -> RadarSpec:
    pris = (prf_to_pri(prfs[1]), prf_to_pri(prfs[0]))
    return _pri_row(Region.ETSI, type_id, widths, pris, num_pri, ppb)


ETSI_SPECS = (  # EN 301 893 v1.5.1 signals, as the kernel's etsi_radar_ref_types_v15
    _etsi(0, (0, 1), (700, 700), 1, 18),
    _etsi(1, (0, 5), (200, 1000), 1, 10),
    _etsi(2, (0, 15), (200, 1600), 1, 15),
    _etsi(3, (0, 15), (2300, 4000), 1, 25),
    _etsi(4, (20, 30), (2000, 4000), 1, 20),
    _etsi(5, (0, 2), (300, 400), 3, 10),
    _etsi(6, (0, 2), (400, 1200), 3, 15),
)

FCC_SPECS = (
    _pri_row(Region.FCC, 0, (0, 1), (1428, 1428), 1, 18),
    _pri_row(Region.FCC, 101, (0, 1), (518, 938), 1, 57),
    _pri_row(Region.FCC, 102, (0, 1), (938, 2000), 1, 27),
    _pri_row(Region.FCC, 103, (0, 1), (2000, 3066), 1, 18),
    _pri_row(Region.FCC, 2, (0, 5), (150, 230), 1, 23),
    _pri_row(Region.FCC, 3, (6, 10), (200, 500), 1, 16),
    _pri_row(Region.FCC, 4, (11, 20), (200, 500), 1, 12),
    _pri_row(Region.FCC, 5, (50, 100), (1000, 2000), 1, 1, chirp=True),
    _pri_row(Region.FCC, 6, (0, 1), (333, 333), 1, 9),
)

JP_SPECS = (  # includes commit d8792393a783 (JP type 3 width 0-4 µs)
    _pri_row(Region.JP, 0, (0, 1), (1428, 1428), 1, 18, rate=29),
    _pri_row(Region.JP, 1, (2, 3), (3846, 3846), 1, 18, rate=29),
    _pri_row(Region.JP, 2, (0, 1), (1388, 1388), 1, 18),
    _pri_row(Region.JP, 3, (0, 4), (4000, 4000), 1, 18),
    _pri_row(Region.JP, 4, (0, 5), (150, 230), 1, 23),
    _pri_row(Region.JP, 5, (6, 10), (200, 500), 1, 16),
    _pri_row(Region.JP, 6, (11, 20), (200, 500), 1, 12),
    _pri_row(Region.JP, 7, (50, 100), (1000, 2000), 1, 3, chirp=True),
    _pri_row(Region.JP, 5, (0, 1), (333, 333), 1, 9, name="JP-5-hopping"),
)

SPECS_BY_REGION: dict[Region, tuple[RadarSpec, ...]] = {
    Region.FCC: FCC_SPECS,
    Region.ETSI: ETSI_SPECS,
    Region.JP: JP_SPECS,
}
