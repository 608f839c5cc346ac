"""The held-out check a safe-RL model must pass before it deploys learned plans."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from controller.slow_loop.cql_model import ConservativeQ, ModelFileError
from controller.slow_loop.held_out_check import HeldOutCheck, HeldOutCheckError
from controller.slow_loop.move_features import N_MOVE_FEATURES, N_STATE_FEATURES
from controller.slow_loop.npz_with_meta import read_npz_with_meta, write_npz_with_meta

# Measured held-out differences (safe-RL return less the heuristic's, 4 episodes).
UNPLANNED_OFFICE_31 = (63.3, 80.1, 40.3, 96.5)  # the learned first plan helped on every seed
SMALL_OFFICE_1 = (-42.1, -51.1, 8.4, 15.8)  # it helped on two seeds and hurt on two


def test_a_consistent_improvement_passes_with_the_student_t_bound() -> None:
    check = HeldOutCheck(UNPLANNED_OFFICE_31, deployed=4)
    mean = sum(UNPLANNED_OFFICE_31) / 4
    sd = math.sqrt(sum((d - mean) ** 2 for d in UNPLANNED_OFFICE_31) / 3)
    assert check.mean == pytest.approx(mean)
    assert check.lower_bound == pytest.approx(mean - 2.3534 * sd / 2, abs=0.01)  # t(3) at 95 %
    assert check.passed
    assert "passed" in check.describe() and "+70.0" in check.describe()


@pytest.mark.parametrize(
    ("differences", "why"),
    [
        (SMALL_OFFICE_1, "worse on half the seeds"),
        ((5.0, -4.0, 6.0, -3.0), "a positive mean within the noise"),
        ((0.0, 0.0, 0.0, 0.0), "never deviated: nothing shown"),
        ((50.0,), "one episode has no spread"),
        ((), "no episode"),
    ],
)
def test_what_does_not_show_an_improvement_fails(differences: tuple[float, ...], why: str) -> None:
    check = HeldOutCheck(differences)
    assert not check.passed, why
    assert "failed" in check.describe()


def test_a_higher_confidence_asks_for_more() -> None:
    differences = (10.0, 2.0, 8.0, 4.0)
    assert HeldOutCheck(differences, confidence=0.9).passed
    assert not HeldOutCheck(differences, confidence=0.995).passed


@pytest.mark.parametrize(
    ("meta", "named"),
    [
        ([1.0], "must be a mapping"),
        ({"differences": "12", "confidence": 0.95, "deployed": 0}, "held_out_check.differences"),
        ({"differences": [1.0, True], "confidence": 0.95, "deployed": 0}, "held_out_check.differences"),
        ({"differences": [1.0], "confidence": "high", "deployed": 0}, "held_out_check.confidence"),
        ({"differences": [1.0], "confidence": 0.95, "deployed": 1.5}, "held_out_check.deployed"),
        ({"differences": [1.0], "confidence": 1.5, "deployed": 0}, "confidence must be in"),
        ({"differences": [1.0], "confidence": 0.95, "deployed": 3}, "deployed must be 0..1"),
        ({"differences": [float("nan")], "confidence": 0.95, "deployed": 0}, "finite"),
    ],
)
def test_a_bad_stored_check_is_refused_naming_the_field(meta: object, named: str) -> None:
    with pytest.raises(HeldOutCheckError, match=named):
        HeldOutCheck.from_meta(meta)


def _model(check: HeldOutCheck | None) -> ConservativeQ:
    return ConservativeQ(
        state_weights=np.zeros(N_STATE_FEATURES),
        move_weights=np.ones(N_MOVE_FEATURES),
        move_scale=np.ones(N_MOVE_FEATURES),
        move_precision=np.eye(N_MOVE_FEATURES),
        residual_std=0.1,
        pessimism=1.0,
        gamma=0.5,
        held_out_check=check,
    )


@pytest.mark.parametrize("check", [HeldOutCheck(UNPLANNED_OFFICE_31, deployed=3), HeldOutCheck(SMALL_OFFICE_1), None])
def test_the_model_file_keeps_the_check(tmp_path: Path, check: HeldOutCheck | None) -> None:
    _model(check).save(tmp_path / "m.npz")
    assert ConservativeQ.load(tmp_path / "m.npz").held_out_check == check


def test_a_model_file_with_a_tampered_check_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    _model(HeldOutCheck(SMALL_OFFICE_1)).save(path)
    meta, arrays = read_npz_with_meta(path)
    assert isinstance(meta, dict)
    meta["held_out_check"] = {"differences": "all good", "confidence": 0.95, "deployed": 0}
    write_npz_with_meta(path, meta, arrays)
    with pytest.raises(ModelFileError, match=rf"{path}: held_out_check.differences"):
        ConservativeQ.load(path)
