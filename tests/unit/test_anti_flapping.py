"""Flap guards: exponential hold-down after rollbacks, a sliding-hour change budget."""

from __future__ import annotations

import pytest

from edge_agent.anti_flapping import ChangeBudget, RollbackHolddowns

pytestmark = pytest.mark.unit


def test_each_rollback_doubles_the_hold_down_up_to_its_cap() -> None:
    """600 s, 1200 s, 2400 s, then the 3600 s cap; other radios and kinds are not held."""
    held = RollbackHolddowns(base_s=600.0, max_s=3600.0)
    assert [held.rolled_back("r", "OBSS", 0.0) for _ in range(4)] == [600.0, 1200.0, 2400.0, 3600.0]
    assert held.remaining("r", "OBSS", 100.0) == 3500.0
    assert held.remaining("r", "CHANNEL", 100.0) == 0.0
    assert held.remaining("other", "OBSS", 100.0) == 0.0


def test_an_action_that_is_kept_starts_the_dampening_afresh() -> None:
    """After a kept action of the kind, the next rollback waits the base time again."""
    held = RollbackHolddowns(base_s=600.0, max_s=3600.0)
    held.rolled_back("r", "OBSS", 0.0)
    held.rolled_back("r", "OBSS", 1000.0)
    held.kept("r", "OBSS")
    assert held.remaining("r", "OBSS", 1000.0) == 0.0
    assert held.rolled_back("r", "OBSS", 5000.0) == 600.0


def test_the_change_budget_slides_over_the_last_hour() -> None:
    """Three changes an hour: the fourth waits until the first is an hour old."""
    budget = ChangeBudget(per_hour=3)
    for t in (0.0, 100.0, 200.0):
        assert budget.allows("r", t)
        budget.spent("r", t)
    assert not budget.allows("r", 3599.0)
    assert budget.allows("other", 3599.0)
    assert budget.allows("r", 3600.0)
    assert budget.used("r", 3600.0) == 2


def test_a_zero_budget_means_no_budget() -> None:
    """per_hour 0 switches the budget off: any number of changes is allowed."""
    budget = ChangeBudget(per_hour=0)
    for t in range(100):
        budget.spent("r", float(t))
    assert budget.allows("r", 100.0)
