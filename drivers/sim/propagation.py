"""Path loss between nodes of the floor plan: distance, walls, floors and shadowing.

Model (rf-model.md section 1.1, TGax enterprise, 11-14/0980 as restated by the ns-3 11ax fork):

    PL = 40.05 + 20·log10(fc/2.4) + 20·log10(min(d, dBP)) + [d > dBP]·35·log10(d/dBP) + Lpen

with dBP = 10 m, d = max(3-D distance, 1 m) and fc in GHz. The penetration term Lpen is built from
the floor plan instead of the fixed 7 dB per wall (rf-model 1.1, floor-plan tip): the loss_db of
every wall whose 2-D segment the link crosses, plus the COST-231 multi-floor term
18.3·F^((F+2)/(F+1) − 0.46) for F floors crossed. A wall stands on one floor and blocks links whose
endpoints' floors bracket it. On top comes log-normal shadowing (σ from the scenario, 5 dB by
default), drawn once per node pair so that both directions of a link see the same value and a node
keeps its values wherever it stands.

The frequency term is the only frequency dependence (rf-model 1.1), so the geometric part is
computed once per node pair and the frequency term added per transmission.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

BREAKPOINT_M = 10.0
"""TGax enterprise breakpoint distance dBP (rf-model 1.1)."""
AP_HEIGHT_M = 2.5
CLIENT_HEIGHT_M = 1.0
INTERFERER_HEIGHT_M = 1.5


@dataclass(frozen=True, slots=True)
class NodePositions:
    """Positions of a set of nodes: plan coordinates, floor index and height above that floor."""

    x: FloatArray
    y: FloatArray
    floor: NDArray[np.int64]
    height_m: FloatArray

    @staticmethod
    def of(points: Sequence[tuple[float, float, int]], height_m: float) -> NodePositions:
        arr = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return NodePositions(
            x=arr[:, 0].copy(),
            y=arr[:, 1].copy(),
            floor=arr[:, 2].astype(np.int64),
            height_m=np.full(arr.shape[0], height_m),
        )

    def __len__(self) -> int:
        return int(self.x.size)


@dataclass(frozen=True, slots=True)
class WallSegments:
    """Walls as arrays: endpoints, floor and loss in dB."""

    x1: FloatArray
    y1: FloatArray
    x2: FloatArray
    y2: FloatArray
    floor: NDArray[np.int64]
    loss_db: FloatArray

    @staticmethod
    def of(walls: Sequence[tuple[float, float, float, float, int, float]]) -> WallSegments:
        arr = np.asarray(walls, dtype=np.float64).reshape(-1, 6)
        return WallSegments(
            arr[:, 0].copy(),
            arr[:, 1].copy(),
            arr[:, 2].copy(),
            arr[:, 3].copy(),
            arr[:, 4].astype(np.int64),
            arr[:, 5].copy(),
        )


def distance_loss_db(distance_m: FloatArray) -> FloatArray:
    """The distance part of TGax enterprise path loss at 2.4 GHz (rf-model 1.1)."""
    d = np.maximum(distance_m, 1.0)
    near = 20.0 * np.log10(np.minimum(d, BREAKPOINT_M))
    far = np.where(d > BREAKPOINT_M, 35.0 * np.log10(d / BREAKPOINT_M), 0.0)
    return np.asarray(40.05 + near + far, dtype=np.float64)


def frequency_term_db(freq_mhz: FloatArray | float) -> FloatArray:
    """20·log10(fc/2.4 GHz): the only frequency dependence of the TGax model (rf-model 1.1)."""
    return np.asarray(20.0 * np.log10(np.asarray(freq_mhz, dtype=np.float64) / 2400.0), dtype=np.float64)


def floor_loss_db(floors_crossed: NDArray[np.int64]) -> FloatArray:
    """COST-231 multi-floor term 18.3·F^((F+2)/(F+1) − 0.46), 0 for F = 0 (rf-model 1.1)."""
    f = np.asarray(floors_crossed, dtype=np.float64)
    exponent = (f + 2.0) / (f + 1.0) - 0.46
    return np.asarray(np.where(f > 0, 18.3 * np.power(f, exponent), 0.0), dtype=np.float64)


def wall_loss_db(a: NodePositions, b: NodePositions, walls: WallSegments) -> FloatArray:
    """Sum of loss_db of the walls each link a[i]–b[j] crosses, shape (len(a), len(b)).

    A link crosses a wall when their 2-D segments properly intersect (orientation test) and the
    wall's floor lies between the floors of the two endpoints, inclusive.
    """
    out = np.zeros((len(a), len(b)))
    if walls.loss_db.size == 0 or len(a) == 0 or len(b) == 0:
        return out
    ax, ay = a.x[:, None, None], a.y[:, None, None]
    bx, by = b.x[None, :, None], b.y[None, :, None]
    wx1, wy1, wx2, wy2 = (v[None, None, :] for v in (walls.x1, walls.y1, walls.x2, walls.y2))

    def orient(
        px: FloatArray, py: FloatArray, qx: FloatArray, qy: FloatArray, rx: FloatArray, ry: FloatArray
    ) -> FloatArray:
        return np.asarray(np.sign((qx - px) * (ry - py) - (qy - py) * (rx - px)), dtype=np.float64)

    d1 = orient(wx1, wy1, wx2, wy2, ax, ay)
    d2 = orient(wx1, wy1, wx2, wy2, bx, by)
    d3 = orient(ax, ay, bx, by, wx1, wy1)
    d4 = orient(ax, ay, bx, by, wx2, wy2)
    crosses = (d1 * d2 < 0) & (d3 * d4 < 0)
    low = np.minimum(a.floor[:, None], b.floor[None, :])[:, :, None]
    high = np.maximum(a.floor[:, None], b.floor[None, :])[:, :, None]
    on_path = (walls.floor[None, None, :] >= low) & (walls.floor[None, None, :] <= high)
    return np.asarray((crosses & on_path).astype(np.float64) @ walls.loss_db, dtype=np.float64)


def geometric_loss_db(a: NodePositions, b: NodePositions, walls: WallSegments, floor_height_m: float) -> FloatArray:
    """Frequency-independent path loss a[i]→b[j] (2.4 GHz reference), without shadowing (rf-model 1.1)."""
    za = a.floor * floor_height_m + a.height_m
    zb = b.floor * floor_height_m + b.height_m
    dist = np.sqrt(
        (a.x[:, None] - b.x[None, :]) ** 2 + (a.y[:, None] - b.y[None, :]) ** 2 + (za[:, None] - zb[None, :]) ** 2
    )
    floors = np.abs(a.floor[:, None] - b.floor[None, :])
    return distance_loss_db(dist) + floor_loss_db(floors) + wall_loss_db(a, b, walls)


def shadowing_db(rng: np.random.Generator, sigma_db: float, n_sources: int, n_nodes: int) -> FloatArray:
    """Log-normal shadowing per (source, node) pair, in dB, shape (n_sources, n_nodes).

    Sources are the first ``n_sources`` nodes (APs first); the block among them is made symmetric,
    so a link between two sources sees the same value in both directions (rf-model 1.1 tip).
    """
    if sigma_db <= 0.0:
        return np.zeros((n_sources, n_nodes))
    values = rng.normal(0.0, sigma_db, size=(n_sources, n_nodes))
    square = values[:, :n_sources]
    upper = np.triu(square, 1)
    values[:, :n_sources] = upper + upper.T
    return values
