from __future__ import annotations

import pytest

from edge_agent.cooldown import RadioCooldowns
from edge_agent.steering_backoff import SteeringBackoff

pytestmark = pytest.mark.unit


def test_cooldown_holds_a_radio_for_its_time_unless_radar_overrides() -> None:
    cooldowns = RadioCooldowns(10.0)
    assert cooldowns.ready("r", 0.0)
    cooldowns.acted("r", 100.0)
    assert not cooldowns.ready("r", 105.0)
    assert cooldowns.ready("r", 105.0, override=True)
    assert cooldowns.remaining("r", 105.0) == 5.0
    assert cooldowns.ready("r", 110.0)
    assert cooldowns.ready("other", 105.0)


def test_a_client_that_ignores_steering_is_left_alone_longer_each_time() -> None:
    backoff = SteeringBackoff(base_s=300.0, max_s=1000.0)
    assert backoff.refused("c", 0.0) == 300.0
    assert not backoff.may_steer("c", 299.0)
    assert backoff.may_steer("c", 300.0)
    assert backoff.refused("c", 300.0) == 600.0
    assert backoff.refused("c", 900.0) == 1000.0
    backoff.moved("c")
    assert backoff.may_steer("c", 901.0)
    assert backoff.refused("c", 901.0) == 300.0


def test_old_back_off_entries_are_forgotten() -> None:
    backoff = SteeringBackoff(base_s=10.0, max_s=20.0)
    backoff.refused("c", 0.0)
    backoff.forget_older_than(100.0)
    assert backoff.refused("c", 100.0) == 10.0
