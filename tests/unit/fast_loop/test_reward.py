from __future__ import annotations

import pytest

from controller.fast_loop.period import next_period_s
from controller.fast_loop.reward import compute_reward, load_index, penalties, prediction_error, radio_reward
from controller.fast_loop.telemetry import CachedLoopTelemetry, LoopTelemetry
from controller.telemetry_window import RadioAggregate

pytestmark = pytest.mark.unit


def _telemetry(
    qoe: float | None = 0.8, per: float = 0.0, retry: float = 0.0, cca: float = 0.2, rssi_p5: float | None = -60.0
) -> LoopTelemetry:
    return LoopTelemetry(-55.0, -45.0, rssi_p5, 40.0, per, retry, 0.3, cca, 12, qoe)


def test_reward_is_qoe_minus_0_3_times_the_sum_of_penalties() -> None:
    assert compute_reward(0.8, {"a": 0.5, "b": 0.5}) == pytest.approx(0.5)
    breakdown = radio_reward(_telemetry(qoe=0.8, per=0.30, retry=0.30, cca=0.9, rssi_p5=-76.0))
    assert breakdown is not None
    assert breakdown.penalties == pytest.approx({"packet_error": 1.0, "retry": 0.5, "congestion": 1.0, "coverage": 0.5})
    assert breakdown.reward == pytest.approx(0.8 - 0.3 * 3.0)


def test_a_healthy_radio_has_no_penalty_and_a_radio_without_clients_no_reward() -> None:
    assert set(penalties(_telemetry()).values()) == {0.0}
    assert radio_reward(_telemetry(qoe=None)) is None
    assert penalties(_telemetry(rssi_p5=None))["coverage"] == 0.0


def test_load_index_saturates_and_prediction_error_has_a_floor() -> None:
    assert load_index(0) == 0.0
    assert load_index(15) == pytest.approx(0.5)
    assert 0.9 < load_index(200) < 1.0
    assert prediction_error(0.55, 0.5) == pytest.approx(0.1)
    assert prediction_error(0.01, 0.0) == pytest.approx(0.1)  # 0.01 off a zero reward, against the 0.1 floor


def test_telemetry_is_cached_for_ten_seconds_of_the_given_time() -> None:
    calls: list[int] = []

    def source(radio_id: str, now_ms: int) -> RadioAggregate | None:
        calls.append(now_ms)
        return RadioAggregate(
            radio_id,
            3,
            now_ms - 1000,
            now_ms,
            36,
            20,
            17.0,
            -60.0,
            -50.0,
            -70.0,
            30.0,
            40.0,
            20.0,
            0.01,
            0.05,
            0.3,
            0.2,
            0.3,
            5,
            -95.0,
            0.0,
            0.7,
        )

    cache = CachedLoopTelemetry(source)
    first = cache.get("ap-1/5g", 1000.0)
    assert first is not None and first.qoe_mean == 0.7 and first.station_count == 5
    cache.get("ap-1/5g", 1009.9)
    assert len(calls) == 1
    cache.get("ap-1/5g", 1010.0)
    assert calls == [1_000_000, 1_010_000]
    cache.forget("ap-1/5g")
    cache.get("ap-1/5g", 1010.5)
    assert len(calls) == 3


def test_period_is_short_when_qoe_moves_or_after_a_change_and_long_when_stable() -> None:
    assert next_period_s([0.7, 0.7, 0.7], changed_recently=False) == 300.0
    assert next_period_s([0.7, 0.7, 0.7], changed_recently=True) == 60.0
    assert next_period_s([0.6, 0.7], changed_recently=False) == 60.0
    assert next_period_s([0.7], changed_recently=False) == 60.0
    assert 60.0 < next_period_s([0.70, 0.73], changed_recently=False) < 300.0
