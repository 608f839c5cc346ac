from __future__ import annotations

import random

import pytest

from edge_agent.backoff import ExponentialBackoff

pytestmark = pytest.mark.unit


def test_delays_grow_exponentially_within_jitter_and_stop_at_the_cap() -> None:
    backoff = ExponentialBackoff(base_s=0.5, cap_s=8.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling * 0.5 <= delay <= ceiling


def test_jitter_spreads_agents_that_lost_the_controller_together() -> None:
    delays = {round(ExponentialBackoff(rng=random.Random(seed)).next_delay(), 6) for seed in range(50)}
    assert len(delays) > 40


def test_reset_starts_again_from_the_base() -> None:
    backoff = ExponentialBackoff(base_s=1.0, cap_s=60.0, rng=random.Random(2))
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="base"):
        ExponentialBackoff(base_s=0.0)
