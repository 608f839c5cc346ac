"""Path loss: TGax enterprise distance law, walls, floors and shadowing (rf-model.md section 1.1)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.sim.propagation import (
    NodePositions,
    WallSegments,
    distance_loss_db,
    floor_loss_db,
    frequency_term_db,
    geometric_loss_db,
    shadowing_db,
    wall_loss_db,
)

pytestmark = pytest.mark.unit


def test_tgax_enterprise_sanity_numbers_at_5_2_ghz() -> None:
    """PL(10 m) = 66.8 dB and PL(30 m) = 83.5 dB at 5.2 GHz (rf-model 1.1)."""
    loss = distance_loss_db(np.array([10.0, 30.0])) + frequency_term_db(5200.0)
    assert loss == pytest.approx([66.8, 83.5], abs=0.1)


def test_distances_below_one_metre_count_as_one_and_loss_grows_with_distance() -> None:
    loss = distance_loss_db(np.array([0.0, 0.5, 1.0, 5.0, 10.0, 20.0, 80.0]))
    assert loss[0] == loss[1] == loss[2] == pytest.approx(40.05)
    assert np.all(np.diff(loss[2:]) > 0)
    assert loss[5] - loss[4] == pytest.approx(35 * np.log10(2))  # 35 dB/decade past the 10 m breakpoint


def test_floor_term_follows_cost_231() -> None:
    """18.3·F^((F+2)/(F+1)−0.46): 18.3, 33.5, 43.6 dB for 1, 2, 3 floors (rf-model 1.1)."""
    assert floor_loss_db(np.array([0, 1, 2, 3])) == pytest.approx([0.0, 18.3, 33.5, 43.6], abs=0.1)


def _points(*xyf: tuple[float, float, int]) -> NodePositions:
    return NodePositions.of(list(xyf), 1.0)


def test_walls_count_only_when_the_link_crosses_them_on_their_floor() -> None:
    walls = WallSegments.of([(5, 0, 5, 10, 0, 4.0), (8, 0, 8, 10, 0, 10.0), (5, 0, 5, 10, 1, 7.0)])
    a = _points((0, 5, 0))
    b = _points((6, 5, 0), (9, 5, 0), (3, 5, 0), (9, 5, 1), (6, 20, 0))
    assert wall_loss_db(a, b, walls)[0] == pytest.approx([4.0, 14.0, 0.0, 21.0, 0.0])


def test_geometry_combines_distance_floors_and_walls() -> None:
    walls = WallSegments.of([(5, 0, 5, 10, 0, 6.0)])
    a = NodePositions.of([(0, 5, 0)], 2.5)
    b = NodePositions.of([(10, 5, 0), (10, 5, 1)], 1.0)
    loss = geometric_loss_db(a, b, walls, floor_height_m=3.5)[0]
    same_floor = distance_loss_db(np.array([np.hypot(10, 1.5)]))[0] + 6.0
    next_floor = distance_loss_db(np.array([np.hypot(10, 2.0)]))[0] + 6.0 + 18.3
    assert loss == pytest.approx([same_floor, next_floor], abs=0.01)


def test_shadowing_is_seeded_symmetric_between_sources_and_off_at_zero_sigma() -> None:
    first = shadowing_db(np.random.default_rng(4), 5.0, 3, 8)
    again = shadowing_db(np.random.default_rng(4), 5.0, 3, 8)
    other = shadowing_db(np.random.default_rng(5), 5.0, 3, 8)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert np.array_equal(first[:, :3], first[:, :3].T)
    assert np.all(np.diag(first[:, :3]) == 0.0)
    assert 2.0 < float(np.std(shadowing_db(np.random.default_rng(1), 5.0, 40, 400))) < 8.0
    assert not shadowing_db(np.random.default_rng(4), 0.0, 3, 8).any()
